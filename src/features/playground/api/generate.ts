// Starting and stopping a streamed generation.
import { Channel } from "@tauri-apps/api/core";
import { commands, type GenerateInput, type GenerationEvent, type GenerationSummary } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

export async function generate(
  input: GenerateInput,
  onEvent: (event: GenerationEvent) => void,
): Promise<GenerationSummary> {
  const channel = new Channel<GenerationEvent>();
  channel.onmessage = onEvent;
  return unwrap(await commands.generate(input, channel));
}

export function cancelGeneration(requestId: string): Promise<boolean> {
  return commands.cancelGeneration(requestId);
}
