import { Button, Group, NumberInput, Paper, SimpleGrid, Slider, Stack, Switch, TagsInput, Text } from "@mantine/core";
import { IconRestore } from "@tabler/icons-react";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { SamplingParams } from "../../../bindings";
import { PARAM_SPECS, type ParamErrors } from "../api/params";

export interface ParametersPanelProps {
  useCaseId: string;
  /** What the sliders show: the custom parameters when on, else the defaults (read-only). */
  params: SamplingParams;
  useCustom: boolean;
  errors: ParamErrors;
  onChange: (params: SamplingParams) => void;
  onToggleCustom: (on: boolean) => void;
  onReset: () => void;
}

/** Sliders and numeric inputs for one use case's sampling parameters. */
export function ParametersPanel({ useCaseId, params, useCustom, errors, onChange, onToggleCustom, onReset }: ParametersPanelProps) {
  const { t } = useTranslation();
  const set = <K extends keyof SamplingParams>(key: K, value: SamplingParams[K]) => onChange({ ...params, [key]: value });
  // What is being typed ("1.", "-"), kept until it is a number, so partial input is not lost.
  const [typing, setTyping] = useState<Partial<Record<string, string>>>({});
  useEffect(() => setTyping({}), [useCaseId, useCustom]);

  return (
    <Paper withBorder p="md" data-testid={`parameters-panel-${useCaseId}`}>
      <Group justify="space-between" mb="sm">
        <Switch
          data-testid={`use-custom-params-toggle-${useCaseId}`}
          label={t("useCasesPage.useCustom")}
          checked={useCustom}
          onChange={(e) => onToggleCustom(e.currentTarget.checked)}
        />
        <Button
          data-testid={`reset-defaults-button-${useCaseId}`}
          variant="subtle"
          size="xs"
          leftSection={<IconRestore size={14} />}
          onClick={() => {
            setTyping({});
            onReset();
          }}
        >
          {t("useCasesPage.resetDefaults")}
        </Button>
      </Group>
      {!useCustom && (
        <Text size="sm" c="dimmed" mb="sm">
          {t("useCasesPage.defaultsInUse")}
        </Text>
      )}
      <Stack gap="sm">
        <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="lg">
          {PARAM_SPECS.map((spec) => {
            const value = params[spec.key] ?? 0;
            const error = errors[spec.key];
            return (
              <div key={spec.key}>
                <Group justify="space-between" gap="xs" wrap="nowrap">
                  <Text size="sm" fw={500}>
                    {t(`params.${spec.key}`)}
                  </Text>
                  <NumberInput
                    data-testid={`param-input-${spec.testId}-${useCaseId}`}
                    aria-label={t(`params.${spec.key}`)}
                    value={typing[spec.key] ?? (Number.isFinite(value) ? value : "")}
                    onChange={(v) => {
                      setTyping((t) => ({ ...t, [spec.key]: typeof v === "string" ? v : undefined }));
                      set(spec.key, typeof v === "number" ? v : Number.NaN);
                    }}
                    min={spec.min}
                    max={spec.max}
                    step={spec.step}
                    decimalScale={spec.integer ? 0 : 2}
                    allowDecimal={!spec.integer}
                    clampBehavior="none"
                    disabled={!useCustom}
                    error={error ? t("useCasesPage.rangeError", { reason: error }) : undefined}
                    w={130}
                    size="xs"
                  />
                </Group>
                <Slider
                  data-testid={`param-slider-${spec.testId}-${useCaseId}`}
                  aria-label={t(`params.${spec.key}`)}
                  value={Number.isFinite(value) ? Math.min(Math.max(value, spec.min), spec.max) : spec.min}
                  onChange={(v) => {
                    setTyping((t) => ({ ...t, [spec.key]: undefined }));
                    set(spec.key, v);
                  }}
                  min={spec.min}
                  max={spec.max}
                  step={spec.step}
                  disabled={!useCustom}
                  label={(v) => (spec.integer ? v : v.toFixed(2))}
                  mt={4}
                />
              </div>
            );
          })}
        </SimpleGrid>
        <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="lg">
          <TagsInput
            data-testid={`param-stop-${useCaseId}`}
            label={t("params.stop")}
            description={t("useCasesPage.stopHint")}
            value={params.stop ?? []}
            onChange={(v) => set("stop", v)}
            disabled={!useCustom}
            error={errors.stop}
            maxTags={16}
          />
          <NumberInput
            data-testid={`param-seed-${useCaseId}`}
            label={t("params.seed")}
            description={t("useCasesPage.seedHint")}
            value={params.seed ?? ""}
            onChange={(v) => set("seed", typeof v === "number" ? v : null)}
            min={0}
            max={4294967295}
            allowDecimal={false}
            disabled={!useCustom}
            error={errors.seed}
          />
        </SimpleGrid>
      </Stack>
    </Paper>
  );
}
