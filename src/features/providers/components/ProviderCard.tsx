import {
  Accordion,
  ActionIcon,
  Badge,
  Button,
  Card,
  Checkbox,
  Code,
  Group,
  NumberInput,
  Progress,
  ScrollArea,
  Stack,
  Switch,
  Text,
  TextInput,
  Tooltip,
} from "@mantine/core";
import { IconEye, IconPlugConnected, IconPlus, IconRefresh, IconTrash } from "@tabler/icons-react";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ProviderLimits, ProviderView } from "../../../bindings";

/** Every limit at its default. */
const NO_LIMITS: ProviderLimits = {
  connect_timeout_s: null,
  first_token_timeout_s: null,
  idle_timeout_s: null,
  total_timeout_s: null,
  requests_per_minute: null,
  tokens_per_minute: null,
  probe_interval_s: null,
};
import { errorMessage } from "../../../lib/ipc";
import {
  baseUrlProblem,
  revealKey,
  useDeleteProvider,
  useRefreshModels,
  useTestProvider,
  type ProviderDraft,
} from "../api/providers";

/** Dollars as an admin reads a budget. */
export function money(usd: number): string {
  return usd > 0 && usd < 0.01 ? "<$0.01" : `$${usd.toFixed(2)}`;
}

/** How long a revealed key stays on screen. */
const REVEAL_MS = 10_000;

interface Props {
  view: ProviderView;
  draft: ProviderDraft;
  dirty: boolean;
  onChange: (draft: ProviderDraft) => void;
  /** A field error from the last save, keyed by field name (`base_url`, `api_key`, ...). */
  serverError: { field: string; message: string } | null;
}

/** One provider: enabled, endpoint, keys, budget, connection test and models. */
export function ProviderCard({ view, draft, dirty, onChange, serverError }: Props) {
  const { t } = useTranslation();
  const id = view.settings.id;
  const s = draft.settings;
  const test = useTestProvider();
  const remove = useDeleteProvider();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const refresh = useRefreshModels();
  const [revealed, setRevealed] = useState<string | null>(null);
  const [revealError, setRevealError] = useState<string | null>(null);
  const [showTyped, setShowTyped] = useState(false);

  useEffect(() => {
    if (revealed == null) return;
    const timer = setTimeout(() => setRevealed(null), REVEAL_MS);
    return () => clearTimeout(timer);
  }, [revealed]);

  const set = (patch: Partial<ProviderDraft["settings"]>) => onChange({ ...draft, settings: { ...s, ...patch } });
  const keptKeys = view.keys.filter((k) => !draft.removeKeys.includes(k.id));
  const first = keptKeys[0];
  const urlProblem = baseUrlProblem(s.base_url, view.is_cloud, s.allow_http, s.enabled);
  const fieldError = (field: string) => (serverError?.field === field ? serverError.message : undefined);
  const budget = s.monthly_budget_usd;
  const spent = view.spend_this_month_usd ?? 0;

  const onShow = async () => {
    setRevealError(null);
    if (draft.newKey) {
      setShowTyped((v) => !v);
      return;
    }
    if (!first) return;
    if (revealed != null) {
      setRevealed(null);
      return;
    }
    try {
      setRevealed(await revealKey(id, first.id));
    } catch (e) {
      setRevealError(errorMessage(e));
    }
  };

  const check = view.check;
  const status =
    check.ok == null ? (
      <Badge color="gray" variant="light" data-testid={`provider-status-${id}`}>
        {t("providers.status.unchecked")}
      </Badge>
    ) : (
      <Tooltip label={check.message ?? ""} multiline w={320} withinPortal>
        <Badge color={check.ok ? "teal" : "red"} variant="light" data-testid={`provider-status-${id}`}>
          {check.ok ? t("providers.status.ok") : t("providers.status.failed")}
          {check.checked_at ? ` · ${new Date(check.checked_at).toLocaleTimeString()}` : ""}
        </Badge>
      </Tooltip>
    );

  const health = view.health;
  const healthBadge =
    health.circuit !== "closed" || health.cooling_until ? (
      <Tooltip
        label={t("providers.health.detail", {
          failures: health.consecutive_failures,
          rate: Math.round((health.failure_rate ?? 0) * 100),
          requests: health.recent_requests,
        })}
        multiline
        w={320}
        withinPortal
      >
        <Badge color={health.circuit === "open" ? "red" : "yellow"} variant="light" data-testid={`provider-health-${id}`} data-circuit={health.circuit}>
          {health.circuit === "open"
            ? t("providers.health.open", { at: health.retry_at ? new Date(health.retry_at).toLocaleTimeString() : "" })
            : health.circuit === "half_open"
              ? t("providers.health.halfOpen")
              : t("providers.health.cooling", { at: health.cooling_until ? new Date(health.cooling_until).toLocaleTimeString() : "" })}
        </Badge>
      </Tooltip>
    ) : null;
  const limits: ProviderLimits = s.limits ?? NO_LIMITS;
  const limit = (key: keyof ProviderLimits, label: string, suffix: string) => (
    <NumberInput
      key={key}
      size="xs"
      w={150}
      data-testid={`provider-limit-${key}-${id}`}
      label={label}
      suffix={suffix}
      min={1}
      allowDecimal={false}
      placeholder={t("providers.limits.default")}
      value={limits[key] ?? ""}
      onChange={(v) => set({ limits: { ...limits, [key]: v === "" || v == null ? null : Number(v) } })}
      error={fieldError(`limits.${key}`)}
    />
  );

  return (
    <Card withBorder padding="md" data-testid={`provider-card-${id}`}>
      <Stack gap="sm">
        <Group justify="space-between" wrap="nowrap">
          <Group gap="xs" wrap="nowrap">
            <Text fw={600}>{s.display_name}</Text>
            {dirty && (
              <Badge size="xs" color="yellow">
                {t("providers.edited")}
              </Badge>
            )}
          </Group>
          <Group gap="xs" wrap="nowrap">
            {status}
            {healthBadge}
            <Switch
              data-testid={`provider-enabled-toggle-${id}`}
              checked={s.enabled}
              onChange={(e) => set({ enabled: e.currentTarget.checked })}
              aria-label={t("providers.enabled")}
            />
          </Group>
        </Group>
        <TextInput
          data-testid={`provider-baseurl-input-${id}`}
          label={t("providers.baseUrl")}
          placeholder={view.default_base_url || "https://<resource>.openai.azure.com"}
          value={s.base_url}
          onChange={(e) => set({ base_url: e.currentTarget.value })}
          error={fieldError("base_url") ?? (urlProblem ? t(`providers.urlProblem.${urlProblem}`, urlProblem) : undefined)}
        />
        <Checkbox
          size="xs"
          data-testid={`provider-allow-http-${id}`}
          label={t("providers.allowHttp")}
          checked={s.allow_http}
          onChange={(e) => set({ allow_http: e.currentTarget.checked })}
        />
        {s.kind === "azure" && (
          <Group grow>
            <TextInput
              data-testid={`provider-azure-deployments-${id}`}
              label={t("providers.azureDeployments")}
              placeholder="gpt-4o-prod, gpt-4o-mini"
              value={s.azure_deployments ?? ""}
              onChange={(e) => set({ azure_deployments: e.currentTarget.value })}
              error={fieldError("azure_deployments")}
            />
            <TextInput
              data-testid={`provider-azure-version-${id}`}
              label={t("providers.azureApiVersion")}
              placeholder="2024-10-21"
              value={s.azure_api_version ?? ""}
              onChange={(e) => set({ azure_api_version: e.currentTarget.value })}
              error={fieldError("azure_api_version")}
            />
          </Group>
        )}
        <Stack gap={4}>
          <Group gap="xs" align="flex-end" wrap="nowrap">
            <TextInput
              style={{ flex: 1 }}
              data-testid={`provider-apikey-input-${id}`}
              label={view.needs_key ? t("providers.apiKey") : t("providers.apiKeyOptional")}
              type={showTyped ? "text" : "password"}
              autoComplete="off"
              placeholder={first ? first.mask : t("providers.noKey")}
              value={draft.newKey}
              onChange={(e) => onChange({ ...draft, newKey: e.currentTarget.value })}
              error={fieldError("api_key")}
              description={first && draft.newKey ? t("providers.replacesKey", { mask: first.mask }) : undefined}
            />
            <Tooltip label={t("providers.show")}>
              <ActionIcon
                size="lg"
                variant="default"
                data-testid={`provider-apikey-show-button-${id}`}
                aria-label={t("providers.show")}
                disabled={!first && !draft.newKey}
                onClick={() => void onShow()}
              >
                <IconEye size={16} />
              </ActionIcon>
            </Tooltip>
          </Group>
          {revealed != null && (
            <Code data-testid={`provider-apikey-revealed-${id}`} style={{ wordBreak: "break-all" }}>
              {revealed}
            </Code>
          )}
          {revealError && (
            <Text size="xs" c="red">
              {revealError}
            </Text>
          )}
          {keptKeys.slice(1).map((k, i) => (
            <Group key={k.id} gap="xs" data-testid={`provider-extra-key-${id}-${i + 1}`}>
              <Text size="sm" ff="monospace">
                {k.mask}
              </Text>
              <ActionIcon
                size="sm"
                variant="subtle"
                color="red"
                aria-label={t("providers.removeKey")}
                onClick={() => onChange({ ...draft, removeKeys: [...draft.removeKeys, k.id] })}
              >
                <IconTrash size={14} />
              </ActionIcon>
            </Group>
          ))}
          {draft.addKeys.map((k, i) => (
            <TextInput
              key={i}
              size="xs"
              type="password"
              autoComplete="off"
              data-testid={`provider-add-key-input-${id}-${i}`}
              placeholder={t("providers.anotherKey")}
              value={k}
              onChange={(e) => {
                const addKeys = [...draft.addKeys];
                addKeys[i] = e.currentTarget.value;
                onChange({ ...draft, addKeys });
              }}
            />
          ))}
          <Group gap="xs">
            <Button
              size="compact-xs"
              variant="subtle"
              leftSection={<IconPlus size={12} />}
              data-testid={`provider-add-key-${id}`}
              onClick={() => onChange({ ...draft, addKeys: [...draft.addKeys, ""] })}
            >
              {t("providers.addKey")}
            </Button>
            {keptKeys.length > 1 && (
              <Text size="xs" c="dimmed">
                {t("providers.rotation", { count: keptKeys.length })}
              </Text>
            )}
          </Group>
        </Stack>
        <NumberInput
          data-testid={`provider-budget-input-${id}`}
          label={t("providers.budget")}
          prefix="$"
          min={0}
          decimalScale={2}
          placeholder={t("providers.noBudget")}
          value={budget ?? ""}
          onChange={(v) => set({ monthly_budget_usd: v === "" || v == null ? null : Number(v) })}
          error={fieldError("monthly_budget_usd")}
        />
        <Stack gap={2}>
          <Text size="xs" c="dimmed" data-testid={`provider-spend-${id}`}>
            {budget != null
              ? t("providers.spendOf", { spent: money(spent), budget: money(budget) })
              : t("providers.spend", { spent: money(spent) })}
          </Text>
          {budget != null && budget > 0 && (
            <Progress size="sm" value={Math.min(100, (spent / budget) * 100)} color={spent >= budget ? "red" : "blue"} />
          )}
        </Stack>
        <Accordion variant="contained" chevronPosition="left">
          <Accordion.Item value="limits">
            <Accordion.Control data-testid={`provider-limits-toggle-${id}`}>
              <Text size="sm">{t("providers.limits.title")}</Text>
            </Accordion.Control>
            <Accordion.Panel>
              <Group gap="xs" align="start">
                {limit("connect_timeout_s", t("providers.limits.connect"), " s")}
                {limit("first_token_timeout_s", t("providers.limits.firstToken"), " s")}
                {limit("idle_timeout_s", t("providers.limits.idle"), " s")}
                {limit("total_timeout_s", t("providers.limits.total"), " s")}
                {limit("requests_per_minute", t("providers.limits.rpm"), "")}
                {limit("tokens_per_minute", t("providers.limits.tpm"), "")}
                {limit("probe_interval_s", t("providers.limits.probe"), " s")}
              </Group>
            </Accordion.Panel>
          </Accordion.Item>
        </Accordion>
        {view.unsupported_params.length > 0 && (
          <Text size="xs" c="dimmed">
            {t("providers.unsupported", { params: view.unsupported_params.join(", ") })}
          </Text>
        )}
        <Group gap="xs">
          <Tooltip label={t("providers.saveFirst")} disabled={!dirty}>
            <Button
              size="xs"
              variant="light"
              data-testid={`provider-test-button-${id}`}
              leftSection={<IconPlugConnected size={14} />}
              loading={test.isPending}
              disabled={dirty}
              onClick={() => test.mutate(id)}
            >
              {t("providers.test")}
            </Button>
          </Tooltip>
          <Button
            size="xs"
            variant="subtle"
            data-testid={`provider-models-refresh-${id}`}
            leftSection={<IconRefresh size={14} />}
            loading={refresh.isPending}
            disabled={dirty || !s.enabled}
            onClick={() => refresh.mutate(id)}
          >
            {t("providers.refreshModels")}
          </Button>
          {confirmRemove ? (
            <Group gap={4}>
              <Button
                size="xs"
                color="red"
                data-testid={`provider-remove-confirm-${id}`}
                loading={remove.isPending}
                onClick={() => remove.mutate(id, { onSettled: () => setConfirmRemove(false) })}
              >
                {t("providers.remove.confirm")}
              </Button>
              <Button size="xs" variant="default" onClick={() => setConfirmRemove(false)}>
                {t("providers.remove.cancel")}
              </Button>
            </Group>
          ) : (
            <Button
              size="xs"
              variant="subtle"
              color="red"
              data-testid={`provider-remove-${id}`}
              leftSection={<IconTrash size={14} />}
              disabled={dirty}
              onClick={() => setConfirmRemove(true)}
            >
              {t("providers.remove.button")}
            </Button>
          )}
        </Group>
        {remove.error && (
          <Text size="xs" c="red" data-testid={`provider-remove-error-${id}`}>
            {errorMessage(remove.error)}
          </Text>
        )}
        {test.data && (
          <Text size="xs" c={test.data.ok ? "teal" : "red"} data-testid={`provider-test-result-${id}`}>
            {test.data.message}
          </Text>
        )}
        {(test.error || refresh.error) && (
          <Text size="xs" c="red">
            {errorMessage(test.error ?? refresh.error)}
          </Text>
        )}
        <div data-testid={`provider-models-list-${id}`}>
          <Text size="xs" fw={500}>
            {t("providers.models", { count: view.models.length })}
          </Text>
          {view.models.length > 0 && (
            <ScrollArea.Autosize mah={120}>
              <Group gap={4}>
                {view.models.map((m) => (
                  <Badge key={m.model} variant="outline" size="sm" tt="none" color={m.vision ? "grape" : "gray"}>
                    {m.vision ? `${m.model} · ${t("providers.vision")}` : m.model}
                  </Badge>
                ))}
              </Group>
            </ScrollArea.Autosize>
          )}
        </div>
      </Stack>
    </Card>
  );
}
