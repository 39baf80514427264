import { Group, NumberInput, Paper, Switch, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";

export interface CacheValue {
  cache_ttl_s: number | null;
  cache_random: boolean;
}

/** The use case's response cache: off, or how long exact repeats are answered from it. */
export function CacheSettings({
  useCaseId,
  value,
  onChange,
  error,
}: {
  useCaseId: string;
  value: CacheValue;
  onChange: (value: CacheValue) => void;
  error?: string;
}) {
  const { t } = useTranslation();
  const on = value.cache_ttl_s != null;
  return (
    <Paper withBorder p="md" data-testid={`cache-settings-${useCaseId}`}>
      <Group justify="space-between" mb={4}>
        <Title order={5}>{t("cache.title")}</Title>
        <Switch
          data-testid={`cache-toggle-${useCaseId}`}
          label={t("cache.on")}
          checked={on}
          onChange={(e) => onChange({ ...value, cache_ttl_s: e.currentTarget.checked ? 3600 : null })}
        />
      </Group>
      <Text size="xs" c="dimmed">
        {t("cache.hint")}
      </Text>
      {on && (
        <Group mt="sm" align="end">
          <NumberInput
            data-testid={`cache-ttl-${useCaseId}`}
            label={t("cache.ttl")}
            suffix=" s"
            min={1}
            max={604800}
            allowDecimal={false}
            w={180}
            value={value.cache_ttl_s ?? ""}
            onChange={(v) => typeof v === "number" && onChange({ ...value, cache_ttl_s: v })}
            error={error}
          />
          <Switch
            data-testid={`cache-random-${useCaseId}`}
            label={t("cache.random")}
            checked={value.cache_random}
            onChange={(e) => onChange({ ...value, cache_random: e.currentTarget.checked })}
            mb={6}
          />
        </Group>
      )}
    </Paper>
  );
}
