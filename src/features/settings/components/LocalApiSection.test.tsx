import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { ApiPage, ApiServerSettings, ApiToken } from "../../../bindings";
import { renderWithProviders } from "../../../test/render";
import { LocalApiSection } from "./LocalApiSection";

const SETTINGS: ApiServerSettings = {
  enabled: false,
  host: "127.0.0.1",
  port: 4315,
  allowed_origins: [],
  fetch_image_urls: false,
  max_body_mib: 32,
  max_images: 4,
  max_concurrent: 64,
  default_use_case: "answer_generation",
};

const token = (name: string, revoked = false): ApiToken => ({
  id: `id-${name}`,
  name,
  scope: "use",
  prefix: "sb-AbCd",
  created_at: "2026-12-02T10:00:00.000Z",
  created_by: "ada",
  last_used_at: null,
  revoked_at: revoked ? "2026-12-02T11:00:00.000Z" : null,
});

function backend() {
  const calls = { saved: [] as ApiServerSettings[], created: [] as { name: string; admin: boolean }[], revoked: [] as string[] };
  let page: ApiPage = {
    settings: SETTINGS,
    status: { running: false, address: null, started_at: null, requests_served: 0, requests_refused: 0, exposed: false, error: null },
    tokens: [token("rag-service")],
  };
  mockIPC(async (cmd, args) => {
    const a = args as Record<string, unknown>;
    switch (cmd) {
      case "api_page":
        return page;
      case "save_api_settings": {
        const settings = a.settings as ApiServerSettings;
        calls.saved.push(settings);
        if (settings.port === 80) throw { code: "invalid_input", message: "port: refused", field: "port" };
        page = {
          ...page,
          settings,
          status: { ...page.status, running: settings.enabled, address: `${settings.host}:${settings.port}`, requests_served: 3 },
        };
        return page;
      }
      case "create_api_token":
        calls.created.push({ name: a.name as string, admin: a.admin as boolean });
        page = { ...page, tokens: [...page.tokens, token(a.name as string)] };
        return { token: token(a.name as string), secret: "sb-the-only-copy" };
      case "revoke_api_token":
        calls.revoked.push(a.name as string);
        page = { ...page, tokens: page.tokens.map((t) => (t.name === a.name ? token(t.name, true) : t)) };
        return page;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

describe("LocalApiSection", () => {
  it("switches the server on at the address chosen and shows what it serves", async () => {
    const calls = backend();
    renderWithProviders(<LocalApiSection />);
    expect(await screen.findByTestId("api-status")).toHaveTextContent("Off");
    await userEvent.click(screen.getByTestId("api-enabled"));
    const port = screen.getByTestId("api-port");
    await userEvent.clear(port);
    await userEvent.type(port, "4400");
    await userEvent.click(screen.getByTestId("api-save"));
    await waitFor(() => expect(screen.getByTestId("api-status")).toHaveTextContent("Serving on 127.0.0.1:4400"));
    expect(calls.saved[0]).toMatchObject({ enabled: true, port: 4400, host: "127.0.0.1" });
    expect(screen.getByTestId("api-served")).toHaveTextContent("3 requests served");
  });

  it("warns before serving beyond this machine and shows a refused field at the field", async () => {
    backend();
    renderWithProviders(<LocalApiSection />);
    const host = await screen.findByTestId("api-host");
    expect(screen.queryByTestId("api-exposed")).not.toBeInTheDocument();
    await userEvent.clear(host);
    await userEvent.type(host, "0.0.0.0");
    expect(screen.getByTestId("api-exposed")).toBeInTheDocument();
    const port = screen.getByTestId("api-port");
    await userEvent.clear(port);
    await userEvent.type(port, "80");
    await userEvent.click(screen.getByTestId("api-save"));
    expect(await screen.findByText("port: refused")).toBeInTheDocument();
  });

  it("shows a new token's secret once and revokes a token", async () => {
    const calls = backend();
    renderWithProviders(<LocalApiSection />);
    await userEvent.type(await screen.findByTestId("token-name"), "notebook");
    await userEvent.click(screen.getByTestId("token-admin"));
    await userEvent.click(screen.getByTestId("token-create"));
    expect(await screen.findByTestId("token-secret")).toHaveTextContent("sb-the-only-copy");
    expect(calls.created).toEqual([{ name: "notebook", admin: true }]);
    await userEvent.click(screen.getByTestId("token-done"));
    await waitFor(() => expect(screen.queryByTestId("token-secret")).not.toBeInTheDocument());
    expect(await screen.findByTestId("token-notebook")).toBeInTheDocument();
    expect(screen.getByTestId("token-table")).not.toHaveTextContent("sb-the-only-copy");

    await userEvent.click(screen.getByTestId("revoke-rag-service"));
    await waitFor(() => expect(within(screen.getByTestId("token-rag-service")).getByText("Revoked")).toBeInTheDocument());
    expect(calls.revoked).toEqual(["rag-service"]);
  });
});
