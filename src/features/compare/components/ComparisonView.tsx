import { BarChart } from "@mantine/charts";
import { Badge, Button, Code, Group, Paper, ScrollArea, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconDownload } from "@tabler/icons-react";
import { useTranslation } from "react-i18next";
import type { ComparisonReport } from "../../../bindings";
import { formatMs, formatRate, formatUsd } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import { exportComparison } from "../api/compare";

/** A comparison side by side: the figures per candidate, their charts, and every answer. */
export function ComparisonView({ report }: { report: ComparisonReport }) {
  const { t, i18n } = useTranslation();
  const chart = report.results.map((r) => ({
    candidate: r.candidate,
    p50: r.summary.p50_latency_ms ?? 0,
    p95: r.summary.p95_latency_ms ?? 0,
    tps: r.summary.avg_tokens_per_second ?? 0,
    cost: r.summary.cost_per_1000_usd ?? 0,
  }));
  const doExport = async () => {
    try {
      const files = await exportComparison(report.id);
      if (files) notifications.show({ color: "teal", message: t("compare.exported", { path: files[files.length - 1] }) });
    } catch (e) {
      notifications.show({ color: "red", message: errorMessage(e) });
    }
  };
  return (
    <Stack data-testid="comparison-view" data-id={report.id}>
      <Group justify="space-between">
        <div>
          <Title order={4}>{report.name}</Title>
          <Text size="xs" c="dimmed">
            {t("compare.ranAt", { when: new Date(report.created_at).toLocaleString(i18n.language), useCase: report.use_case, prompts: report.prompts.length })}
          </Text>
        </div>
        <Button size="xs" variant="light" leftSection={<IconDownload size={14} />} onClick={() => void doExport()} data-testid="comparison-export">
          {t("compare.export")}
        </Button>
      </Group>
      <Table data-testid="comparison-summary" striped>
        <Table.Thead>
          <Table.Tr>
            {["candidate", "runs", "failures", "p50", "p95", "ttft", "tps", "cost"].map((c) => (
              <Table.Th key={c}>{t(`compare.columns.${c}`)}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {report.results.map((r) => (
            <Table.Tr key={r.candidate} data-testid="comparison-row" data-candidate={r.candidate} data-failures={r.summary.failures}>
              <Table.Td>{r.candidate}</Table.Td>
              <Table.Td>{r.summary.runs}</Table.Td>
              <Table.Td>{r.summary.failures}</Table.Td>
              <Table.Td>{formatMs(r.summary.p50_latency_ms)}</Table.Td>
              <Table.Td>{formatMs(r.summary.p95_latency_ms)}</Table.Td>
              <Table.Td>{formatMs(r.summary.avg_ttft_ms)}</Table.Td>
              <Table.Td>{formatRate(r.summary.avg_tokens_per_second)}</Table.Td>
              <Table.Td>${formatUsd(r.summary.cost_per_1000_usd)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Paper withBorder p="xs">
          <Text size="xs" fw={500}>{t("compare.chartLatency")}</Text>
          <BarChart h={180} data={chart} dataKey="candidate" series={[{ name: "p50", color: "blue.6" }, { name: "p95", color: "blue.3" }]} valueFormatter={(v) => formatMs(v)} barProps={{ isAnimationActive: false }} />
        </Paper>
        <Paper withBorder p="xs">
          <Text size="xs" fw={500}>{t("compare.chartTps")}</Text>
          <BarChart h={180} data={chart} dataKey="candidate" series={[{ name: "tps", color: "teal.6", label: t("compare.columns.tps") }]} barProps={{ isAnimationActive: false }} />
        </Paper>
        <Paper withBorder p="xs">
          <Text size="xs" fw={500}>{t("compare.chartCost")}</Text>
          <BarChart h={180} data={chart} dataKey="candidate" series={[{ name: "cost", color: "orange.6", label: t("compare.columns.cost") }]} valueFormatter={(v) => `$${formatUsd(v)}`} barProps={{ isAnimationActive: false }} />
        </Paper>
      </SimpleGrid>
      <Title order={5}>{t("compare.answers")}</Title>
      {report.prompts.map((prompt, i) => (
        <Paper key={i} withBorder p="sm" data-testid="comparison-prompt">
          <Code block mb="xs">
            {prompt}
          </Code>
          <SimpleGrid cols={{ base: 1, md: Math.min(report.results.length, 4) }}>
            {report.results.map((r) => {
              const run = r.runs.find((x) => x.prompt_index === i);
              return (
                <div key={r.candidate} data-testid="comparison-answer" data-candidate={r.candidate} data-ok={run?.ok ?? false}>
                  <Group gap={4} mb={4}>
                    <Text size="xs" fw={600}>
                      {r.candidate}
                    </Text>
                    {run && <Badge size="xs" variant="light" color={run.ok ? "teal" : "red"}>{run.ok ? formatMs(run.latency_ms) : t("compare.failed")}</Badge>}
                  </Group>
                  <ScrollArea.Autosize mah={160}>
                    <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
                      {run ? (run.ok ? run.answer : run.error) : t("compare.notRun")}
                    </Text>
                  </ScrollArea.Autosize>
                </div>
              );
            })}
          </SimpleGrid>
        </Paper>
      ))}
    </Stack>
  );
}
