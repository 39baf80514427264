// The default local model's status: read once, then kept current by the
// back end's ModelStatusChanged events (download progress included).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { commands, events, type ModelStatus } from "../../../bindings";
import { useAppEvent } from "../../../lib/useAppEvent";

export const modelStatusQueryKey = ["model-status"] as const;

export const modelStatusQueryOptions = {
  queryKey: modelStatusQueryKey,
  queryFn: (): Promise<ModelStatus> => commands.modelStatus(),
};

export function useModelStatus() {
  const client = useQueryClient();
  const update = useCallback((status: ModelStatus) => client.setQueryData(modelStatusQueryKey, status), [client]);
  // Events keep it current; outside the app polling below still works.
  useAppEvent(events.modelStatusChanged, update);
  return useQuery({
    ...modelStatusQueryOptions,
    // Events keep it current; poll slowly while a download runs in case one is missed.
    refetchInterval: (q) => (q.state.data?.state === "fetching" || q.state.data?.state === "missing" ? 2000 : false),
  });
}
