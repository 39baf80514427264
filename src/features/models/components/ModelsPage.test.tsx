import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { DownloadStatus, LibraryModel, ModelsPage as PageData } from "../../../bindings";
import { renderWithProviders } from "../../../test/render";
import { ModelsPage } from "./ModelsPage";

function model(id: string, patch: Partial<LibraryModel> = {}): LibraryModel {
  return {
    id,
    path: `/data/models/${id}.gguf`,
    referenced: false,
    size_bytes: 253113024,
    facts: {
      name: "Gemma 3 270m",
      architecture: "gemma3",
      parameters: 268098176,
      quantization: "Q4_K_M",
      context_length: 32768,
      embedding_length: 640,
      has_chat_template: false,
      embedding: false,
      projector: false,
      projection_dim: null,
    },
    error: null,
    capabilities: ["text"],
    projector: null,
    load: { gpu_layers: null, context_length: null, threads: null, parallel: null },
    resident: null,
    used_by: [],
    ...patch,
  };
}

function download(patch: Partial<DownloadStatus>): DownloadStatus {
  return {
    id: "qwen.gguf",
    url: "https://example.org/qwen.gguf",
    file_name: "qwen.gguf",
    state: "running",
    done_bytes: 250e6,
    total_bytes: 1000e6,
    bytes_per_second: 20e6,
    error: null,
    ...patch,
  };
}

type Call = { cmd: string; args: Record<string, unknown> };

function backend(page: PageData, errors: Partial<Record<string, { code: string; message: string; field: string | null }>> = {}) {
  const calls: Call[] = [];
  mockIPC(async (cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    const error = errors[cmd];
    if (error) throw error;
    switch (cmd) {
      case "models_page":
        return page;
      case "save_model_settings":
        return page.models[0];
      case "delete_model":
        return page;
      case "import_model":
        return model("imported");
      case "load_model_now":
      case "unload_model":
        return page.models[0];
      default:
        return download({});
    }
  });
  return calls;
}

const base = (patch: Partial<PageData> = {}): PageData => ({
  models_dir: "/data/models",
  models: [model("gemma")],
  downloads: [],
  engine: { max_resident_models: 2, idle_unload_minutes: 15 },
  ...patch,
});

describe("Models page", () => {
  it("shows what the GGUF header says, residency and the GPU layers offloaded", async () => {
    backend(
      base({
        models: [
          model("gemma", {
            resident: { path: "/data/models/gemma.gguf", name: "Gemma", load: {}, context_length: 4096, offloaded_layers: 19, total_layers: 19, size_bytes: 1, idle_seconds: 3 },
            used_by: ["Answer generation"],
          }),
          model("broken", { facts: null, error: "/x/broken.gguf is not a GGUF file", capabilities: [] }),
        ],
      }),
    );
    renderWithProviders(<ModelsPage />);
    const card = await screen.findByTestId("model-card-gemma");
    expect(within(card).getByTestId("fact-parameters")).toHaveTextContent("268M");
    expect(within(card).getByTestId("fact-quantization")).toHaveTextContent("Q4_K_M");
    expect(within(card).getByTestId("fact-context")).toHaveTextContent("32,768");
    expect(within(card).getByTestId("model-resident")).toHaveTextContent("19/19 layers on the GPU");
    expect(within(card).getByTestId("model-used-by")).toHaveTextContent("Answer generation");
    const broken = screen.getByTestId("model-card-broken");
    expect(within(broken).getByTestId("model-error")).toHaveTextContent("not a GGUF file");
    expect(within(broken).queryByTestId("model-save")).toBeNull();
  });

  it("saves load settings (empty = automatic) and refuses out-of-range values before sending", async () => {
    const calls = backend(base());
    const user = userEvent.setup();
    renderWithProviders(<ModelsPage />);
    const card = await screen.findByTestId("model-card-gemma");
    const save = within(card).getByTestId("model-save");
    expect(save).toBeDisabled();
    await user.type(within(card).getByTestId("model-context"), "100");
    expect(card).toHaveTextContent("a whole number from 256 to 1048576");
    expect(save).toBeDisabled();
    await user.clear(within(card).getByTestId("model-context"));
    await user.type(within(card).getByTestId("model-context"), "8192");
    await user.type(within(card).getByTestId("model-threads"), "2");
    await user.type(within(card).getByTestId("model-parallel"), "0");
    expect(card).toHaveTextContent("a whole number from 1 to 64");
    expect(save).toBeDisabled();
    await user.clear(within(card).getByTestId("model-parallel"));
    await user.type(within(card).getByTestId("model-parallel"), "8");
    await user.click(save);
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_model_settings")).toBe(true));
    const sent = calls.find((c) => c.cmd === "save_model_settings")!.args;
    expect(sent).toEqual({
      id: "gemma",
      settings: { load: { gpu_layers: null, context_length: 8192, threads: 2, parallel: 8 }, projector: null },
    });
  });

  it("loads a text model now, unloads a resident one, and shows why a load failed", async () => {
    const resident = { path: "/data/models/gemma.gguf", name: "Gemma", load: {}, context_length: 4096, offloaded_layers: 0, total_layers: 19, size_bytes: 1, idle_seconds: 3 };
    const calls = backend(
      base({
        models: [
          model("gemma", { resident }),
          model("qwen"),
          model("mmproj-gemma", { capabilities: ["projector"] }),
          model("embedder", { capabilities: ["embedding"] }),
        ],
      }),
      { load_model_now: { code: "model_load_failed", message: "qwen: not enough memory to load it", field: null } },
    );
    const user = userEvent.setup();
    renderWithProviders(<ModelsPage />);
    const gemma = await screen.findByTestId("model-card-gemma");
    expect(within(gemma).queryByTestId("model-load")).toBeNull();
    await user.click(within(gemma).getByTestId("model-unload"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "unload_model")).toBe(true));
    expect(calls.find((c) => c.cmd === "unload_model")!.args).toEqual({ id: "gemma" });
    // Projectors load with their text model and embedding models with their first request: no button.
    for (const id of ["mmproj-gemma", "embedder"]) {
      const card = screen.getByTestId(`model-card-${id}`);
      expect(within(card).queryByTestId("model-load")).toBeNull();
      expect(within(card).queryByTestId("model-unload")).toBeNull();
    }
    const qwen = screen.getByTestId("model-card-qwen");
    await user.click(within(qwen).getByTestId("model-load"));
    await waitFor(() => expect(within(qwen).getByTestId("model-residency-error")).toHaveTextContent("not enough memory"));
    expect(calls.find((c) => c.cmd === "load_model_now")!.args).toEqual({ id: "qwen" });
  });

  it("puts a refused import's reason on the path field", async () => {
    backend(base(), { import_model: { code: "invalid_input", message: "/tmp/x.gguf is not a GGUF file (it does not start with 'GGUF')", field: "path" } });
    const user = userEvent.setup();
    renderWithProviders(<ModelsPage />);
    await screen.findByTestId("model-card-gemma");
    await user.type(screen.getByTestId("import-path"), "/tmp/x.gguf");
    await user.click(screen.getByTestId("import-submit"));
    expect(await screen.findByText(/does not start with 'GGUF'/)).toBeInTheDocument();
    expect(screen.queryByTestId("import-done")).toBeNull();
  });

  it("shows download progress with the actions each state allows", async () => {
    const calls = backend(
      base({
        downloads: [
          download({}),
          download({ id: "cut.gguf", file_name: "cut.gguf", state: "failed", error: "the download ended early at 10 of 20 bytes; resume to continue" }),
        ],
      }),
    );
    const user = userEvent.setup();
    renderWithProviders(<ModelsPage />);
    const running = await screen.findByTestId("download-row-qwen.gguf");
    expect(within(running).getByTestId("download-bytes")).toHaveTextContent("250.0 MB / 1.0 GB");
    expect(within(running).getByTestId("download-progress").querySelector("[style*='25%']")).not.toBeNull();
    expect(within(running).queryByTestId("download-resume")).toBeNull();
    await user.click(within(running).getByTestId("download-pause"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "pause_download" && c.args.id === "qwen.gguf")).toBe(true));
    const failed = screen.getByTestId("download-row-cut.gguf");
    expect(within(failed).getByTestId("download-error")).toHaveTextContent("resume to continue");
    await user.click(within(failed).getByTestId("download-resume"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "resume_download" && c.args.id === "cut.gguf")).toBe(true));
  });

  it("checks a download URL and checksum before starting", async () => {
    const calls = backend(base());
    const user = userEvent.setup();
    renderWithProviders(<ModelsPage />);
    await screen.findByTestId("model-card-gemma");
    await user.type(screen.getByTestId("download-url"), "ftp://example.org/m.gguf");
    expect(screen.getByTestId("download-start")).toBeDisabled();
    await user.clear(screen.getByTestId("download-url"));
    await user.type(screen.getByTestId("download-url"), "https://example.org/m.gguf");
    await user.type(screen.getByTestId("download-sha256"), "abc");
    expect(screen.getByTestId("download-start")).toBeDisabled();
    await user.clear(screen.getByTestId("download-sha256"));
    await user.click(screen.getByTestId("download-start"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "start_download")).toBe(true));
    expect(calls.find((c) => c.cmd === "start_download")!.args).toEqual({
      request: { url: "https://example.org/m.gguf", file_name: null, sha256: null, size_bytes: null },
    });
  });

  it("deletes only after confirmation and shows why a delete was refused", async () => {
    const calls = backend(base(), { delete_model: { code: "invalid_input", message: "gemma is assigned to Answer generation; assign another model there first", field: null } });
    const user = userEvent.setup();
    renderWithProviders(<ModelsPage />);
    const card = await screen.findByTestId("model-card-gemma");
    await user.click(within(card).getByTestId("model-delete"));
    expect(calls.some((c) => c.cmd === "delete_model")).toBe(false);
    await user.click(await screen.findByTestId("model-delete-confirm"));
    expect(await within(card).findByTestId("model-delete-error")).toHaveTextContent("assigned to Answer generation");
  });
});
