import { ActionIcon, Badge, Button, Group, NumberInput, Paper, Select, Stack, Switch, Text, Title, Tooltip } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconPlus, IconTrash } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { CandidateState, CandidateStatus, ModelOption, RouteCandidate, SamplingParams, UseCase } from "../../../bindings";
import { useCandidateStates } from "../../routing/api/routing";
import { modelsFor } from "../api/useCases";

const STATUS_COLOR: Record<CandidateStatus, string> = {
  available: "teal",
  model_missing: "red",
  provider_disabled: "gray",
  budget_spent: "orange",
  circuit_open: "red",
  rate_limited: "yellow",
  local_only: "gray",
};

export interface RouteValue {
  model: string;
  fallbacks: RouteCandidate[];
  prefer_cloud: boolean;
}

export interface RouteEditorProps {
  useCase: Pick<UseCase, "id" | "vision">;
  models: ModelOption[];
  value: RouteValue;
  /** The use case's parameters, copied when a fallback gets its own. */
  params: SamplingParams;
  onChange: (value: RouteValue) => void;
  /** Field errors from the back end (`fallbacks.1.model`). */
  fieldError: (field: string) => string | undefined;
}

/**
 * A use case's route: the model, then the fallbacks tried in order when it
 * cannot answer. Each candidate shows how it stands now; fallbacks can be
 * moved, removed and given their own parameters.
 */
export function RouteEditor({ useCase, models, value, params, onChange, fieldError }: RouteEditorProps) {
  const { t } = useTranslation();
  const [adding, setAdding] = useState<string | null>(null);
  const route: RouteCandidate[] = [{ model: value.model, params: null }, ...value.fallbacks];
  const states = useCandidateStates(route.map((c) => c.model));
  const stateOf = (model: string): CandidateState | undefined => states.data?.find((s) => s.model === model);
  const choices = modelsFor(useCase, models).filter((m) => !route.some((c) => c.model === m.id));
  const id = useCase.id;

  const set = (next: RouteCandidate[]) => {
    const [first, ...rest] = next;
    // The first candidate is the use case's model: it runs with the use case's parameters.
    onChange({ ...value, model: first!.model, fallbacks: rest });
  };
  const move = (i: number, by: -1 | 1) => {
    const next = [...route];
    [next[i], next[i + by]] = [next[i + by]!, next[i]!];
    set(next);
  };

  return (
    <Paper withBorder p="md" data-testid={`route-editor-${id}`}>
      <Group justify="space-between" mb="xs">
        <Title order={5}>{t("route.title")}</Title>
        <Switch
          data-testid={`prefer-cloud-${id}`}
          label={t("route.preferCloud")}
          checked={value.prefer_cloud}
          onChange={(e) => onChange({ ...value, prefer_cloud: e.currentTarget.checked })}
        />
      </Group>
      <Text size="xs" c="dimmed" mb="sm">
        {t("route.hint")}
      </Text>
      <Stack gap="xs">
        {route.map((c, i) => {
          const state = stateOf(c.model);
          const error = i > 0 ? fieldError(`fallbacks.${i - 1}.model`) : undefined;
          return (
            <Paper key={c.model} withBorder p="xs" data-testid={`route-candidate-${i}`} data-model={c.model}>
              <Group justify="space-between" wrap="nowrap">
                <Group gap="xs" wrap="nowrap">
                  <Badge variant="light" color="gray" size="sm">
                    {i + 1}
                  </Badge>
                  <Text size="sm" fw={i === 0 ? 600 : 400}>
                    {c.model}
                  </Text>
                  {state?.cloud && (
                    <Badge size="xs" variant="outline">
                      {t("route.cloud")}
                    </Badge>
                  )}
                  {state && (
                    <Tooltip label={state.detail ?? t(`route.status.${state.status}`)} multiline maw={360}>
                      <Badge
                        size="sm"
                        color={STATUS_COLOR[state.status]}
                        variant="dot"
                        data-testid={`route-state-${i}`}
                        data-status={state.status}
                      >
                        {t(`route.status.${state.status}`)}
                        {state.retry_at ? ` · ${new Date(state.retry_at).toLocaleTimeString()}` : ""}
                      </Badge>
                    </Tooltip>
                  )}
                </Group>
                <Group gap={4} wrap="nowrap">
                  <ActionIcon
                    variant="subtle"
                    aria-label={t("route.up")}
                    data-testid={`route-up-${i}`}
                    disabled={i === 0}
                    onClick={() => move(i, -1)}
                  >
                    <IconArrowUp size={16} />
                  </ActionIcon>
                  <ActionIcon
                    variant="subtle"
                    aria-label={t("route.down")}
                    data-testid={`route-down-${i}`}
                    disabled={i === route.length - 1}
                    onClick={() => move(i, 1)}
                  >
                    <IconArrowDown size={16} />
                  </ActionIcon>
                  <ActionIcon
                    variant="subtle"
                    color="red"
                    aria-label={t("route.remove")}
                    data-testid={`route-remove-${i}`}
                    disabled={route.length === 1}
                    onClick={() => set(route.filter((_, j) => j !== i))}
                  >
                    <IconTrash size={16} />
                  </ActionIcon>
                </Group>
              </Group>
              {error && (
                <Text size="xs" c="red" mt={4}>
                  {error}
                </Text>
              )}
              {i > 0 && (
                <Group gap="sm" mt="xs" align="end">
                  <Switch
                    size="xs"
                    data-testid={`route-own-params-${i}`}
                    label={t("route.ownParams")}
                    checked={c.params !== null}
                    onChange={(e) => {
                      const next = [...route];
                      next[i] = { ...c, params: e.currentTarget.checked ? { ...params } : null };
                      set(next);
                    }}
                  />
                  {c.params && (
                    <>
                      <NumberInput
                        size="xs"
                        w={110}
                        label={t("params.temperature")}
                        data-testid={`route-temperature-${i}`}
                        min={0}
                        max={2}
                        step={0.1}
                        decimalScale={2}
                        value={c.params.temperature ?? undefined}
                        onChange={(v) => {
                          if (typeof v !== "number") return;
                          const next = [...route];
                          next[i] = { ...c, params: { ...c.params!, temperature: v } };
                          set(next);
                        }}
                      />
                      <NumberInput
                        size="xs"
                        w={110}
                        label={t("params.max_tokens")}
                        data-testid={`route-maxtokens-${i}`}
                        min={1}
                        max={131072}
                        allowDecimal={false}
                        value={c.params.max_tokens ?? undefined}
                        onChange={(v) => {
                          if (typeof v !== "number") return;
                          const next = [...route];
                          next[i] = { ...c, params: { ...c.params!, max_tokens: v } };
                          set(next);
                        }}
                      />
                    </>
                  )}
                </Group>
              )}
            </Paper>
          );
        })}
        <Group gap="xs" align="end">
          <Select
            data-testid={`route-add-select-${id}`}
            placeholder={t("route.addPlaceholder")}
            data={choices.map((m) => ({ value: m.id, label: m.id, disabled: !m.available }))}
            value={adding}
            onChange={setAdding}
            searchable
            w={320}
            size="sm"
          />
          <Button
            data-testid={`route-add-button-${id}`}
            size="sm"
            variant="light"
            leftSection={<IconPlus size={14} />}
            disabled={!adding}
            onClick={() => {
              if (!adding) return;
              set([...route, { model: adding, params: null }]);
              setAdding(null);
            }}
          >
            {t("route.add")}
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}
