import { Badge, Group, Select, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";
import type { ModelOption, UseCase } from "../../../bindings";
import { formatBytes } from "../../../lib/format";
import { modelsFor } from "../api/useCases";

export interface ModelDropdownProps {
  useCase: Pick<UseCase, "id" | "vision">;
  models: ModelOption[];
  /** False until the model list has been read: nothing is called unavailable before that. */
  modelsLoaded: boolean;
  value: string;
  error?: string;
  onChange: (model: string) => void;
}

/**
 * The models a use case can be given. Each option shows provider, size,
 * capabilities and availability; a vision use case is offered vision models only.
 */
export function ModelDropdown({ useCase, models, modelsLoaded, value, error, onChange }: ModelDropdownProps) {
  const { t } = useTranslation();
  const choices = modelsFor(useCase, models);
  const byId = new Map(choices.map((m) => [m.id, m]));
  const data = choices.map((m) => ({ value: m.id, label: m.id, disabled: !m.available }));
  if (!byId.has(value)) {
    // Until the list is read this is only a placeholder for the saved value.
    // The current assignment is shown even when it cannot be used, so the admin sees why.
    data.unshift({ value, label: value, disabled: true });
  }
  const current = byId.get(value);
  return (
    <Select
      data-testid={`model-dropdown-${useCase.id}`}
      label={t("useCasesPage.model")}
      description={
        current || !modelsLoaded
          ? undefined
          : useCase.vision && choices.length === 0
            ? t("useCasesPage.noVisionModel")
            : t("useCasesPage.modelUnavailable")
      }
      data={data}
      value={value}
      allowDeselect={false}
      onChange={(v) => v && onChange(v)}
      error={error}
      renderOption={({ option }) => {
        const m = byId.get(option.value);
        return (
          <Group data-testid={`model-option-${option.value}`} gap="xs" wrap="nowrap" justify="space-between" w="100%">
            <Text size="sm">{m?.name ?? option.value}</Text>
            <Group gap={4} wrap="nowrap">
              <Badge size="xs" variant="light" color="gray">
                {m?.provider ?? option.value.split("/")[0]}
              </Badge>
              {m && <Text size="xs" c="dimmed">{formatBytes(m.size_bytes)}</Text>}
              {m?.capabilities.map((c) => (
                <Badge key={c} size="xs" variant="outline">
                  {t(`capabilities.${c}`, c)}
                </Badge>
              ))}
              <Badge size="xs" color={m?.available ? "teal" : "red"} variant="dot">
                {m?.available ? t("useCasesPage.available") : t("useCasesPage.unavailable")}
              </Badge>
            </Group>
          </Group>
        );
      }}
    />
  );
}
