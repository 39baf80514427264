import { Alert, Group, NumberInput, Paper, Switch, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";

/** Whether the use case keeps its requests' prompts and answers, and for how many days. Off by default. */
export function TextRetention({
  useCaseId,
  days,
  onChange,
  error,
}: {
  useCaseId: string;
  days: number | null;
  onChange: (days: number | null) => void;
  error?: string;
}) {
  const { t } = useTranslation();
  const on = days != null;
  return (
    <Paper withBorder p="md" data-testid={`text-retention-${useCaseId}`}>
      <Group justify="space-between" mb={4}>
        <Title order={5}>{t("retention.title")}</Title>
        <Switch
          data-testid={`keep-text-toggle-${useCaseId}`}
          label={t("retention.on")}
          checked={on}
          onChange={(e) => onChange(e.currentTarget.checked ? 30 : null)}
        />
      </Group>
      <Text size="xs" c="dimmed">
        {t("retention.hint")}
      </Text>
      {on && (
        <>
          <NumberInput
            mt="sm"
            data-testid={`keep-text-days-${useCaseId}`}
            label={t("retention.days")}
            min={1}
            max={3650}
            allowDecimal={false}
            w={180}
            value={days ?? ""}
            // An emptied field keeps the last days: only the switch turns keeping off.
            onChange={(v) => typeof v === "number" && onChange(v)}
            error={error}
          />
          <Alert mt="sm" color="yellow" data-testid={`keep-text-note-${useCaseId}`}>
            {t("retention.note", { days })}
          </Alert>
        </>
      )}
    </Paper>
  );
}
