import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { DescribeRequest, GenerationEvent, ImagePreview, VisionPage as PageData } from "../../../bindings";
import { renderWithProviders } from "../../../test/render";
import { VisionPage } from "./VisionPage";

const page: PageData = {
  use_case: {
    id: "vision_vlm",
    name: "Vision (image description)",
    description: "Image to text description",
    builtin: true,
    vision: true,
    enabled: true,
    model: "local/gemma-vision",
    defaults: { temperature: 0.5, top_k: 40, top_p: 0.9, min_p: 0, max_tokens: 1024, repeat_penalty: 1, presence_penalty: 0, frequency_penalty: 0, stop: [], seed: null },
    custom_params: null,
    use_custom_params: false,
    system_prompt: null,
    json_schema: null,
    fallbacks: [],
    prefer_cloud: false,
    cache_ttl_s: null,
    cache_random: false,
    monthly_budget_usd: null,
    keep_text_days: null,
    updated_at: "",
    updated_by: "",
  },
  model: "local/gemma-vision",
  problem: null,
  default_prompt: "Describe this image.",
  history: [],
};

function preview(path: string): ImagePreview {
  const name = path.split("/").pop()!;
  if (name.endsWith(".pdf") || name === "report.png") {
    return { path, name, error: "this is not an image (it looks like a PDF document)", format: null, width: 0, height: 0, thumbnail: null, sha256: null };
  }
  return { path, name, error: null, format: "PNG", width: 451, height: 300, thumbnail: "data:image/png;base64,iVBORw0KGgo=", sha256: "ab".repeat(32) };
}

function backend() {
  const described: DescribeRequest[] = [];
  mockWindows("main");
  mockIPC(
    async (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      switch (cmd) {
        case "vision_page":
          return page;
        case "image_previews":
          return (a.paths as string[]).map(preview);
        case "describe_image": {
          const request = a.request as DescribeRequest;
          described.push(request);
          const channel = a.onEvent as { onmessage: (e: GenerationEvent) => void };
          // Stream two pieces through the channel, then answer.
          for (const text of ["A cat ", "on a sofa."]) channel.onmessage({ kind: "token", text });
          return {
            request_id: request.request_id,
            ledger_id: "l1",
            description_id: "d1",
            model: "local/gemma-vision",
            status: "ok",
            text: "A cat on a sofa.",
            stats: { input_tokens: 30, cached_input_tokens: 0, output_tokens: 6, ttft_ms: 120, latency_ms: 900, load_ms: 0, prompt_tokens_per_second: 100, tokens_per_second: 40, finish_reason: "end_of_text" },
            image: { name: "chelsea.png", format: "PNG", width: 451, height: 300, sent_width: 451, sent_height: 300, sha256: "ab".repeat(32), decode_ms: 5 },
            image_tokens: 16,
          };
        }
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  return described;
}

afterEach(() => clearMocks());

describe("Vision page", () => {
  it("highlights the drop zone while files hover and adds what is dropped; a non-image gets its own message", async () => {
    backend();
    renderWithProviders(<VisionPage />);
    const zone = await screen.findByTestId("vision-dropzone");
    expect(await screen.findByTestId("vision-model")).toHaveTextContent("local/gemma-vision");
    expect(zone).toHaveAttribute("data-hover", "false");
    await waitFor(async () => {
      await act(() => emit("tauri://drag-enter", { paths: ["/p/chelsea.png"], position: { x: 1, y: 1 } }));
      expect(zone).toHaveAttribute("data-hover", "true");
    });
    expect(zone).toHaveTextContent("Release to add the images");
    await act(() => emit("tauri://drag-leave", {}));
    expect(zone).toHaveAttribute("data-hover", "false");

    await act(() => emit("tauri://drag-drop", { paths: ["/p/chelsea.png", "/p/report.png"], position: { x: 1, y: 1 } }));
    const items = await screen.findAllByTestId("vision-item");
    expect(items).toHaveLength(2);
    await waitFor(() => expect(items[0]).toHaveAttribute("data-state", "ready"));
    expect(items[1]).toHaveAttribute("data-state", "invalid");
    expect(within(items[1]!).getByTestId("vision-item-error")).toHaveTextContent("looks like a PDF document");
    expect(within(items[0]!).getByTestId("vision-thumb")).toBeInTheDocument();
    expect(within(items[0]!).queryByTestId("vision-item-error")).toBeNull();
  });

  it("describes the usable images with the prompt and streams each description", async () => {
    const described = backend();
    const user = userEvent.setup();
    renderWithProviders(<VisionPage />);
    const prompt = await screen.findByTestId("vision-prompt");
    await waitFor(() => expect(prompt).toHaveValue("Describe this image."));
    await user.type(screen.getByTestId("vision-path"), "/p/chelsea.png");
    await user.click(screen.getByTestId("vision-path-add"));
    await user.type(screen.getByTestId("vision-path"), "/p/notes.pdf");
    await user.click(screen.getByTestId("vision-path-add"));
    const items = await screen.findAllByTestId("vision-item");
    await waitFor(() => expect(items[0]).toHaveAttribute("data-state", "ready"));
    await user.clear(prompt);
    await user.type(prompt, "What animal is this?");
    await user.click(screen.getByTestId("vision-describe"));
    await waitFor(() => expect(items[0]).toHaveAttribute("data-state", "done"));
    expect(within(items[0]!).getByTestId("vision-item-text")).toHaveTextContent("A cat on a sofa.");
    expect(within(items[0]!).getByTestId("vision-item-stats")).toHaveTextContent("16 image tokens");
    expect(within(items[0]!).getByTestId("vision-copy")).toBeInTheDocument();
    expect(described).toHaveLength(1);
    expect(described[0]).toMatchObject({ image_path: "/p/chelsea.png", prompt: "What animal is this?" });
    expect(items[1]).toHaveAttribute("data-state", "invalid");
  });
});
