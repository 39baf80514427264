// The Models page: library, imports, downloads, per-model settings, residency.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { DownloadRequest, EngineSettings, ImportMode, ModelSettings, ModelsPage } from "../../../bindings";
import { commands } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";
import { modelsQueryKey } from "../../usecases/api/useCases";

export const libraryQueryKey = ["models-page"] as const;

/** The page's data; polled faster while a download runs so its progress moves. */
export function useLibrary() {
  return useQuery({
    queryKey: libraryQueryKey,
    queryFn: async (): Promise<ModelsPage> => unwrap(await commands.modelsPage()),
    refetchInterval: (query) =>
      query.state.data?.downloads.some((d) => d.state === "running" || d.state === "verifying") ? 500 : 5000,
  });
}

function useRefresh() {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: libraryQueryKey });
    // The use-case dropdowns list the library's models too.
    void client.invalidateQueries({ queryKey: modelsQueryKey });
  };
}

export function useImportModel() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async ({ path, mode }: { path: string; mode: ImportMode }) => unwrap(await commands.importModel(path, mode)),
    onSuccess: refresh,
  });
}

export function useSaveModelSettings() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async ({ id, settings }: { id: string; settings: ModelSettings }) =>
      unwrap(await commands.saveModelSettings(id, settings)),
    onSuccess: refresh,
  });
}

/** Loads a model into memory now, or takes it out. */
export function useResidency() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async ({ id, load }: { id: string; load: boolean }) =>
      unwrap(await (load ? commands.loadModelNow(id) : commands.unloadModel(id))),
    onSuccess: refresh,
  });
}

export function useDeleteModel() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await commands.deleteModel(id)),
    onSuccess: refresh,
  });
}

export function useSaveEngineSettings() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (settings: EngineSettings) => unwrap(await commands.saveEngineSettings(settings)),
    onSuccess: refresh,
  });
}

export type DownloadAction = "pause" | "resume" | "cancel";

export function useStartDownload() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (request: DownloadRequest) => unwrap(await commands.startDownload(request)),
    onSuccess: refresh,
  });
}

export function useDownloadAction() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async ({ id, action }: { id: string; action: DownloadAction }) => {
      const call = { pause: commands.pauseDownload, resume: commands.resumeDownload, cancel: commands.cancelDownload }[action];
      return unwrap(await call(id));
    },
    onSuccess: refresh,
  });
}

/** `268M`, `7.6B`: parameter counts as model cards show them. */
export function formatParams(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return "–";
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${Math.round(n / 1e6)}M`;
  return `${Math.round(n / 1e3)}K`;
}

/** A whole number in `min..=max`, or null for an empty field; `undefined` when invalid. */
export function parseOptionalInt(text: string, min: number, max: number): number | null | undefined {
  const t = text.trim();
  if (t === "") return null;
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= min && n <= max ? n : undefined;
}

/** Client-side check of a download form; the back end checks again. */
export function downloadProblem(url: string, sha256: string): "url" | "sha256" | null {
  try {
    const u = new URL(url.trim());
    if (u.protocol !== "https:" && u.protocol !== "http:") return "url";
  } catch {
    return "url";
  }
  if (sha256.trim() !== "" && !/^[0-9a-fA-F]{64}$/.test(sha256.trim())) return "sha256";
  return null;
}

/** Asks for a GGUF file in the native dialog (opened by the back end); null when cancelled. */
export async function pickModelFile(): Promise<string | null> {
  return unwrap(await commands.pickFiles("model"))[0] ?? null;
}
