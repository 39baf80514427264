import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { GenerationEvent, ModelStatus } from "../../../bindings";
import { readyModel, summary, useCases } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { PlaygroundPage } from "./PlaygroundPage";

type Args = Record<string, unknown>;
type ChannelLike = { onmessage: (e: GenerationEvent) => void };

function backend(onGenerate: (args: Args, send: (e: GenerationEvent) => void) => unknown, model: ModelStatus = readyModel) {
  const calls: { cmd: string; args: Args }[] = [];
  mockIPC(async (cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Args });
    switch (cmd) {
      case "list_use_cases":
        return useCases;
      case "model_status":
        return model;
      case "generate": {
        const a = args as Args;
        const channel = a.onEvent as ChannelLike;
        return onGenerate(a, (e) => channel.onmessage(e));
      }
      case "cancel_generation":
        return true;
      default:
        return null;
    }
  }, { shouldMockEvents: true });
  return calls;
}

describe("Playground", () => {
  it("streams tokens into the output and shows the measured stats", async () => {
    const calls = backend(async (args, send) => {
      const input = args.request as { request_id: string };
      send({ kind: "started", model: "local/gemma-3-270m-q4_k_m" });
      send({ kind: "token", text: "Hel" });
      send({ kind: "token", text: "lo!" });
      return summary(input.request_id, "ok", 2);
    });
    renderWithProviders(<PlaygroundPage />);
    const run = await screen.findByTestId("run-button");
    await waitFor(() => expect(run).toBeEnabled());
    await userEvent.type(screen.getByTestId("prompt-input"), "Say hello");
    await userEvent.click(run);

    expect(await screen.findByTestId("generation-stats")).toBeInTheDocument();
    expect(screen.getByTestId("generation-output")).toHaveTextContent("Hello!");
    expect(screen.getByTestId("stat-model")).toHaveTextContent("local/gemma-3-270m-q4_k_m");
    expect(screen.getByTestId("stat-tokens-in")).toHaveTextContent("12");
    expect(screen.getByTestId("stat-tokens-out")).toHaveTextContent("2");
    expect(screen.getByTestId("stat-ttft")).toHaveTextContent("42 ms");
    expect(screen.getByTestId("stat-tps")).toHaveTextContent("46.3");

    const generate = calls.find((c) => c.cmd === "generate")!;
    const input = generate.args.request as { use_case: string; prompt: string; request_id: string; params: unknown };
    expect(input.use_case).toBe("answer_generation");
    expect(input.prompt).toBe("Say hello");
    expect(input.params).toBeNull();
    expect(input.request_id).toMatch(/[0-9a-f-]{36}/);
  });

  it("Stop cancels the running request by its id and keeps the partial text", async () => {
    let finish: (() => void) | undefined;
    const calls = backend((args, send) => {
      const input = args.request as { request_id: string };
      send({ kind: "token", text: "Once upon" });
      return new Promise((resolve) => {
        finish = () => resolve(summary(input.request_id, "cancelled", 3));
      });
    });
    renderWithProviders(<PlaygroundPage />);
    const run = await screen.findByTestId("run-button");
    await waitFor(() => expect(run).toBeEnabled());
    await userEvent.type(screen.getByTestId("prompt-input"), "Tell a story");
    await userEvent.click(run);
    await waitFor(() => expect(screen.getByTestId("generation-output")).toHaveTextContent("Once upon"));
    expect(screen.getByTestId("run-button")).toBeDisabled();

    await userEvent.click(screen.getByTestId("stop-button"));
    const cancel = calls.find((c) => c.cmd === "cancel_generation")!;
    const started = calls.find((c) => c.cmd === "generate")!.args.request as { request_id: string };
    expect(cancel.args.requestId).toBe(started.request_id);
    finish!();

    expect(await screen.findByTestId("generation-cancelled")).toHaveTextContent("Stopped after 3 tokens");
    expect(screen.getByTestId("generation-output")).toHaveTextContent("Once upon");
    expect(screen.getByTestId("stop-button")).toBeDisabled();
  });

  it("shows the back end's error in words and keeps the page usable", async () => {
    backend(async () => {
      throw { code: "prompt_too_long", message: "the prompt is 5000 tokens but the context window holds 4096" };
    });
    renderWithProviders(<PlaygroundPage />);
    const run = await screen.findByTestId("run-button");
    await waitFor(() => expect(run).toBeEnabled());
    await userEvent.type(screen.getByTestId("prompt-input"), "x");
    await userEvent.click(run);
    const alert = await screen.findByTestId("generation-error");
    expect(alert).toHaveTextContent("The prompt is too long");
    expect(alert).toHaveTextContent("context window holds 4096");
    expect(alert).toHaveAttribute("data-code", "prompt_too_long");
    expect(screen.getByTestId("run-button")).toBeEnabled();
  });

  it("refuses an empty prompt without calling the back end", async () => {
    const calls = backend(async () => {
      throw new Error("must not be called");
    });
    renderWithProviders(<PlaygroundPage />);
    const run = await screen.findByTestId("run-button");
    await waitFor(() => expect(run).toBeEnabled());
    await userEvent.type(screen.getByTestId("prompt-input"), "   ");
    await userEvent.click(run);
    expect(await screen.findByText("Type a prompt first.")).toBeInTheDocument();
    expect(calls.some((c) => c.cmd === "generate")).toBe(false);
  });

  it("cannot run while the model is still downloading, and offers no vision use case", async () => {
    backend(async () => null, { state: "fetching", done: 10, total: 100 });
    renderWithProviders(<PlaygroundPage />);
    const run = await screen.findByTestId("run-button");
    await userEvent.type(screen.getByTestId("prompt-input"), "hi");
    expect(run).toBeDisabled();
    await userEvent.click(screen.getByTestId("usecase-select"));
    expect(await screen.findByRole("option", { name: "Intent classification" })).toBeInTheDocument();
    expect(screen.queryByRole("option", { name: /Vision/ })).toBeNull();
  });
});
