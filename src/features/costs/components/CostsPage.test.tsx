import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { CostReport } from "../../../bindings";
import { renderWithProviders } from "../../../test/render";
import { CostsPage, chartData } from "./CostsPage";

const totals = (requests: number, cost: number) => ({
  requests,
  errors: 1,
  cancelled: 0,
  input_tokens: 1200,
  output_tokens: 300,
  cached_input_tokens: 100,
  reasoning_tokens: 0,
  cost_usd: cost,
  cost_avoided_usd: 0.5,
  cache_hits: 0,
  tokens_saved: 0,
});

const REPORT: CostReport = {
  from: "2026-12-01",
  to: "2026-12-03",
  totals: totals(3, 1.25),
  days: [
    { day: "2026-12-01", provider: "openai", model: "gpt-4o-mini", use_case: "answer_generation", requests: 1, cost_usd: 1 },
    { day: "2026-12-01", provider: "local", model: "gemma", use_case: "intent_classification", requests: 1, cost_usd: 0 },
    { day: "2026-12-03", provider: "anthropic", model: "claude", use_case: "answer_generation", requests: 1, cost_usd: 0.25 },
  ],
  breakdown: [
    { provider: "openai", model: "gpt-4o-mini", use_case: "answer_generation", local: false, totals: totals(1, 1), avg_latency_ms: 800, p95_latency_ms: 800, avg_ttft_ms: 200, avg_tokens_per_second: 40, error_rate: 0 },
  ],
  local_share: { local_requests: 1, cloud_requests: 2, cloud_cost_usd: 1.25, cost_avoided_usd: 0.5 },
  budgets: [{ scope: "provider", id: "openai", name: "OpenAI", budget_usd: 10, spent_usd: 1, reserved_usd: 0.5, forecast_usd: 12 }],
  budget_month: "2026-12",
};

describe("Costs", () => {
  it("stacks each day's cost by provider, model or use case, with every day of the range present", () => {
    const byProvider = chartData(REPORT, "provider", "other");
    expect(byProvider.data.map((d) => d.day)).toEqual(["2026-12-01", "2026-12-02", "2026-12-03"]);
    expect(byProvider.series.map((s) => s.name)).toEqual(["openai", "anthropic", "local"]);
    expect(byProvider.data[0]).toMatchObject({ openai: 1, local: 0, anthropic: 0 });
    expect(byProvider.data[1]).toMatchObject({ openai: 0, local: 0, anthropic: 0 });
    const byUseCase = chartData(REPORT, "use_case", "other");
    expect(byUseCase.data[2]).toMatchObject({ answer_generation: 0.25 });
    const byModel = chartData(REPORT, "model", "other");
    expect(byModel.series[0]!.name).toBe("openai/gpt-4o-mini");
  });

  it("shows totals, the breakdown, budgets with their forecast, and asks again for another range", async () => {
    const asked: { from: string; to: string }[] = [];
    mockIPC(async (cmd, args) => {
      if (cmd === "cost_report") {
        asked.push(args as { from: string; to: string });
        return REPORT;
      }
      if (cmd === "latency_percentiles") {
        return { complete: true, groups: [{ provider: "openai", model: "gpt-4o-mini", use_case: "answer_generation", p95_latency_ms: 1234 }] };
      }
      return null;
    }, { shouldMockEvents: true });
    renderWithProviders(<CostsPage />);
    expect(await screen.findByTestId("costs-total-cost-value")).toHaveTextContent("$1.2500");
    expect(screen.getByTestId("costs-total-requests-value")).toHaveTextContent("3");
    expect(screen.getByTestId("costs-chart")).toHaveAttribute("data-series", "openai,anthropic,local");
    expect(screen.getAllByTestId("costs-breakdown-row")).toHaveLength(1);
    await waitFor(() => expect(screen.getByTestId("costs-row-p95")).toHaveTextContent("1.23 s"));
    const budget = screen.getByTestId("costs-budget");
    expect(budget).toHaveTextContent("$1.0000 of $10.0000");
    expect(budget).toHaveTextContent("month end ≈ $12.0000");
    expect(screen.getByTestId("costs-local-share-text")).toHaveTextContent("1 local, 2 cloud");
    // This month first; then last month.
    expect(asked[0]!.from).toMatch(/^\d{4}-\d{2}-01$/);
    await userEvent.click(screen.getByText("Last month"));
    await waitFor(() => expect(asked.length).toBe(2));
    expect(asked[1]!.from < asked[0]!.from).toBe(true);
  });
});
