import { screen } from "@testing-library/react";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { RequestRecord } from "../../../bindings";
import { ledgerRow } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { HistoryPage } from "./HistoryPage";

function withRows(rows: RequestRecord[]) {
  const limits: unknown[] = [];
  mockIPC(async (cmd, args) => {
    if (cmd === "list_requests") {
      limits.push((args as { limit: number }).limit);
      return rows;
    }
    return null;
  }, { shouldMockEvents: true });
  return limits;
}

describe("History", () => {
  it("lists ledger rows with outcome, tokens and error", async () => {
    const limits = withRows([
      ledgerRow("a", "ok"),
      ledgerRow("b", "error", "model_load_failed: llama.cpp could not load /m.gguf; the file is corrupt"),
    ]);
    renderWithProviders(<HistoryPage />);
    const rows = await screen.findAllByTestId("history-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveAttribute("data-status", "ok");
    expect(rows[0]).toHaveTextContent("Answer generation");
    expect(rows[0]).toHaveTextContent("local/gemma-3-270m-q4_k_m");
    expect(rows[0]).toHaveTextContent("12 / 34");
    expect(rows[1]).toHaveTextContent("the file is corrupt");
    expect(limits[0]).toBe(200);
  });

  it("shows the route a request took, with why each earlier candidate did not answer", async () => {
    const fellBack: RequestRecord = {
      ...ledgerRow("c", "ok"),
      provider: "openai",
      model: "gpt-4o-mini",
      route: [
        { candidate: "local/gemma-3-270m-q4_k_m", outcome: "failed", class: "engine_failed", message: "the engine stopped", tries: 1, duration_ms: 12 },
        { candidate: "openai/gpt-4o-mini", outcome: "answered", class: null, message: null, tries: 1, duration_ms: 800 },
      ],
    };
    withRows([fellBack, ledgerRow("d", "ok")]);
    renderWithProviders(<HistoryPage />);
    const routes = await screen.findAllByTestId("history-route");
    const steps = routes[0]!.querySelectorAll("[data-testid=history-route-step]");
    expect(steps).toHaveLength(2);
    expect(steps[0]).toHaveAttribute("data-outcome", "failed");
    expect(steps[0]).toHaveTextContent("local/gemma-3-270m-q4_k_m · engine failed");
    expect(steps[1]).toHaveAttribute("data-outcome", "answered");
    expect(routes[1]).toHaveTextContent("–");
  });

  it("says so when there are no requests yet", async () => {
    withRows([]);
    renderWithProviders(<HistoryPage />);
    expect(await screen.findByTestId("history-empty")).toHaveTextContent("No requests yet");
  });
});
