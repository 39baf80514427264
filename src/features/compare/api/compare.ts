import { Channel } from "@tauri-apps/api/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { commands, type ComparisonListing, type ComparisonProgress, type ComparisonReport, type ComparisonRequest } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";
import { historyQueryKey } from "../../../lib/queryKeys";

export const comparisonsQueryKey = ["comparisons"] as const;

export function useComparisons() {
  return useQuery({
    queryKey: comparisonsQueryKey,
    queryFn: async (): Promise<ComparisonListing[]> => unwrap(await commands.listComparisons()),
  });
}

export function useComparisonReport(id: string | null) {
  return useQuery({
    queryKey: [...comparisonsQueryKey, id],
    queryFn: async (): Promise<ComparisonReport> => unwrap(await commands.comparisonReport(id!)),
    enabled: id != null,
  });
}

/** Runs a comparison, reporting each finished request; the saved report at the end. */
export function useRunComparison(onProgress: (p: ComparisonProgress) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (request: ComparisonRequest): Promise<ComparisonReport> => {
      const channel = new Channel<ComparisonProgress>();
      channel.onmessage = onProgress;
      return unwrap(await commands.runComparison(request, channel));
    },
    onSettled: () => {
      void client.invalidateQueries({ queryKey: comparisonsQueryKey });
      void client.invalidateQueries({ queryKey: historyQueryKey });
    },
  });
}

export function useDeleteComparison() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await commands.deleteComparison(id)),
    onSuccess: () => void client.invalidateQueries({ queryKey: comparisonsQueryKey }),
  });
}

export const stopComparison = async () => commands.stopComparison();
export const exportComparison = async (id: string) => unwrap(await commands.exportComparison(id));
export const samplePrompts = async () => commands.samplePrompts();

/** Asks for a JSON or CSV file of prompts (native dialog) and reads it; none when cancelled. */
export async function promptsFromPickedFile(): Promise<string[] | null> {
  const [path] = unwrap(await commands.pickFiles("prompts"));
  if (!path) return null;
  return unwrap(await commands.promptsFromFile(path));
}
