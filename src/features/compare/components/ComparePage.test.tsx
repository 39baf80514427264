import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { ComparisonReport, ComparisonRequest, ModelOption } from "../../../bindings";
import { useCases } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { ComparePage } from "./ComparePage";

const model = (id: string): ModelOption => ({ id, provider: id.split("/")[0]!, name: id.split("/")[1]!, size_bytes: null, capabilities: ["text"], available: true });

const run = (prompt_index: number, ok: boolean, answer: string, latency_ms: number, cost_usd: number) => ({
  prompt_index,
  ok,
  answer,
  error: ok ? null : "provider_unavailable: 503",
  latency_ms,
  ttft_ms: ok ? 20 : null,
  tokens_per_second: ok ? 40 : null,
  input_tokens: 5,
  output_tokens: 6,
  cost_usd,
  ledger_id: null,
});

const REPORT: ComparisonReport = {
  id: "rep-1",
  created_at: "2026-12-02T10:00:00.000Z",
  name: "Local vs cloud",
  use_case: "answer_generation",
  prompts: ["Who?", "Why?"],
  results: [
    { candidate: "local/gemma", summary: { runs: 2, failures: 0, p50_latency_ms: 100, p95_latency_ms: 120, avg_ttft_ms: 20, avg_tokens_per_second: 40, cost_per_1000_usd: 0 }, runs: [run(0, true, "Ada.", 100, 0), run(1, true, "Because.", 120, 0)] },
    { candidate: "openai/gpt-4o-mini", summary: { runs: 2, failures: 1, p50_latency_ms: 300, p95_latency_ms: 300, avg_ttft_ms: 20, avg_tokens_per_second: 40, cost_per_1000_usd: 1.5 }, runs: [run(0, true, "Ada Lovelace.", 300, 0.003), run(1, false, "", 5, 0)] },
  ],
};

function backend() {
  const calls: { requests: ComparisonRequest[]; stops: number } = { requests: [], stops: 0 };
  let saved: ComparisonReport[] = [];
  mockIPC(async (cmd, args) => {
    switch (cmd) {
      case "list_use_cases":
        return useCases;
      case "list_models":
        return [model("local/gemma"), model("openai/gpt-4o-mini"), model("anthropic/claude")];
      case "list_comparisons":
        return saved.map((r) => ({ id: r.id, created_at: r.created_at, name: r.name, candidates: r.results.map((c) => c.candidate), prompts: r.prompts.length }));
      case "comparison_report":
        return saved.find((r) => r.id === (args as { id: string }).id);
      case "sample_prompts":
        return ["Who?", "Why?"];
      case "run_comparison": {
        calls.requests.push((args as { request: ComparisonRequest }).request);
        saved = [REPORT];
        return REPORT;
      }
      case "stop_comparison":
        calls.stops += 1;
        return true;
      default:
        return null;
    }
  }, { shouldMockEvents: true });
  return calls;
}

describe("Compare", () => {
  it("runs the sample prompts against the chosen models and shows the report side by side", async () => {
    const calls = backend();
    renderWithProviders(<ComparePage />);
    const run = await screen.findByTestId("compare-run");
    expect(run).toBeDisabled();
    await userEvent.click(screen.getByTestId("compare-samples"));
    await waitFor(() => expect(screen.getByTestId("compare-prompts")).toHaveValue("Who?\nWhy?"));
    const candidates = screen.getByTestId("compare-candidates");
    await userEvent.click(candidates);
    await userEvent.click(await screen.findByRole("option", { name: "local/gemma" }));
    await userEvent.click(await screen.findByRole("option", { name: "openai/gpt-4o-mini" }));
    expect(screen.getByTestId("compare-run")).toBeEnabled();
    await userEvent.click(screen.getByTestId("compare-run"));
    await waitFor(() => expect(calls.requests).toHaveLength(1));
    expect(calls.requests[0]).toEqual({
      name: "Local vs cloud",
      use_case: "answer_generation",
      candidates: ["local/gemma", "openai/gpt-4o-mini"],
      prompts: ["Who?", "Why?"],
    });
    const view = await screen.findByTestId("comparison-view");
    const rows = within(view).getAllByTestId("comparison-row");
    expect(rows).toHaveLength(2);
    expect(rows[1]).toHaveAttribute("data-failures", "1");
    expect(rows[1]).toHaveTextContent("$1.5000");
    const answers = within(view).getAllByTestId("comparison-answer");
    expect(answers.map((a) => a.getAttribute("data-ok"))).toEqual(["true", "true", "true", "false"]);
    expect(answers[3]).toHaveTextContent("provider_unavailable: 503");
    expect(await screen.findAllByTestId("compare-saved-row")).toHaveLength(1);
  });
});
