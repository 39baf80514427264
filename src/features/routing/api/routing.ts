// Routing: global settings, how each candidate of a route stands, and routing events.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { commands, type RoutingSettings } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

export const routingSettingsKey = ["routing-settings"] as const;
export const candidateStatesKey = ["candidate-states"] as const;
export const routingEventsKey = ["routing-events"] as const;

export function useRoutingSettings() {
  return useQuery({ queryKey: routingSettingsKey, queryFn: async () => unwrap(await commands.routingSettings()) });
}

export function useSaveRoutingSettings() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (settings: RoutingSettings) => unwrap(await commands.saveRoutingSettings(settings)),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: routingSettingsKey });
      void client.invalidateQueries({ queryKey: candidateStatesKey });
    },
  });
}

/** How each of `models` stands now (available, budget spent, circuit open, ...), refreshed every 10 s. */
export function useCandidateStates(models: string[]) {
  return useQuery({
    queryKey: [...candidateStatesKey, ...models],
    queryFn: async () => unwrap(await commands.candidateStates(models)),
    enabled: models.length > 0,
    refetchInterval: 10_000,
  });
}

export function useRoutingEvents(provider: string | null, limit = 100) {
  return useQuery({
    queryKey: [...routingEventsKey, provider],
    queryFn: async () => unwrap(await commands.routingEvents(provider, limit)),
  });
}
