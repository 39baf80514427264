// One generation's life: running (text streaming in), then done, stopped or failed.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useRef, useState } from "react";
import type { GenerationSummary, SamplingParams } from "../bindings";
import { cancelGeneration, generate } from "./generate";
import { errorCode, errorMessage } from "./ipc";
import { historyQueryKey } from "./queryKeys";

export type GenerationState =
  | { phase: "idle" }
  | { phase: "running"; requestId: string; model: string | null }
  | { phase: "done"; summary: GenerationSummary }
  | { phase: "failed"; code: string; message: string };

export function useGeneration() {
  const client = useQueryClient();
  const [state, setState] = useState<GenerationState>({ phase: "idle" });
  const [text, setText] = useState("");
  const current = useRef<string | null>(null);

  const start = useCallback(
    async (useCase: string, prompt: string, params: SamplingParams | null) => {
      const requestId = crypto.randomUUID();
      current.current = requestId;
      setText("");
      setState({ phase: "running", requestId, model: null });
      try {
        const summary = await generate({ request_id: requestId, use_case: useCase, prompt, model: null, params }, (event) => {
          if (current.current !== requestId) return;
          if (event.kind === "token") setText((t) => t + event.text);
          else setState({ phase: "running", requestId, model: event.model });
        });
        if (current.current === requestId) setState({ phase: "done", summary });
      } catch (error) {
        if (current.current === requestId) {
          setState({ phase: "failed", code: errorCode(error), message: errorMessage(error) });
        }
      } finally {
        void client.invalidateQueries({ queryKey: historyQueryKey });
      }
    },
    [client],
  );

  const stop = useCallback(async () => {
    if (current.current) await cancelGeneration(current.current);
  }, []);

  return { state, text, start, stop };
}
