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

  it("says so when there are no requests yet", async () => {
    withRows([]);
    renderWithProviders(<HistoryPage />);
    expect(await screen.findByTestId("history-empty")).toHaveTextContent("No requests yet");
  });
});
