// Providers, their keys, connection tests and prices: queries and mutations.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { NewGroupRequest, NewProviderRequest, ProviderSettings, ProviderUpdate, ProvidersPage as ProvidersData } from "../../../bindings";
import { commands } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";
import { modelsQueryKey } from "../../usecases/api/useCases";

export const providersQueryKey = ["providers"] as const;

export const providersQueryOptions = {
  queryKey: providersQueryKey,
  queryFn: async (): Promise<ProvidersData> => unwrap(await commands.listProviders()),
};

export function useProviders() {
  return useQuery(providersQueryOptions);
}

/** What the admin has typed on one card but not saved. Keys stay here, in memory, until saved. */
export interface ProviderDraft {
  settings: ProviderSettings;
  newKey: string;
  addKeys: string[];
  removeKeys: string[];
}

export function draftOf(settings: ProviderSettings): ProviderDraft {
  return { settings, newKey: "", addKeys: [], removeKeys: [] };
}

export function isDirty(draft: ProviderDraft, saved: ProviderSettings): boolean {
  return (
    JSON.stringify(draft.settings) !== JSON.stringify(saved) ||
    draft.newKey.trim() !== "" ||
    draft.addKeys.some((k) => k.trim() !== "") ||
    draft.removeKeys.length > 0
  );
}

export function toUpdate(draft: ProviderDraft): ProviderUpdate {
  return {
    settings: draft.settings,
    new_key: draft.newKey.trim() || null,
    add_keys: draft.addKeys.map((k) => k.trim()).filter(Boolean),
    remove_keys: draft.removeKeys,
  };
}

/** This machine: plain http to it never crosses a network. */
function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "[::1]";
}

/** Client-side comfort check of a base URL; the back end checks again. */
export function baseUrlProblem(url: string, isCloud: boolean, allowHttp: boolean, required: boolean): string | null {
  const trimmed = url.trim();
  if (!trimmed) return required ? "required" : null;
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return "not a URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "http:// or https:// only";
  if (!parsed.hostname) return "no host";
  if (parsed.protocol === "http:" && isCloud && !allowHttp) return "https required";
  if (parsed.protocol === "http:" && !allowHttp && !isLoopback(parsed.hostname)) return "http to another machine";
  if (parsed.username || parsed.password) return "no credentials in the URL";
  if (parsed.search || parsed.hash) return "no query or fragment";
  return null;
}

export function useSaveProviders() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (updates: ProviderUpdate[]) => unwrap(await commands.saveProviders(updates)),
    onSuccess: (page) => client.setQueryData(providersQueryKey, page),
    onSettled: () => client.invalidateQueries({ queryKey: modelsQueryKey }),
  });
}

export function useTestProvider() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await commands.testProvider(id)),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: providersQueryKey });
      void client.invalidateQueries({ queryKey: modelsQueryKey });
    },
  });
}

export function useRefreshModels() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await commands.refreshProviderModels(id)),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: providersQueryKey });
      void client.invalidateQueries({ queryKey: modelsQueryKey });
    },
  });
}

export async function revealKey(providerId: string, keyId: string): Promise<string> {
  return unwrap(await commands.revealProviderKey(providerId, keyId));
}

export function useImportPrices() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (file: { name: string; text: string }) => unwrap(await commands.importPrices(file.name, file.text)),
    onSettled: () => client.invalidateQueries({ queryKey: providersQueryKey }),
  });
}

/** Adds a provider instance (disabled until the admin enables it). */
export function useCreateProvider() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (provider: NewProviderRequest) => unwrap(await commands.createProvider(provider)),
    onSuccess: (page) => client.setQueryData(providersQueryKey, page),
  });
}

/** Removes a provider instance; refused while a route uses it. */
export function useDeleteProvider() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await commands.deleteProvider(id)),
    onSuccess: (page) => {
      client.setQueryData(providersQueryKey, page);
      void client.invalidateQueries({ queryKey: modelsQueryKey });
    },
  });
}

/** Adds an endpoint group: provider instances serving the same models, balanced. */
export function useCreateGroup() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (group: NewGroupRequest) => unwrap(await commands.createGroup(group)),
    onSuccess: (page) => {
      client.setQueryData(providersQueryKey, page);
      void client.invalidateQueries({ queryKey: modelsQueryKey });
    },
  });
}

export function useDeleteGroup() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await commands.deleteGroup(id)),
    onSuccess: (page) => {
      client.setQueryData(providersQueryKey, page);
      void client.invalidateQueries({ queryKey: modelsQueryKey });
    },
  });
}
