// Back-end values as the generated bindings type them.
import type { GenerationSummary, ModelStatus, RequestRecord, UseCase } from "../bindings";

export const readyModel: ModelStatus = {
  state: "ready",
  model: { name: "local/gemma-3-270m-q4_k_m", path: "/data/models/gemma-3-270m-q4_k_m.gguf", size_bytes: 253113024 },
};

export const useCases: UseCase[] = [
  {
    id: "intent_classification",
    description: "Query to VECTOR / GRAPH / HYBRID / MEMORY",
    vision: false,
    defaults: { temperature: 0.3, top_k: 10, top_p: 0.5, min_p: 0, max_tokens: 256, repeat_penalty: 1, presence_penalty: 0, frequency_penalty: 0, stop: [], seed: null },
  },
  {
    id: "answer_generation",
    description: "Context to final answer",
    vision: false,
    defaults: { temperature: 0.7, top_k: 40, top_p: 0.9, min_p: 0, max_tokens: 2048, repeat_penalty: 1.1, presence_penalty: 0, frequency_penalty: 0, stop: [], seed: null },
  },
  {
    id: "vision_vlm",
    description: "Image to text description",
    vision: true,
    defaults: { temperature: 0.5, top_k: 40, top_p: 0.9, min_p: 0, max_tokens: 1024, repeat_penalty: 1, presence_penalty: 0, frequency_penalty: 0, stop: [], seed: null },
  },
];

export function summary(requestId: string, status: GenerationSummary["status"], outputTokens: number): GenerationSummary {
  return {
    request_id: requestId,
    ledger_id: "ledger-1",
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
  };
}
