// Use cases and the models they can be assigned: queries and mutations.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { TFunction } from "i18next";
import { commands, type ModelOption, type NewUseCase, type UseCase, type UseCaseConfig } from "../../../bindings";
import i18n from "../../../i18n";
import { unwrap } from "../../../lib/ipc";

export const useCasesQueryKey = ["use-cases"] as const;
export const modelsQueryKey = ["models"] as const;

export const useCasesQueryOptions = {
  queryKey: useCasesQueryKey,
  queryFn: async (): Promise<UseCase[]> => unwrap(await commands.listUseCases()),
};

export function useUseCases() {
  return useQuery(useCasesQueryOptions);
}

export const modelsQueryOptions = {
  queryKey: modelsQueryKey,
  queryFn: async (): Promise<ModelOption[]> => unwrap(await commands.listModels()),
};

export function useModels() {
  return useQuery(modelsQueryOptions);
}

export async function saveUseCase(id: string, config: UseCaseConfig): Promise<UseCase> {
  return unwrap(await commands.saveUseCase(id, config));
}

export function useSaveUseCases() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (drafts: { id: string; config: UseCaseConfig }[]) => {
      const saved: UseCase[] = [];
      for (const d of drafts) saved.push(await saveUseCase(d.id, d.config));
      return saved;
    },
    onSettled: () => client.invalidateQueries({ queryKey: useCasesQueryKey }),
  });
}

/**
 * Built-in names are shown in the UI language until an admin renames them;
 * the English string file holds the names they are seeded with.
 */
export function displayName(uc: Pick<UseCase, "id" | "name" | "builtin">, t: TFunction): string {
  const seeded = i18n.getFixedT("en")(`useCases.${uc.id}`, { defaultValue: "" });
  return uc.builtin && seeded === uc.name ? t(`useCases.${uc.id}`, uc.name) : uc.name;
}

/** Models a use case may choose: vision use cases need the vision capability. */
export function modelsFor(useCase: Pick<UseCase, "vision">, models: ModelOption[]): ModelOption[] {
  return models.filter((m) => (useCase.vision ? m.capabilities.includes("vision") : m.capabilities.includes("text")));
}

export function useCreateUseCase() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (useCase: NewUseCase) => unwrap(await commands.createUseCase(useCase)),
    onSettled: () => client.invalidateQueries({ queryKey: useCasesQueryKey }),
  });
}

export function useDeleteUseCase() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await commands.deleteUseCase(id)),
    onSettled: () => client.invalidateQueries({ queryKey: useCasesQueryKey }),
  });
}
