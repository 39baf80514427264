// The default local model's status: read once, then kept current by the
// back end's ModelStatusChanged events (download progress included).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { commands, events, type ModelStatus } from "../../../bindings";

export const modelStatusQueryKey = ["model-status"] as const;

export const modelStatusQueryOptions = {
  queryKey: modelStatusQueryKey,
  queryFn: (): Promise<ModelStatus> => commands.modelStatus(),
};

export function useModelStatus() {
  const client = useQueryClient();
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let disposed = false;
    events.modelStatusChanged
      .listen((event) => client.setQueryData(modelStatusQueryKey, event.payload))
      .then((stop) => {
        if (disposed) stop();
        else unlisten = stop;
      })
      .catch(() => {
        // No event bus outside the app (unit tests); polling below still works.
      });
    return () => {
      disposed = true;
      unlisten?.();
    };
  }, [client]);
  return useQuery({
    ...modelStatusQueryOptions,
    // Events keep it current; poll slowly while a download runs in case one is missed.
    refetchInterval: (q) => (q.state.data?.state === "fetching" || q.state.data?.state === "missing" ? 2000 : false),
  });
}
