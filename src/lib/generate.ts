// Starting and stopping a streamed generation.
import { Channel } from "@tauri-apps/api/core";
import { commands, type GenerationEvent, type GenerationSummary, type LlmRequest } from "../bindings";
import { unwrap } from "./ipc";

export async function generate(
  request: LlmRequest,
  onEvent: (event: GenerationEvent) => void,
): Promise<GenerationSummary> {
  const channel = new Channel<GenerationEvent>();
  channel.onmessage = onEvent;
  return unwrap(await commands.generate(request, channel));
}

export function cancelGeneration(requestId: string): Promise<boolean> {
  return commands.cancelGeneration(requestId);
}
