import { useQuery } from "@tanstack/react-query";
import { commands, type UseCase } from "../../../bindings";

export const useCasesQueryOptions = {
  queryKey: ["use-cases"] as const,
  queryFn: (): Promise<UseCase[]> => commands.listUseCases(),
  staleTime: Infinity,
};

export function useUseCases() {
  return useQuery(useCasesQueryOptions);
}
