import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { UseCase, UseCaseConfig } from "../../../bindings";
import { models, useCases } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { UseCasesPage } from "./UseCasesPage";

type Call = { cmd: string; args: Record<string, unknown> };

function backend(
  options: { saveError?: { code: string; message: string; field: string | null }; models?: () => Promise<unknown> } = {},
) {
  const calls: Call[] = [];
  let stored: UseCase[] = structuredClone(useCases);
  mockIPC(
    async (cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      switch (cmd) {
        case "list_use_cases":
          return stored;
        case "list_models":
          return options.models ? options.models() : models;
        case "create_use_case": {
          const { useCase } = args as { useCase: UseCase };
          const created = { ...useCases[1]!, ...useCase, builtin: false, enabled: true };
          stored = [...stored, created];
          return created;
        }
        case "candidate_states":
          return (args as { models: string[] }).models.map((model) => ({
            model,
            status: model === "local/qwen-vl" ? "circuit_open" : "available",
            detail: null,
            retry_at: null,
            cloud: false,
          }));
        case "delete_use_case":
          stored = stored.filter((u) => u.id !== (args as { id: string }).id);
          return null;
        case "save_use_case": {
          if (options.saveError) throw options.saveError;
          const { id, config } = args as { id: string; config: UseCaseConfig };
          stored = stored.map((u) => (u.id === id ? { ...u, ...config } : u));
          return stored.find((u) => u.id === id);
        }
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  return calls;
}

async function openEditor(id: string) {
  renderWithProviders(<UseCasesPage />);
  await userEvent.click(await screen.findByTestId(`usecase-selector-${id}`));
  return screen.findByTestId(`usecase-editor-${id}`);
}

describe("Use cases page", () => {
  it("shows the defaults read-only until custom parameters are switched on", async () => {
    backend();
    await openEditor("answer_generation");
    const temperature = screen.getByTestId("param-input-temperature-answer_generation");
    expect(temperature).toHaveValue("0.7");
    expect(temperature).toBeDisabled();
    expect(screen.getByTestId("param-slider-temperature-answer_generation")).toBeInTheDocument();
    for (const id of ["topk", "topp", "maxtokens", "repeatpenalty"]) {
      expect(screen.getByTestId(`param-slider-${id}-answer_generation`)).toBeInTheDocument();
    }
    await userEvent.click(screen.getByTestId("use-custom-params-toggle-answer_generation"));
    expect(temperature).toBeEnabled();
    expect(screen.getByTestId("unsaved-changes")).toBeInTheDocument();
  });

  it("refuses an out-of-range value next to the field and keeps Save disabled", async () => {
    const calls = backend();
    await openEditor("answer_generation");
    await userEvent.click(screen.getByTestId("use-custom-params-toggle-answer_generation"));
    const temperature = screen.getByTestId("param-input-temperature-answer_generation");
    await userEvent.clear(temperature);
    await userEvent.type(temperature, "2.5");
    expect(await screen.findByText("Must be between 0 and 2")).toBeInTheDocument();
    expect(screen.getByTestId("save-config-button")).toBeDisabled();
    expect(calls.some((c) => c.cmd === "save_use_case")).toBe(false);
  });

  it("saves the edited model and temperature explicitly", async () => {
    const calls = backend();
    await openEditor("answer_generation");
    await userEvent.click(screen.getByTestId("use-custom-params-toggle-answer_generation"));
    const temperature = screen.getByTestId("param-input-temperature-answer_generation");
    await userEvent.clear(temperature);
    await userEvent.type(temperature, "1.25");
    await userEvent.click(screen.getByTestId("model-dropdown-answer_generation"));
    await userEvent.click(await screen.findByTestId("model-option-local/qwen-vl"));
    expect(screen.getByTestId("model-dropdown-answer_generation")).toHaveValue("local/qwen-vl");
    const save = screen.getByTestId("save-config-button");
    await waitFor(() => expect(save).toBeEnabled());
    await userEvent.click(save);

    await waitFor(() => expect(calls.some((c) => c.cmd === "save_use_case")).toBe(true));
    const saveCall = calls.find((c) => c.cmd === "save_use_case")!;
    const config = saveCall.args.config as UseCaseConfig;
    expect(saveCall.args.id).toBe("answer_generation");
    expect(config.model).toBe("local/qwen-vl");
    expect(config.use_custom_params).toBe(true);
    expect(config.custom_params?.temperature).toBe(1.25);
    expect(config.custom_params?.top_k).toBe(40);
    expect(await screen.findByTestId("config-saved")).toBeInTheDocument();
  });

  it("Reset to defaults puts the use case's own defaults back", async () => {
    backend();
    await openEditor("intent_classification");
    await userEvent.click(screen.getByTestId("use-custom-params-toggle-intent_classification"));
    const topk = screen.getByTestId("param-input-topk-intent_classification");
    await userEvent.clear(topk);
    await userEvent.type(topk, "77");
    expect(topk).toHaveValue("77");
    await userEvent.click(screen.getByTestId("reset-defaults-button-intent_classification"));
    expect(topk).toHaveValue("10");
  });

  it("offers text models to text use cases and only vision models to the vision use case", async () => {
    backend();
    await openEditor("answer_generation");
    await userEvent.click(screen.getByTestId("model-dropdown-answer_generation"));
    expect(await screen.findByTestId("model-option-local/gemma-3-270m-q4_k_m")).toBeInTheDocument();
    const unavailable = screen.getByTestId("model-option-local/other");
    expect(within(unavailable).getByText("unavailable")).toBeInTheDocument();

    fireEvent.keyDown(document.activeElement ?? document.body, { key: "Escape" });
    await userEvent.click(screen.getByTestId("usecase-selector-vision_vlm"));
    await userEvent.click(await screen.findByTestId("model-dropdown-vision_vlm"));
    expect(await screen.findByTestId("model-option-local/qwen-vl")).toBeInTheDocument();
    expect(screen.queryByTestId("model-option-local/other")).toBeNull();
    // The text model currently assigned is listed but cannot be picked.
    expect(screen.getByTestId("model-option-local/gemma-3-270m-q4_k_m").closest("[data-combobox-disabled]")).not.toBeNull();
  });

  it("calls a model unavailable only once the model list has been read", async () => {
    let release: (list: unknown) => void = () => {};
    const pending = new Promise((resolve) => (release = resolve));
    backend({ models: () => pending });
    await openEditor("answer_generation");
    // While the list is loading, no warning appears (it would move the page under the pointer when it goes).
    expect(screen.queryByText("The assigned model is not available now.")).toBeNull();
    release(models.filter((m) => m.id !== "local/gemma-3-270m-q4_k_m"));
    expect(await screen.findByText("The assigned model is not available now.")).toBeInTheDocument();
  });

  it("edits the route: adds a fallback, moves it first, prefers the cloud, and saves it", async () => {
    const calls = backend();
    await openEditor("answer_generation");
    expect(await screen.findByTestId("route-candidate-0")).toHaveAttribute("data-model", "local/gemma-3-270m-q4_k_m");
    expect(screen.queryByTestId("route-candidate-1")).toBeNull();
    await userEvent.click(screen.getByTestId("route-add-select-answer_generation"));
    await userEvent.click(await screen.findByRole("option", { name: "local/qwen-vl" }));
    await userEvent.click(screen.getByTestId("route-add-button-answer_generation"));
    expect(screen.getByTestId("route-candidate-1")).toHaveAttribute("data-model", "local/qwen-vl");
    // Its live state comes from the back end.
    expect(await screen.findByTestId("route-state-1")).toHaveAttribute("data-status", "circuit_open");
    // An unavailable model cannot be added; one already in the route is not offered again.
    await userEvent.click(screen.getByTestId("route-add-select-answer_generation"));
    expect(screen.queryByRole("option", { name: "local/qwen-vl" })).toBeNull();
    fireEvent.keyDown(document.activeElement ?? document.body, { key: "Escape" });

    await userEvent.click(screen.getByTestId("route-own-params-1"));
    const maxTokens = screen.getByTestId("route-maxtokens-1");
    await userEvent.clear(maxTokens);
    await userEvent.type(maxTokens, "99");
    await userEvent.click(screen.getByTestId("route-up-1"));
    expect(screen.getByTestId("route-candidate-0")).toHaveAttribute("data-model", "local/qwen-vl");
    expect(screen.getByTestId("model-dropdown-answer_generation")).toHaveValue("local/qwen-vl");
    await userEvent.click(screen.getByTestId("prefer-cloud-answer_generation"));
    await userEvent.click(screen.getByTestId("save-config-button"));

    await waitFor(() => expect(calls.some((c) => c.cmd === "save_use_case")).toBe(true));
    const config = calls.find((c) => c.cmd === "save_use_case")!.args.config as UseCaseConfig;
    expect(config.model).toBe("local/qwen-vl");
    expect(config.fallbacks).toEqual([{ model: "local/gemma-3-270m-q4_k_m", params: null }]);
    expect(config.prefer_cloud).toBe(true);
  });

  it("switches the response cache on with a time-to-live and saves it", async () => {
    const calls = backend();
    await openEditor("answer_generation");
    expect(screen.queryByTestId("cache-ttl-answer_generation")).toBeNull();
    await userEvent.click(screen.getByTestId("cache-toggle-answer_generation"));
    const ttl = screen.getByTestId("cache-ttl-answer_generation");
    expect(ttl).toHaveValue("3600 s");
    await userEvent.clear(ttl);
    await userEvent.type(ttl, "600");
    await userEvent.click(screen.getByTestId("cache-random-answer_generation"));
    await userEvent.click(screen.getByTestId("save-config-button"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_use_case")).toBe(true));
    const config = calls.find((c) => c.cmd === "save_use_case")!.args.config as UseCaseConfig;
    expect(config.cache_ttl_s).toBe(600);
    expect(config.cache_random).toBe(true);
    expect(config.monthly_budget_usd).toBeNull();
  });

  it("shows the back end's refusal next to the field it names", async () => {
    backend({ saveError: { code: "invalid_input", message: "model: local/x is not in the local model library", field: "model" } });
    await openEditor("answer_generation");
    const name = screen.getByTestId("usecase-name-answer_generation");
    await userEvent.type(name, " v2");
    await userEvent.click(screen.getByTestId("save-config-button"));
    expect(await screen.findByTestId("config-save-error")).toHaveTextContent("not in the local model library");
    expect(screen.getByTestId("unsaved-changes")).toBeInTheDocument();
  });

  it("adds a use case of the admin's own, which can then be deleted; built-ins cannot", async () => {
    const calls = backend();
    await openEditor("answer_generation");
    expect(screen.queryByTestId("delete-usecase-button-answer_generation")).toBeNull();
    await userEvent.click(screen.getByTestId("add-usecase-button"));
    await userEvent.type(await screen.findByTestId("new-usecase-id"), "Bad-Id");
    expect(await screen.findByText("2 to 64 lower-case letters, digits or underscores, starting with a letter", { selector: ".mantine-InputWrapper-error" })).toBeInTheDocument();
    await userEvent.clear(screen.getByTestId("new-usecase-id"));
    await userEvent.type(screen.getByTestId("new-usecase-id"), "reasoning");
    await userEvent.type(screen.getByTestId("new-usecase-name"), "Reasoning");
    await userEvent.click(screen.getByTestId("new-usecase-model"));
    await userEvent.click(await screen.findByRole("option", { name: "local/gemma-3-270m-q4_k_m" }));
    await userEvent.click(screen.getByTestId("create-usecase-button"));

    await waitFor(() => expect(calls.some((c) => c.cmd === "create_use_case")).toBe(true));
    const created = calls.find((c) => c.cmd === "create_use_case")!.args.useCase as UseCase;
    expect(created.id).toBe("reasoning");
    expect(created.model).toBe("local/gemma-3-270m-q4_k_m");
    expect(created.defaults.temperature).toBe(0.7);

    await userEvent.click(await screen.findByTestId("delete-usecase-button-reasoning"));
    await userEvent.click(await screen.findByTestId("confirm-delete-usecase"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "delete_use_case" && c.args.id === "reasoning")).toBe(true));
  });
});
