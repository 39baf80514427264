import { Alert, Badge, Code, Drawer, Group, Loader, Paper, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { formatMs, formatRate, formatUsd } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import { useRequestDetail } from "../api/listRequests";
import { RouteSteps } from "./RouteSteps";

function Field({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" style={{ wordBreak: "break-all" }}>
        {value}
      </Text>
    </div>
  );
}

/** Everything the ledger holds about one request. */
export function RequestDrawer({ id, onClose }: { id: string | null; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const { data, error, isLoading } = useRequestDetail(id);
  const r = data?.record;
  return (
    <Drawer opened={id != null} onClose={onClose} position="right" size="lg" title={t("history.detail.title")}>
      <div data-testid="request-drawer">
        {isLoading && <Loader size="sm" />}
        {error && <Alert color="red">{errorMessage(error)}</Alert>}
        {r && data && (
          <Stack gap="md">
            <Group gap="xs">
              <Code data-testid="request-drawer-id">{r.id}</Code>
              <Badge variant="light">{t(`history.status.${r.status}`)}</Badge>
              {r.cache_hit && <Badge color="grape" variant="light">{t("history.cacheHit", { tokens: r.tokens_saved })}</Badge>}
            </Group>
            <SimpleGrid cols={3}>
              <Field label={t("history.columns.time")} value={new Date(r.created_at).toLocaleString(i18n.language)} />
              <Field label={t("history.columns.useCase")} value={t(`useCases.${r.use_case}`, r.use_case)} />
              <Field label={t("history.columns.model")} value={`${r.provider}/${r.model}`} />
              <Field label={t("history.columns.caller")} value={r.caller ?? "window"} />
              <Field label={t("history.detail.placement")} value={t(r.local ? "costs.local" : "costs.cloud")} />
              <Field label={t("history.columns.cost")} value={`$${formatUsd(r.cost_usd)}`} />
              <Field label={t("history.detail.inputTokens")} value={`${r.input_tokens} (${t("history.detail.cached", { n: r.cached_input_tokens })})`} />
              <Field label={t("history.detail.outputTokens")} value={`${r.output_tokens} (${t("history.detail.reasoning", { n: r.reasoning_tokens })})`} />
              <Field label={t("history.detail.images")} value={`${r.image_count} · ${r.image_tokens}`} />
              <Field label={t("history.columns.latency")} value={formatMs(r.latency_ms)} />
              <Field label={t("history.columns.ttft")} value={formatMs(r.ttft_ms)} />
              <Field label={t("history.detail.tps")} value={formatRate(r.tokens_per_second)} />
              {r.local && (r.cost_avoided_usd ?? 0) > 0 && <Field label={t("costs.avoided")} value={`$${formatUsd(r.cost_avoided_usd ?? 0)}`} />}
            </SimpleGrid>
            {r.error && (
              <Alert color="red" title={t("history.columns.error")} data-testid="request-drawer-error">
                {r.error}
              </Alert>
            )}
            <div>
              <Title order={6}>{t("history.columns.params")}</Title>
              <Code block data-testid="request-drawer-params">
                {r.params ? JSON.stringify(r.params, null, 2) : "–"}
              </Code>
            </div>
            <div>
              <Title order={6} mb={4}>
                {t("history.detail.route")}
              </Title>
              <RouteSteps route={r.route ?? []} detailed />
            </div>
            <div>
              <Title order={6} mb={4}>
                {t("history.detail.text")}
              </Title>
              {data.text ? (
                <Stack gap="xs" data-testid="request-drawer-text">
                  {data.text.prompt.map((turn, i) => (
                    <Paper key={i} withBorder p="xs">
                      <Text size="xs" c="dimmed">
                        {turn.role}
                      </Text>
                      <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
                        {turn.content}
                      </Text>
                    </Paper>
                  ))}
                  <Paper withBorder p="xs" bg="var(--mantine-color-default-hover)">
                    <Text size="xs" c="dimmed">
                      {t("history.detail.answer")}
                    </Text>
                    <Text size="sm" style={{ whiteSpace: "pre-wrap" }} data-testid="request-drawer-answer">
                      {data.text.response || "–"}
                    </Text>
                  </Paper>
                  <Text size="xs" c="dimmed">
                    {t("history.detail.deleteAfter", { at: new Date(data.text.delete_after).toLocaleString(i18n.language) })}
                  </Text>
                </Stack>
              ) : (
                <Text size="sm" c="dimmed" data-testid="request-drawer-no-text">
                  {t("history.detail.noText")}
                </Text>
              )}
            </div>
          </Stack>
        )}
      </div>
    </Drawer>
  );
}
