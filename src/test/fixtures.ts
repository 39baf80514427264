// Back-end values as the generated bindings type them.
import type { GenerationSummary, ModelOption, ModelStatus, RequestRecord, SamplingParams, UseCase } from "../bindings";

export const readyModel: ModelStatus = {
  state: "ready",
  model: { name: "local/gemma-3-270m-q4_k_m", path: "/data/models/gemma-3-270m-q4_k_m.gguf", size_bytes: 253113024 },
};

function params(temperature: number, top_k: number, top_p: number, max_tokens: number, repeat_penalty: number): SamplingParams {
  return { temperature, top_k, top_p, min_p: 0, max_tokens, repeat_penalty, presence_penalty: 0, frequency_penalty: 0, stop: [], seed: null };
}

function useCase(id: string, name: string, vision: boolean, defaults: SamplingParams): UseCase {
  return {
    id,
    name,
    description: `${name} description`,
    builtin: true,
    vision,
    enabled: true,
    model: "local/gemma-3-270m-q4_k_m",
    defaults,
    custom_params: null,
    use_custom_params: false,
    system_prompt: null,
    json_schema: null,
    fallbacks: [],
    prefer_cloud: false,
    cache_ttl_s: null,
    cache_random: false,
    monthly_budget_usd: null,
    keep_text_days: null,
    updated_at: "2026-11-30T06:00:00.000Z",
    updated_by: "admin",
  };
}

export const useCases: UseCase[] = [
  useCase("intent_classification", "Intent classification", false, params(0.3, 10, 0.5, 256, 1)),
  useCase("answer_generation", "Answer generation", false, params(0.7, 40, 0.9, 2048, 1.1)),
  useCase("vision_vlm", "Vision (image description)", true, params(0.5, 40, 0.9, 1024, 1)),
];

export const models: ModelOption[] = [
  { id: "local/gemma-3-270m-q4_k_m", provider: "local", name: "gemma-3-270m-q4_k_m", size_bytes: 253113024, capabilities: ["text"], available: true },
  { id: "local/qwen-vl", provider: "local", name: "qwen-vl", size_bytes: 2_000_000_000, capabilities: ["text", "vision"], available: true },
  { id: "local/other", provider: "local", name: "other", size_bytes: 1_000_000, capabilities: ["text"], available: false },
];

export function summary(requestId: string, status: GenerationSummary["status"], outputTokens: number): GenerationSummary {
  return {
    request_id: requestId,
    ledger_id: "ledger-1",
    params: params(0.7, 40, 0.9, 2048, 1.1),
    model: "local/gemma-3-270m-q4_k_m",
    status,
    stats: {
      input_tokens: 12,
      output_tokens: outputTokens,
      ttft_ms: 42.4,
      latency_ms: 812,
      load_ms: 0,
      prompt_tokens_per_second: 480,
      tokens_per_second: 46.25,
      finish_reason: status === "cancelled" ? "cancelled" : "end_of_text",
    },
    route: [{ candidate: "local/gemma-3-270m-q4_k_m", outcome: status === "cancelled" ? "cancelled" : "answered", class: null, message: null, tries: 1, duration_ms: 812 }],
    cache_hit: false,
  };
}

export function ledgerRow(id: string, status: RequestRecord["status"], error: string | null = null): RequestRecord {
  return {
    id,
    created_at: "2026-11-30T06:13:34.123Z",
    use_case: "answer_generation",
    provider: "local",
    model: "gemma-3-270m-q4_k_m",
    input_tokens: 12,
    output_tokens: 34,
    cost_usd: 0,
    latency_ms: 812,
    ttft_ms: 42,
    tokens_per_second: 46,
    status,
    error,
    params: null,
  };
}
