import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { LedgerFilter, RequestRecord, RequestText } from "../../../bindings";
import { ledgerRow } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { HistoryPage } from "./HistoryPage";

type PageArgs = { filter: LedgerFilter; cursor: string | null; limit: number };

/** The back end as History sees it: pages of `rows` (two per page when `paged`), facets, details, exports. */
function withRows(rows: RequestRecord[], opts: { paged?: boolean; text?: RequestText | null } = {}) {
  const calls: { pages: PageArgs[]; details: string[]; exports: unknown[] } = { pages: [], details: [], exports: [] };
  mockIPC(async (cmd, args) => {
    if (cmd === "ledger_page") {
      const a = args as PageArgs;
      calls.pages.push(a);
      const matching = rows.filter((r) => !a.filter.status || r.status === a.filter.status);
      if (!opts.paged) return { rows: matching, next_cursor: null };
      const start = a.cursor ? Number(a.cursor) : 0;
      const page = matching.slice(start, start + 2);
      const next = start + 2 < matching.length ? String(start + 2) : null;
      return { rows: page, next_cursor: next };
    }
    if (cmd === "ledger_count") {
      const f = (args as { filter: LedgerFilter }).filter;
      return rows.filter((r) => !f.status || r.status === f.status).length;
    }
    if (cmd === "ledger_facets") return { use_cases: ["answer_generation"], providers: ["local", "openai"], models: [], callers: ["window"] };
    if (cmd === "request_detail") {
      const id = (args as { id: string }).id;
      calls.details.push(id);
      return { record: rows.find((r) => r.id === id), text: opts.text ?? null };
    }
    if (cmd === "export_ledger") {
      calls.exports.push(args);
      return { path: "/tmp/out.csv", rows: 2 };
    }
    return null;
  }, { shouldMockEvents: true });
  return calls;
}

describe("History", () => {
  it("lists ledger rows with outcome, tokens and error", async () => {
    const calls = withRows([
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
    expect(calls.pages[0]).toMatchObject({ cursor: null, limit: 100 });
    expect(await screen.findByTestId("history-range")).toHaveTextContent("1–2 of 2");
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

  it("pages older rows by cursor and back", async () => {
    const calls = withRows(["a", "b", "c", "d", "e"].map((id) => ledgerRow(id, "ok")), { paged: true });
    renderWithProviders(<HistoryPage />);
    expect(await screen.findAllByTestId("history-row")).toHaveLength(2);
    expect(screen.getByTestId("history-range")).toHaveTextContent("1–2 of 5");
    await userEvent.click(screen.getByTestId("history-next"));
    await waitFor(() => expect(screen.getAllByTestId("history-row")[0]).toHaveAttribute("data-id", "c"));
    expect(calls.pages.at(-1)?.cursor).toBe("2");
    expect(screen.getByTestId("history-range")).toHaveTextContent("3–4 of 5");
    await userEvent.click(screen.getByTestId("history-next"));
    await waitFor(() => expect(screen.getAllByTestId("history-row")).toHaveLength(1));
    expect(screen.getByTestId("history-next")).toBeDisabled();
    await userEvent.click(screen.getByTestId("history-prev"));
    await waitFor(() => expect(screen.getAllByTestId("history-row")[0]).toHaveAttribute("data-id", "c"));
  });

  it("filters by status and starts again from the newest page", async () => {
    const calls = withRows([ledgerRow("a", "ok"), ledgerRow("b", "error", "provider_unavailable: 503")]);
    renderWithProviders(<HistoryPage />);
    expect(await screen.findAllByTestId("history-row")).toHaveLength(2);
    await userEvent.click(screen.getByTestId("history-filter-status"));
    await userEvent.click(await screen.findByRole("option", { name: "error" }));
    await waitFor(() => expect(screen.getAllByTestId("history-row")).toHaveLength(1));
    expect(calls.pages.at(-1)).toMatchObject({ filter: { status: "error" }, cursor: null });
  });

  it("opens a request's detail with its kept text, and says when text is not kept", async () => {
    const text: RequestText = {
      prompt: [{ role: "user", content: "When does the office open?" }],
      response: "At nine.",
      delete_after: "2027-01-01T00:00:00.000Z",
    };
    const calls = withRows([ledgerRow("a", "ok")], { text });
    renderWithProviders(<HistoryPage />);
    await userEvent.click((await screen.findAllByTestId("history-row"))[0]!);
    expect(await screen.findByTestId("request-drawer-answer")).toHaveTextContent("At nine.");
    expect(screen.getByTestId("request-drawer-text")).toHaveTextContent("When does the office open?");
    expect(screen.getByTestId("request-drawer-id")).toHaveTextContent("a");
    expect(calls.details).toEqual(["a"]);
  });

  it("exports with the filters in force", async () => {
    const calls = withRows([ledgerRow("a", "ok")]);
    renderWithProviders(<HistoryPage />);
    await screen.findAllByTestId("history-row");
    await userEvent.click(screen.getByTestId("history-export"));
    await userEvent.click(await screen.findByTestId("history-export-jsonl"));
    await waitFor(() => expect(calls.exports).toHaveLength(1));
    expect(calls.exports[0]).toMatchObject({ format: "jsonl", filter: { status: null } });
  });
});
