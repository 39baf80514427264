import { Alert, Badge, Button, Group, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconChevronLeft, IconChevronRight, IconRefresh } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { ExportFormat, LedgerFilter, RequestStatus } from "../../../bindings";
import { formatMs, formatUsd } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import { EMPTY_FILTER, exportLedger, useLedgerCount, useLedgerPage } from "../api/listRequests";
import { HistoryFilters } from "./HistoryFilters";
import { RequestDrawer } from "./RequestDrawer";
import { RouteSteps } from "./RouteSteps";

const STATUS_COLOR: Record<RequestStatus, string> = { ok: "teal", error: "red", cancelled: "yellow" };

/** The whole ledger, newest first, a page at a time, filtered, exportable. */
export function HistoryPage() {
  const { t, i18n } = useTranslation();
  const [filter, setFilter] = useState<LedgerFilter>(EMPTY_FILTER);
  // The pages up to this one (cursor and how many rows precede it); the last is this page.
  const [cursors, setCursors] = useState<{ cursor: string | null; offset: number }[]>([{ cursor: null, offset: 0 }]);
  const here = cursors[cursors.length - 1] ?? { cursor: null, offset: 0 };
  const cursor = here.cursor;
  const { data, error, refetch, isFetching } = useLedgerPage(filter, cursor);
  const { data: total = null } = useLedgerCount(filter);
  const [selected, setSelected] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const rows = data?.rows ?? [];
  const shownTotal = total;
  const first = here.offset + 1;

  const changeFilter = (f: LedgerFilter) => {
    setFilter(f);
    setCursors([{ cursor: null, offset: 0 }]);
  };
  const doExport = async (format: ExportFormat) => {
    setExporting(true);
    try {
      const done = await exportLedger(filter, format);
      if (done) {
        notifications.show({ color: "teal", message: t("history.export.done", { rows: (done.rows ?? 0).toLocaleString(i18n.language), path: done.path }) });
      }
    } catch (e) {
      notifications.show({ color: "red", title: t("history.export.failed"), message: errorMessage(e) });
    } finally {
      setExporting(false);
    }
  };

  return (
    <div data-testid="history-page">
      <Group justify="space-between" mb="md">
        <Title order={2}>{t("history.title")}</Title>
        <Button variant="light" leftSection={<IconRefresh size={16} />} onClick={() => void refetch()} loading={isFetching} data-testid="history-refresh">
          {t("history.refresh")}
        </Button>
      </Group>
      <HistoryFilters filter={filter} onChange={changeFilter} onExport={(f) => void doExport(f)} exporting={exporting} />
      {error && <Alert color="red">{errorMessage(error)}</Alert>}
      {rows.length === 0 && !error ? (
        <Text c="dimmed" data-testid="history-empty">
          {filter === EMPTY_FILTER ? t("history.empty") : t("history.noMatch")}
        </Text>
      ) : (
        <>
          <Table data-testid="history-table" striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                {["time", "useCase", "model", "route", "tokens", "cost", "latency", "ttft", "params", "status", "error"].map((c) => (
                  <Table.Th key={c}>{t(`history.columns.${c}`)}</Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row.id} data-testid="history-row" data-status={row.status} data-id={row.id} onClick={() => setSelected(row.id)} style={{ cursor: "pointer" }}>
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
          <Group justify="space-between" mt="sm">
            <Text size="sm" c="dimmed" data-testid="history-range">
              {shownTotal != null
                ? t("history.pageOf", { first, last: first + rows.length - 1, total: shownTotal.toLocaleString(i18n.language) })
                : t("history.page", { first, last: first + rows.length - 1 })}
            </Text>
            <Group gap="xs">
              <Button size="xs" variant="default" leftSection={<IconChevronLeft size={14} />} disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))} data-testid="history-prev">
                {t("history.prev")}
              </Button>
              <Button size="xs" variant="default" rightSection={<IconChevronRight size={14} />} disabled={!data?.next_cursor} onClick={() => data?.next_cursor && setCursors([...cursors, { cursor: data.next_cursor, offset: here.offset + rows.length }])} data-testid="history-next">
                {t("history.next")}
              </Button>
            </Group>
          </Group>
        </>
      )}
      <RequestDrawer id={selected} onClose={() => setSelected(null)} />
    </div>
  );
}
