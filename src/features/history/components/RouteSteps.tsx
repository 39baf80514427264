import { Badge, Group, Stack, Text, Tooltip } from "@mantine/core";
import { useTranslation } from "react-i18next";
import type { Attempt, AttemptOutcome } from "../../../bindings";
import { formatMs } from "../../../lib/format";

const OUTCOME_COLOR: Record<AttemptOutcome, string> = { answered: "teal", failed: "red", skipped: "gray", cancelled: "yellow" };

/** The candidates a request tried, in order, each with why it did not answer. */
export function RouteSteps({ route, detailed = false }: { route: Attempt[]; detailed?: boolean }) {
  const { t } = useTranslation();
  if (route.length <= 1 && !detailed) return <Text size="xs" c="dimmed">{route.length === 1 ? t("history.direct") : "–"}</Text>;
  return (
    <Stack gap={2}>
      {route.map((a, i) => (
        <Tooltip key={i} label={a.message ?? t(`history.outcome.${a.outcome}`)} multiline maw={420} disabled={!a.message || detailed}>
          <Stack gap={0}>
            <Group gap={4} wrap="nowrap" data-testid="history-route-step" data-outcome={a.outcome} data-class={a.class ?? ""}>
              <Badge size="xs" variant="light" color={OUTCOME_COLOR[a.outcome]} style={{ overflow: "visible" }}>
                {t(`history.outcome.${a.outcome}`)}
              </Badge>
              <Text size="xs" style={{ whiteSpace: "nowrap" }}>
                {a.candidate}
                {a.class ? ` · ${t(`routing.class.${a.class}`)}` : ""}
                {detailed ? ` · ${t("history.tries", { count: a.tries })} · ${formatMs(a.duration_ms)}` : ""}
              </Text>
            </Group>
            {detailed && a.message && (
              <Text size="xs" c="dimmed" pl="md">
                {a.message}
              </Text>
            )}
          </Stack>
        </Tooltip>
      ))}
    </Stack>
  );
}
