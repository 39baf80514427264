import { Alert, Badge, Button, Group, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { IconRefresh } from "@tabler/icons-react";
import { useTranslation } from "react-i18next";
import type { Attempt, AttemptOutcome, RequestStatus } from "../../../bindings";
import { formatMs, formatUsd } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import { useRequestHistory } from "../api/listRequests";

const STATUS_COLOR: Record<RequestStatus, string> = { ok: "teal", error: "red", cancelled: "yellow" };
const OUTCOME_COLOR: Record<AttemptOutcome, string> = { answered: "teal", failed: "red", skipped: "gray", cancelled: "yellow" };

/** The candidates a request tried, in order, each with why it did not answer. */
function RouteSteps({ route }: { route: Attempt[] }) {
  const { t } = useTranslation();
  if (route.length <= 1) return <Text size="xs" c="dimmed">{route.length === 1 ? t("history.direct") : "–"}</Text>;
  return (
    <Stack gap={2}>
      {route.map((a, i) => (
        <Tooltip key={i} label={a.message ?? t(`history.outcome.${a.outcome}`)} multiline maw={420} disabled={!a.message}>
          <Group gap={4} wrap="nowrap" data-testid="history-route-step" data-outcome={a.outcome} data-class={a.class ?? ""}>
            <Badge size="xs" variant="light" color={OUTCOME_COLOR[a.outcome]} style={{ overflow: "visible" }}>
              {t(`history.outcome.${a.outcome}`)}
            </Badge>
            <Text size="xs" style={{ whiteSpace: "nowrap" }}>
              {a.candidate}
              {a.class ? ` · ${t(`routing.class.${a.class}`)}` : ""}
            </Text>
          </Group>
        </Tooltip>
      ))}
    </Stack>
  );
}

/** The most recent requests from the ledger, newest first. */
export function HistoryPage() {
  const { t, i18n } = useTranslation();
  const { data = [], error, refetch, isFetching } = useRequestHistory();
  return (
    <div data-testid="history-page">
      <Group justify="space-between" mb="md">
        <Title order={2}>{t("history.title")}</Title>
        <Button variant="light" leftSection={<IconRefresh size={16} />} onClick={() => void refetch()} loading={isFetching}>
          {t("history.refresh")}
        </Button>
      </Group>
      {error && <Alert color="red">{errorMessage(error)}</Alert>}
      {data.length === 0 && !error ? (
        <Text c="dimmed" data-testid="history-empty">
          {t("history.empty")}
        </Text>
      ) : (
        <Table data-testid="history-table" striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("history.columns.time")}</Table.Th>
              <Table.Th>{t("history.columns.useCase")}</Table.Th>
              <Table.Th>{t("history.columns.model")}</Table.Th>
              <Table.Th>{t("history.columns.route")}</Table.Th>
              <Table.Th>{t("history.columns.tokens")}</Table.Th>
              <Table.Th>{t("history.columns.cost")}</Table.Th>
              <Table.Th>{t("history.columns.latency")}</Table.Th>
              <Table.Th>{t("history.columns.ttft")}</Table.Th>
              <Table.Th>{t("history.columns.params")}</Table.Th>
              <Table.Th>{t("history.columns.status")}</Table.Th>
              <Table.Th>{t("history.columns.error")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {data.map((row) => (
              <Table.Tr key={row.id} data-testid="history-row" data-status={row.status}>
                <Table.Td style={{ whiteSpace: "nowrap" }}>{new Date(row.created_at).toLocaleString(i18n.language)}</Table.Td>
                <Table.Td>{t(`useCases.${row.use_case}`, row.use_case)}</Table.Td>
                <Table.Td>
                  {row.provider}/{row.model}
                </Table.Td>
                <Table.Td data-testid="history-route">
                  {row.cache_hit ? (
                    <Badge size="xs" variant="light" color="grape" data-testid="history-cache-hit" style={{ overflow: "visible" }}>
                      {t("history.cacheHit", { tokens: row.tokens_saved ?? 0 })}
                    </Badge>
                  ) : (
                    <RouteSteps route={row.route ?? []} />
                  )}
                </Table.Td>
                <Table.Td>
                  {row.input_tokens} / {row.output_tokens}
                </Table.Td>
                <Table.Td>{formatUsd(row.cost_usd)}</Table.Td>
                <Table.Td>{formatMs(row.latency_ms)}</Table.Td>
                <Table.Td>{formatMs(row.ttft_ms)}</Table.Td>
                <Table.Td data-testid="history-params" style={{ whiteSpace: "nowrap" }}>
                  {row.params ? (
                    <Text size="xs">
                      T {row.params.temperature} · k {row.params.top_k} · p {row.params.top_p} · max {row.params.max_tokens}
                    </Text>
                  ) : (
                    "–"
                  )}
                </Table.Td>
                <Table.Td style={{ whiteSpace: "nowrap" }}>
                  <Badge color={STATUS_COLOR[row.status]} variant="light" style={{ overflow: "visible" }}>
                    {t(`history.status.${row.status}`)}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" c="dimmed" lineClamp={2}>
                    {row.error ?? ""}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </div>
  );
}
