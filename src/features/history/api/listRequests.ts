import { useQuery } from "@tanstack/react-query";
import { commands, type RequestRecord } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

import { historyQueryKey } from "../../../lib/queryKeys";

export { historyQueryKey };

export const HISTORY_LIMIT = 200;

export const historyQueryOptions = {
  queryKey: historyQueryKey,
  queryFn: async (): Promise<RequestRecord[]> => unwrap(await commands.listRequests(HISTORY_LIMIT)),
};

export function useRequestHistory() {
  return useQuery(historyQueryOptions);
}
