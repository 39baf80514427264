// The Vision page: the model in use, previews, describing one image, history.
import { Channel } from "@tauri-apps/api/core";
import { useQuery } from "@tanstack/react-query";
import {
  commands,
  type DescribeRequest,
  type DescribeSummary,
  type GenerationEvent,
  type ImagePreview,
  type VisionPage,
} from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

export const visionQueryKey = ["vision-page"] as const;

export function useVisionPage() {
  return useQuery({ queryKey: visionQueryKey, queryFn: async (): Promise<VisionPage> => unwrap(await commands.visionPage()) });
}

export function previewImages(paths: string[]): Promise<ImagePreview[]> {
  return commands.imagePreviews(paths);
}

export async function describeImage(
  request: DescribeRequest,
  onEvent: (event: GenerationEvent) => void,
): Promise<DescribeSummary> {
  const channel = new Channel<GenerationEvent>();
  channel.onmessage = onEvent;
  return unwrap(await commands.describeImage(request, channel));
}

/** Asks where to save (native dialog, opened by the back end) and writes there; null when cancelled. */
export async function saveText(suggestedName: string, text: string): Promise<string | null> {
  return unwrap(await commands.saveTextAs(suggestedName, text));
}

/** Asks for images in the native dialog (opened by the back end); empty when cancelled. */
export async function pickImages(): Promise<string[]> {
  return unwrap(await commands.pickFiles("images"));
}

/** One file on the page and what happened to it. */
export type VisionItem = {
  key: string;
  path: string;
  preview: ImagePreview | null;
  state: "checking" | "ready" | "invalid" | "queued" | "running" | "done" | "failed" | "cancelled";
  text: string;
  error: string | null;
  requestId: string | null;
  summary: DescribeSummary | null;
};

let counter = 0;
export function newItem(path: string): VisionItem {
  counter += 1;
  return { key: `${Date.now()}-${counter}`, path, preview: null, state: "checking", text: "", error: null, requestId: null, summary: null };
}
