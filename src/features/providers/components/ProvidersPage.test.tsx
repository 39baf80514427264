import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ProviderUpdate, ProviderView, ProvidersPage as ProvidersData } from "../../../bindings";
import { renderWithProviders } from "../../../test/render";
import { ProvidersPage } from "./ProvidersPage";

const SECRET = "sk-live-abcdefghijklmnop1234";

function view(id: "openai" | "ollama" | "azure", patch: Partial<ProviderView> = {}): ProviderView {
  const cloud = id !== "ollama";
  return {
    settings: {
      id,
      kind: id,
      display_name: { openai: "OpenAI", ollama: "Ollama", azure: "Azure OpenAI" }[id],
      enabled: false,
      base_url: { openai: "https://api.openai.com/v1", ollama: "http://127.0.0.1:11434", azure: "" }[id],
      allow_http: false,
      azure_deployments: null,
      azure_api_version: id === "azure" ? "2024-10-21" : null,
      monthly_budget_usd: null,
      limits: {
        connect_timeout_s: null,
        first_token_timeout_s: null,
        idle_timeout_s: null,
        total_timeout_s: null,
        requests_per_minute: null,
        tokens_per_minute: null,
        probe_interval_s: null,
      },
    },
    keys: [],
    check: { checked_at: null, ok: null, message: null },
    models: [],
    spend_this_month_usd: 0,
    unsupported_params: cloud ? ["top_k", "min_p", "repeat_penalty"] : [],
    needs_key: cloud,
    is_cloud: cloud,
    default_base_url: { openai: "https://api.openai.com/v1", ollama: "http://127.0.0.1:11434", azure: "" }[id],
    health: { provider: id, circuit: "closed", retry_at: null, consecutive_failures: 0, failure_rate: 0, recent_requests: 0, cooling_until: null },
    ...patch,
  };
}

function page(providers: ProviderView[]): ProvidersData {
  return {
    providers,
    groups: [],
    vault: { storage: { kind: "file", path: "/home/u/.local/share/switchboard/secrets/master.key", reason: "no D-Bus session" }, problem: null },
    prices: { builtin_source: "LiteLLM 1.106.2", builtin_count: 388, imported_count: 0, imported_source: null, imported_at: null },
  };
}

type Call = { cmd: string; args: Record<string, unknown> };

function backend(initial: ProvidersData, options: { saveError?: { code: string; message: string; field: string | null } } = {}) {
  const calls: Call[] = [];
  let current = structuredClone(initial);
  mockIPC(async (cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    switch (cmd) {
      case "list_providers":
        return current;
      case "save_providers": {
        if (options.saveError) throw options.saveError;
        const { updates } = args as { updates: ProviderUpdate[] };
        current = {
          ...current,
          providers: current.providers.map((p) => {
            const u = updates.find((x) => x.settings.id === p.settings.id);
            if (!u) return p;
            const keys = u.new_key ? [{ id: "k1", mask: "sk-...1234" }] : p.keys;
            return { ...p, settings: u.settings, keys };
          }),
        };
        return current;
      }
      case "create_provider": {
        const { provider } = args as { provider: { kind: string; name: string } };
        const added = view("ollama");
        added.settings = { ...added.settings, id: "gpu-box", kind: provider.kind as ProviderView["settings"]["kind"], display_name: provider.name };
        current = { ...current, providers: [...current.providers, added] };
        return current;
      }
      case "delete_provider": {
        const { id } = args as { id: string };
        if (id === "openai") throw { code: "invalid_input", message: "OpenAI is in the route of Answer generation: take it out there first", field: null };
        current = { ...current, providers: current.providers.filter((p) => p.settings.id !== id) };
        return current;
      }
      case "create_group": {
        const { group } = args as { group: { name: string; members: string[]; strategy: "round_robin" } };
        current = { ...current, groups: [{ id: "pool", name: group.name, members: group.members, strategy: group.strategy }] };
        return current;
      }
      case "routing_events":
        return [
          {
            id: 7,
            at: "2026-11-30T10:00:00.000Z",
            kind: "circuit_opened",
            provider: "openai",
            use_case: "answer_generation",
            ledger_id: null,
            message: "OpenAI failed 3 times in a row: not tried for 30 s",
          },
        ];
      case "test_provider":
        return { ok: false, message: "OpenAI: the API key was refused: HTTP 401", report: null, checked_at: "2026-11-30T10:00:00.000Z" };
      case "reveal_provider_key":
        return SECRET;
      default:
        return null;
    }
  });
  return calls;
}

afterEach(() => vi.useRealTimers());

describe("Providers page", () => {
  it("shows one card per provider with the documented test ids and where the master key lives", async () => {
    backend(page([view("openai"), view("ollama"), view("azure")]));
    renderWithProviders(<ProvidersPage />);
    for (const id of ["openai", "ollama", "azure"]) {
      const card = await screen.findByTestId(`provider-card-${id}`);
      for (const part of ["enabled-toggle", "baseurl-input", "apikey-input", "apikey-show-button", "budget-input", "test-button", "status", "models-list"]) {
        expect(within(card).getByTestId(`provider-${part}-${id}`)).toBeInTheDocument();
      }
    }
    expect(screen.getByTestId("vault-storage")).toHaveTextContent("master.key");
    expect(screen.getByTestId("save-all-button")).toBeDisabled();
    expect(screen.getByTestId("provider-azure-deployments-azure")).toBeInTheDocument();
    expect(screen.queryByTestId("provider-azure-deployments-openai")).toBeNull();
  });

  it("refuses an http URL for a cloud provider until plain http is allowed", async () => {
    backend(page([view("openai")]));
    renderWithProviders(<ProvidersPage />);
    const url = await screen.findByTestId("provider-baseurl-input-openai");
    await userEvent.clear(url);
    await userEvent.type(url, "http://10.0.0.5:8000/v1");
    expect(await screen.findByText(/need https/)).toBeInTheDocument();
    expect(screen.getByTestId("save-all-button")).toBeDisabled();
    await userEvent.click(screen.getByTestId("provider-allow-http-openai"));
    expect(screen.queryByText(/need https/)).toBeNull();
    expect(screen.getByTestId("save-all-button")).toBeEnabled();
    await userEvent.clear(url);
    await userEvent.type(url, "not a url");
    expect(await screen.findByText("Not a URL")).toBeInTheDocument();
  });

  it("sends a typed key once with Save all and afterwards shows only its mask", async () => {
    const calls = backend(page([view("openai")]));
    renderWithProviders(<ProvidersPage />);
    await userEvent.type(await screen.findByTestId("provider-apikey-input-openai"), SECRET);
    await userEvent.click(screen.getByTestId("provider-enabled-toggle-openai"));
    await userEvent.type(screen.getByTestId("provider-budget-input-openai"), "25");
    expect(screen.getByTestId("unsaved-changes")).toBeInTheDocument();
    await userEvent.click(screen.getByTestId("save-all-button"));
    await screen.findByTestId("providers-saved");
    const save = calls.find((c) => c.cmd === "save_providers")!;
    const [update] = (save.args as { updates: ProviderUpdate[] }).updates;
    expect(update!.new_key).toBe(SECRET);
    expect(update!.settings.enabled).toBe(true);
    expect(update!.settings.monthly_budget_usd).toBe(25);
    const input = screen.getByTestId("provider-apikey-input-openai");
    expect(input).toHaveValue("");
    expect(input).toHaveAttribute("placeholder", "sk-...1234");
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it("reveals a stored key on Show and hides it again after a moment", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    backend(page([view("openai", { keys: [{ id: "k1", mask: "sk-...1234" }] })]));
    renderWithProviders(<ProvidersPage />);
    await user.click(await screen.findByTestId("provider-apikey-show-button-openai"));
    expect(await screen.findByTestId("provider-apikey-revealed-openai")).toHaveTextContent(SECRET);
    await act(async () => {
      vi.advanceTimersByTime(10_500);
    });
    expect(screen.queryByTestId("provider-apikey-revealed-openai")).toBeNull();
  });

  it("puts a field error from the back end on the right card", async () => {
    backend(page([view("openai"), view("ollama")]), {
      saveError: { code: "invalid_input", message: "OpenAI needs an API key before it can be enabled", field: "openai.api_key" },
    });
    renderWithProviders(<ProvidersPage />);
    await userEvent.click(await screen.findByTestId("provider-enabled-toggle-openai"));
    await userEvent.click(screen.getByTestId("save-all-button"));
    const card = screen.getByTestId("provider-card-openai");
    await waitFor(() => expect(within(card).getByText("OpenAI needs an API key before it can be enabled")).toBeInTheDocument());
    expect(screen.getByTestId("unsaved-changes")).toBeInTheDocument();
  });

  it("reports a failed connection test in words", async () => {
    backend(page([view("openai", { keys: [{ id: "k1", mask: "sk-...1234" }] })]));
    renderWithProviders(<ProvidersPage />);
    await userEvent.click(await screen.findByTestId("provider-test-button-openai"));
    expect(await screen.findByTestId("provider-test-result-openai")).toHaveTextContent("HTTP 401");
  });
  it("shows a paused provider with its retry time, its limits, and the routing events", async () => {
    const paused = view("openai", {
      health: { provider: "openai", circuit: "open", retry_at: "2026-11-30T10:00:30Z", consecutive_failures: 3, failure_rate: 1, recent_requests: 3, cooling_until: null },
    });
    const calls = backend(page([paused, view("ollama")]));
    renderWithProviders(<ProvidersPage />);
    const badge = await screen.findByTestId("provider-health-openai");
    expect(badge).toHaveAttribute("data-circuit", "open");
    expect(badge).toHaveTextContent("paused until");
    expect(screen.queryByTestId("provider-health-ollama")).toBeNull();
    const event = await screen.findByTestId("routing-event");
    expect(event).toHaveAttribute("data-kind", "circuit_opened");
    expect(event).toHaveTextContent("not tried for 30 s");

    // A rate limit typed in is saved with the card.
    await userEvent.click(screen.getByTestId("provider-limits-toggle-openai"));
    await userEvent.type(await screen.findByTestId("provider-limit-requests_per_minute-openai"), "60");
    await userEvent.click(screen.getByTestId("save-all-button"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_providers")).toBe(true));
    const { updates } = calls.find((c) => c.cmd === "save_providers")!.args as { updates: ProviderUpdate[] };
    expect(updates.find((u) => u.settings.id === "openai")!.settings.limits?.requests_per_minute).toBe(60);
  });
  it("adds a provider instance by kind and name, and removes one unless a route uses it", async () => {
    const calls = backend(page([view("openai"), view("ollama")]));
    renderWithProviders(<ProvidersPage />);
    await screen.findByTestId("provider-card-openai");
    await userEvent.type(screen.getByTestId("add-provider-name"), "GPU box");
    await userEvent.click(screen.getByTestId("add-provider-button"));
    expect(await screen.findByTestId("provider-card-gpu-box")).toHaveTextContent("GPU box");
    expect(calls.find((c) => c.cmd === "create_provider")!.args.provider).toEqual({ kind: "openai_compatible", name: "GPU box" });

    await userEvent.click(screen.getByTestId("provider-remove-gpu-box"));
    await userEvent.click(await screen.findByTestId("provider-remove-confirm-gpu-box"));
    await waitFor(() => expect(screen.queryByTestId("provider-card-gpu-box")).toBeNull());

    await userEvent.click(screen.getByTestId("provider-remove-openai"));
    await userEvent.click(await screen.findByTestId("provider-remove-confirm-openai"));
    expect(await screen.findByTestId("provider-remove-error-openai")).toHaveTextContent("in the route of Answer generation");
    expect(screen.getByTestId("provider-card-openai")).toBeInTheDocument();
  });
  it("creates an endpoint group from provider instances with a strategy", async () => {
    const calls = backend(page([view("openai"), view("ollama")]));
    renderWithProviders(<ProvidersPage />);
    await screen.findByTestId("groups-panel");
    expect(screen.getByTestId("group-add-button")).toBeDisabled();
    await userEvent.type(screen.getByTestId("group-name"), "Pool");
    await userEvent.click(screen.getByTestId("group-members"));
    await userEvent.click(await screen.findByRole("option", { name: "Ollama" }));
    await userEvent.click(screen.getByTestId("group-add-button"));
    const row = await screen.findByTestId("group-pool");
    expect(row).toHaveTextContent("Ollama");
    expect(row).toHaveTextContent("Round robin");
    expect(calls.find((c) => c.cmd === "create_group")!.args.group).toEqual({ name: "Pool", members: ["ollama"], strategy: "round_robin" });
  });
});
