import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { commands, type CostEstimate, type CostReport, type EstimateRequest, type LatencyPercentiles } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";
import { historyQueryKey } from "../../../lib/queryKeys";

// Under the history key: a finished request refreshes the Costs page too.
export const costReportQueryKey = (from: string, to: string) => [...historyQueryKey, "costs", from, to] as const;

export function useCostReport(from: string, to: string, enabled = true) {
  return useQuery({
    queryKey: costReportQueryKey(from, to),
    queryFn: async (): Promise<CostReport> => unwrap(await commands.costReport(from, to)),
    enabled,
    placeholderData: keepPreviousData,
  });
}

/** The report's p95 latencies: asked beside it, they fill in a moment later on a large ledger. */
export function useLatencyPercentiles(from: string, to: string, enabled = true) {
  return useQuery({
    queryKey: [...costReportQueryKey(from, to), "p95"],
    queryFn: async (): Promise<LatencyPercentiles> => unwrap(await commands.latencyPercentiles(from, to)),
    enabled,
  });
}

export function useCostEstimate(request: EstimateRequest | null) {
  return useQuery({
    queryKey: ["estimate", request],
    queryFn: async (): Promise<CostEstimate[]> => unwrap(await commands.estimateCost(request!)),
    enabled: request != null && request.prompt.trim() !== "",
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}
