// The local HTTP API: its settings and state, and its tokens.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { commands, type ApiServerSettings } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

export const apiPageKey = ["api-page"] as const;

/** Settings, state (refreshed every 5 s: requests served) and tokens. */
export function useApiPage() {
  return useQuery({ queryKey: apiPageKey, queryFn: async () => unwrap(await commands.apiPage()), refetchInterval: 5_000 });
}

export function useSaveApiSettings() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (settings: ApiServerSettings) => unwrap(await commands.saveApiSettings(settings)),
    onSuccess: (page) => client.setQueryData(apiPageKey, page),
  });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ name, admin }: { name: string; admin: boolean }) => unwrap(await commands.createApiToken(name, admin)),
    onSettled: () => void client.invalidateQueries({ queryKey: apiPageKey }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (name: string) => unwrap(await commands.revokeApiToken(name)),
    onSuccess: (page) => client.setQueryData(apiPageKey, page),
  });
}
