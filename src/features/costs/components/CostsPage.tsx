import { BarChart } from "@mantine/charts";
import { Alert, Group, Paper, Progress, SegmentedControl, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { BudgetStanding, CostReport } from "../../../bindings";
import { formatMs, formatRate, formatUsd } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import { useCostReport, useLatencyPercentiles } from "../api/costs";
import { daysBetween, rangeDays, type RangeId } from "./ranges";

type Dimension = "provider" | "model" | "use_case";
const COLORS = ["blue.6", "teal.6", "orange.6", "grape.6", "red.6", "cyan.6", "lime.6", "pink.6", "indigo.6", "yellow.6"];
const MAX_SERIES = 8;

function formatCount(n: number | null, lang: string): string {
  return Math.round(n ?? 0).toLocaleString(lang);
}

/** Cost per day, one stacked bar per day, one series per provider, model or use case (the largest eight, then "other"). */
export function chartData(report: CostReport, dimension: Dimension, otherLabel: string) {
  const key = (d: CostReport["days"][number]) => (dimension === "model" ? `${d.provider}/${d.model}` : d[dimension]);
  const spend = new Map<string, number>();
  for (const d of report.days) spend.set(key(d), (spend.get(key(d)) ?? 0) + (d.cost_usd ?? 0));
  const ranked = [...spend.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const shown = new Set(ranked.slice(0, MAX_SERIES));
  const names = [...shown, ...(ranked.length > MAX_SERIES ? [otherLabel] : [])];
  const rows = new Map<string, Record<string, number | string>>();
  for (const day of daysBetween(report.from, report.to)) {
    rows.set(day, Object.fromEntries([["day", day], ...names.map((n) => [n, 0])]));
  }
  for (const d of report.days) {
    const row = rows.get(d.day);
    if (!row) continue;
    const series = shown.has(key(d)) ? key(d) : otherLabel;
    row[series] = (row[series] as number) + (d.cost_usd ?? 0);
  }
  return { data: [...rows.values()], series: names.map((name, i) => ({ name, color: COLORS[i % COLORS.length] })) };
}

function Stat({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <Paper withBorder p="sm" data-testid={testId}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600} size="lg" data-testid={`${testId}-value`}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

function BudgetBar({ b: raw }: { b: BudgetStanding }) {
  const { t } = useTranslation();
  const b = {
    ...raw,
    budget_usd: raw.budget_usd ?? 0,
    spent_usd: raw.spent_usd ?? 0,
    reserved_usd: raw.reserved_usd ?? 0,
    forecast_usd: raw.forecast_usd ?? 0,
  };
  const pct = (v: number) => (b.budget_usd > 0 ? Math.min(100, (v / b.budget_usd) * 100) : 100);
  const over = b.forecast_usd > b.budget_usd;
  return (
    <Stack gap={4} data-testid="costs-budget" data-scope={b.scope} data-id={b.id}>
      <Group justify="space-between">
        <Text size="sm" fw={500}>
          {t(`costs.scope.${b.scope}`)}: {b.name}
        </Text>
        <Text size="xs" c={over ? "red" : "dimmed"}>
          {t("costs.budgetLine", {
            spent: formatUsd(b.spent_usd),
            budget: formatUsd(b.budget_usd),
            reserved: formatUsd(b.reserved_usd),
            forecast: formatUsd(b.forecast_usd),
          })}
        </Text>
      </Group>
      <Progress.Root size="lg">
        <Progress.Section value={pct(b.spent_usd)} color={b.spent_usd >= b.budget_usd ? "red" : "blue"} />
        <Progress.Section value={Math.max(0, pct(b.spent_usd + b.reserved_usd) - pct(b.spent_usd))} color="blue.2" striped />
      </Progress.Root>
    </Stack>
  );
}

/** Where money and time went: totals, cost per day, the breakdown, budgets and the local share. */
export function CostsPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [range, setRange] = useState<RangeId>("this_month");
  const [custom, setCustom] = useState(() => rangeDays("this_month"));
  const [dimension, setDimension] = useState<Dimension>("provider");
  const days = range === "custom" ? custom : rangeDays(range);
  const validRange = /^\d{4}-\d{2}-\d{2}$/.test(days.from) && /^\d{4}-\d{2}-\d{2}$/.test(days.to) && days.from <= days.to;
  const { data: report, error } = useCostReport(days.from, days.to, validRange);
  const { data: percentiles } = useLatencyPercentiles(days.from, days.to, validRange);
  const p95Of = (b: { provider: string; model: string; use_case: string }) =>
    percentiles?.groups.find((g) => g.provider === b.provider && g.model === b.model && g.use_case === b.use_case)?.p95_latency_ms ?? null;
  const other = t("costs.other");
  const chart = useMemo(() => (report ? chartData(report, dimension, other) : null), [report, dimension, other]);
  const dayLabel = (day: string) => {
    const [y = 0, m = 1, d = 1] = day.split("-").map(Number);
    return new Date(y, m - 1, d).toLocaleDateString(lang, { month: "short", day: "numeric" });
  };
  const totals = report?.totals;
  const share = report?.local_share;
  const shareTotal = share ? share.local_requests + share.cloud_requests : 0;

  return (
    <Stack data-testid="costs-page" gap="md">
      <Group justify="space-between" align="end">
        <Title order={2}>{t("costs.title")}</Title>
        <Group align="end">
          <SegmentedControl
            data-testid="costs-range"
            value={range}
            onChange={(v) => setRange(v as RangeId)}
            data={(["this_month", "last_month", "last_7", "last_30", "custom"] as const).map((id) => ({ value: id, label: t(`costs.range.${id}`) }))}
          />
          {range === "custom" && (
            <>
              <TextInput type="date" label={t("costs.from")} value={custom.from} onChange={(e) => setCustom({ ...custom, from: e.currentTarget.value })} data-testid="costs-from" />
              <TextInput type="date" label={t("costs.to")} value={custom.to} onChange={(e) => setCustom({ ...custom, to: e.currentTarget.value })} data-testid="costs-to" error={validRange ? undefined : t("costs.badRange")} />
            </>
          )}
        </Group>
      </Group>
      {error && <Alert color="red">{errorMessage(error)}</Alert>}
      {totals && (
        <SimpleGrid cols={{ base: 2, md: 3, lg: 6 }}>
          <Stat testId="costs-total-cost" label={t("costs.cost")} value={`$${formatUsd(totals.cost_usd)}`} />
          <Stat testId="costs-total-requests" label={t("costs.requests")} value={formatCount(totals.requests, lang)} hint={t("costs.errorsHint", { errors: totals.errors, cancelled: totals.cancelled })} />
          <Stat testId="costs-total-input" label={t("costs.inputTokens")} value={formatCount(totals.input_tokens, lang)} hint={t("costs.cachedHint", { n: formatCount(totals.cached_input_tokens, lang) })} />
          <Stat testId="costs-total-output" label={t("costs.outputTokens")} value={formatCount(totals.output_tokens, lang)} hint={t("costs.reasoningHint", { n: formatCount(totals.reasoning_tokens, lang) })} />
          <Stat testId="costs-total-cache" label={t("costs.cacheHits")} value={formatCount(totals.cache_hits, lang)} hint={t("costs.tokensSavedHint", { n: formatCount(totals.tokens_saved, lang) })} />
          <Stat testId="costs-total-avoided" label={t("costs.avoided")} value={`$${formatUsd(totals.cost_avoided_usd)}`} hint={t("costs.avoidedHint")} />
        </SimpleGrid>
      )}
      {chart && (
        <Paper withBorder p="md">
          <Group justify="space-between" mb="sm">
            <Text fw={500}>{t("costs.perDay")}</Text>
            <SegmentedControl
              size="xs"
              data-testid="costs-dimension"
              value={dimension}
              onChange={(v) => setDimension(v as Dimension)}
              data={(["provider", "model", "use_case"] as const).map((d) => ({ value: d, label: t(`costs.by.${d}`) }))}
            />
          </Group>
          <div data-testid="costs-chart" data-series={chart.series.map((s) => s.name).join(",")} data-days={chart.data.length}>
            <BarChart
              h={260}
              data={chart.data}
              dataKey="day"
              type="stacked"
              series={chart.series}
              withLegend
              xAxisProps={{ tickFormatter: dayLabel }}
              valueFormatter={(v) => `$${formatUsd(v)}`}
              tooltipAnimationDuration={0}
              barProps={{ isAnimationActive: false }}
            />
          </div>
        </Paper>
      )}
      {report && (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <Paper withBorder p="md" data-testid="costs-budgets">
            <Text fw={500} mb="xs">
              {t("costs.budgets", { month: report.budget_month })}
            </Text>
            {report.budgets.length === 0 ? (
              <Text size="sm" c="dimmed">
                {t("costs.noBudgets")}
              </Text>
            ) : (
              <Stack gap="sm">
                {report.budgets.map((b) => (
                  <BudgetBar key={`${b.scope}:${b.id}`} b={b} />
                ))}
              </Stack>
            )}
          </Paper>
          <Paper withBorder p="md" data-testid="costs-local-share">
            <Text fw={500} mb="xs">
              {t("costs.localShare")}
            </Text>
            <Progress.Root size="xl">
              <Progress.Section value={shareTotal ? (share!.local_requests / shareTotal) * 100 : 0} color="teal">
                <Progress.Label>{t("costs.local")}</Progress.Label>
              </Progress.Section>
              <Progress.Section value={shareTotal ? (share!.cloud_requests / shareTotal) * 100 : 0} color="blue">
                <Progress.Label>{t("costs.cloud")}</Progress.Label>
              </Progress.Section>
            </Progress.Root>
            <Text size="sm" mt="xs" data-testid="costs-local-share-text">
              {t("costs.shareLine", {
                local: formatCount(share?.local_requests ?? 0, lang),
                cloud: formatCount(share?.cloud_requests ?? 0, lang),
                cost: formatUsd(share?.cloud_cost_usd ?? 0),
                avoided: formatUsd(share?.cost_avoided_usd ?? 0),
              })}
            </Text>
          </Paper>
        </SimpleGrid>
      )}
      {report && (
        <Paper withBorder p="md">
          <Text fw={500} mb="xs">
            {t("costs.breakdown")}
          </Text>
          {report.breakdown.length === 0 ? (
            <Text c="dimmed" data-testid="costs-empty">
              {t("costs.empty")}
            </Text>
          ) : (
            <Table.ScrollContainer minWidth={900}>
              <Table data-testid="costs-breakdown" striped>
                <Table.Thead>
                  <Table.Tr>
                    {["provider", "model", "useCase", "requests", "tokens", "cost", "avgLatency", "p95Latency", "ttft", "tps", "errorRate"].map((c) => (
                      <Table.Th key={c}>{t(`costs.columns.${c}`)}</Table.Th>
                    ))}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {report.breakdown.map((b) => (
                    <Table.Tr key={`${b.provider}/${b.model}/${b.use_case}`} data-testid="costs-breakdown-row" data-provider={b.provider} data-model={b.model} data-use-case={b.use_case}>
                      <Table.Td>{b.provider}</Table.Td>
                      <Table.Td>{b.model}</Table.Td>
                      <Table.Td>{t(`useCases.${b.use_case}`, b.use_case)}</Table.Td>
                      <Table.Td data-testid="costs-row-requests">{formatCount(b.totals.requests, lang)}</Table.Td>
                      <Table.Td>
                        {formatCount(b.totals.input_tokens, lang)} / {formatCount(b.totals.output_tokens, lang)}
                      </Table.Td>
                      <Table.Td>${formatUsd(b.totals.cost_usd)}</Table.Td>
                      <Table.Td>{formatMs(b.avg_latency_ms)}</Table.Td>
                      <Table.Td data-testid="costs-row-p95">{percentiles && !percentiles.complete ? t("costs.p95TooMany") : formatMs(p95Of(b))}</Table.Td>
                      <Table.Td>{formatMs(b.avg_ttft_ms)}</Table.Td>
                      <Table.Td>{formatRate(b.avg_tokens_per_second)}</Table.Td>
                      <Table.Td>{((b.error_rate ?? 0) * 100).toFixed(1)} %</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </Paper>
      )}
    </Stack>
  );
}
