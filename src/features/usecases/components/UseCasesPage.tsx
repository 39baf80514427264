import { Alert, Badge, Button, Grid, Group, NavLink, NumberInput, Stack, Switch, Text, TextInput, Textarea, Title } from "@mantine/core";
import { IconDeviceFloppy } from "@tabler/icons-react";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { SamplingParams, UseCase, UseCaseConfig } from "../../../bindings";
import { useUnsavedChanges } from "../../../app/unsaved";
import { errorMessage, IpcError } from "../../../lib/ipc";
import { normalise, validateParams, type ParamErrors } from "../api/params";
import { displayName, useModels, useSaveUseCases, useUseCases } from "../api/useCases";
import { AddUseCase, DeleteUseCase } from "./AddUseCase";
import { CacheSettings } from "./CacheSettings";
import { TextRetention } from "./TextRetention";
import { ConfigFileButtons } from "./ConfigFileButtons";
import { ModelDropdown } from "./ModelDropdown";
import { ParametersPanel } from "./ParametersPanel";
import { RouteEditor } from "./RouteEditor";
import { TryIt } from "./TryIt";

type Drafts = Record<string, UseCaseConfig>;

function same(a: UseCaseConfig, b: UseCaseConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function configOf(uc: UseCase): UseCaseConfig {
  return {
    name: uc.name,
    enabled: uc.enabled,
    model: uc.model,
    use_custom_params: uc.use_custom_params,
    custom_params: uc.custom_params ? normalise(uc.custom_params) : null,
    system_prompt: uc.system_prompt,
    json_schema: uc.json_schema,
    fallbacks: uc.fallbacks.map((f) => ({ model: f.model, params: f.params ? normalise(f.params) : null })),
    prefer_cloud: uc.prefer_cloud,
    cache_ttl_s: uc.cache_ttl_s,
    cache_random: uc.cache_random,
    monthly_budget_usd: uc.monthly_budget_usd,
    keep_text_days: uc.keep_text_days,
  };
}

/** Field-level problems a draft has before it is sent (Rust checks again). */
function draftErrors(d: UseCaseConfig): { params: ParamErrors; name?: string; schema?: string } {
  const out: { params: ParamErrors; name?: string; schema?: string } = { params: {} };
  if (!d.name.trim()) out.name = "required";
  if (d.use_custom_params && d.custom_params) out.params = validateParams(d.custom_params);
  if (d.json_schema) {
    try {
      const v: unknown = JSON.parse(d.json_schema);
      if (typeof v !== "object" || v === null || Array.isArray(v)) out.schema = "a JSON object";
    } catch {
      out.schema = "valid JSON";
    }
  }
  return out;
}

function hasErrors(e: ReturnType<typeof draftErrors>): boolean {
  return Boolean(e.name || e.schema || Object.keys(e.params).length);
}

/** The admin console's heart: a model and parameters for each use case. */
export function UseCasesPage() {
  const { t } = useTranslation();
  const { data: useCases = [], error: loadError } = useUseCases();
  const { data: models = [], isSuccess: modelsLoaded } = useModels();
  const save = useSaveUseCases();
  const [drafts, setDrafts] = useState<Drafts>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [serverError, setServerError] = useState<{ id: string; field: string | null; message: string } | null>(null);
  const [savedNote, setSavedNote] = useState(false);

  const saved = useMemo(() => Object.fromEntries(useCases.map((u) => [u.id, configOf(u)])), [useCases]);
  const dirtyIds = Object.keys(drafts).filter((id) => saved[id] && !same(drafts[id]!, saved[id]!));
  const { setDirty } = useUnsavedChanges();
  useEffect(() => setDirty(dirtyIds.length > 0), [dirtyIds.length, setDirty]);
  useEffect(() => () => setDirty(false), [setDirty]);

  const current = useCases.find((u) => u.id === (selected ?? useCases[0]?.id));
  const draft = current ? (drafts[current.id] ?? saved[current.id]!) : undefined;
  const errors = draft ? draftErrors(draft) : { params: {} };
  const anyInvalid = dirtyIds.some((id) => hasErrors(draftErrors(drafts[id]!)));

  const update = (patch: Partial<UseCaseConfig>) => {
    if (!current || !draft) return;
    setSavedNote(false);
    setDrafts((d) => ({ ...d, [current.id]: { ...draft, ...patch } }));
  };

  const onSave = async () => {
    setServerError(null);
    try {
      await save.mutateAsync(dirtyIds.map((id) => ({ id, config: drafts[id]! })));
      setDrafts({});
      setSavedNote(true);
    } catch (e) {
      const failed = dirtyIds.find((id) => drafts[id]) ?? "";
      setServerError({ id: failed, field: e instanceof IpcError ? e.field : null, message: errorMessage(e) });
    }
  };

  const fieldError = (field: string) =>
    serverError && current && serverError.id === current.id && serverError.field === field ? serverError.message : undefined;

  const shownParams: SamplingParams | undefined =
    draft && current ? (draft.use_custom_params && draft.custom_params ? draft.custom_params : normalise(current.defaults)) : undefined;

  return (
    <Stack data-testid="llm-config-page" gap="md">
      <Group justify="space-between">
        <Title order={2}>{t("useCasesPage.title")}</Title>
        <Group>
          <ConfigFileButtons disabled={dirtyIds.length > 0} />
          <Button
            data-testid="save-config-button"
            leftSection={<IconDeviceFloppy size={16} />}
            onClick={() => void onSave()}
            disabled={dirtyIds.length === 0 || anyInvalid}
            loading={save.isPending}
          >
            {t("useCasesPage.save")}
          </Button>
        </Group>
      </Group>
      {loadError && <Alert color="red">{errorMessage(loadError)}</Alert>}
      {dirtyIds.length > 0 && (
        <Alert data-testid="unsaved-changes" color="yellow" py="xs">
          {t("useCasesPage.unsaved", { count: dirtyIds.length })}
        </Alert>
      )}
      {savedNote && dirtyIds.length === 0 && (
        <Alert data-testid="config-saved" color="teal" py="xs">
          {t("useCasesPage.saved")}
        </Alert>
      )}
      {serverError && (
        <Alert data-testid="config-save-error" color="red" py="xs">
          {serverError.message}
        </Alert>
      )}
      <Grid>
        <Grid.Col span={{ base: 12, md: 3 }}>
          <Stack gap={2}>
            {useCases.map((u) => (
              <NavLink
                key={u.id}
                data-testid={`usecase-selector-${u.id}`}
                active={u.id === current?.id}
                label={displayName(u, t)}
                description={u.model}
                onClick={() => setSelected(u.id)}
                rightSection={
                  <Group gap={4} wrap="nowrap">
                    {dirtyIds.includes(u.id) && <Badge size="xs" color="yellow">•</Badge>}
                    {!u.enabled && (
                      <Badge size="xs" color="gray">
                        {t("useCasesPage.off")}
                      </Badge>
                    )}
                  </Group>
                }
              />
            ))}
            <AddUseCase useCases={useCases} models={models} onCreated={setSelected} />
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 9 }}>
          {current && draft && shownParams && (
            <Stack gap="md" data-testid={`usecase-editor-${current.id}`}>
              <Group align="end">
                <TextInput
                  data-testid={`usecase-name-${current.id}`}
                  label={t("useCasesPage.name")}
                  value={draft.name}
                  onChange={(e) => update({ name: e.currentTarget.value })}
                  error={errors.name ? t("useCasesPage.nameRequired") : fieldError("name")}
                  w={280}
                />
                <NumberInput
                  data-testid={`usecase-budget-${current.id}`}
                  label={t("useCasesPage.budget")}
                  placeholder={t("useCasesPage.noBudget")}
                  prefix="$"
                  min={0}
                  decimalScale={2}
                  w={180}
                  value={draft.monthly_budget_usd ?? ""}
                  onChange={(v) => update({ monthly_budget_usd: v === "" || v == null ? null : Number(v) })}
                  error={fieldError("monthly_budget_usd")}
                />
                <Switch
                  data-testid={`usecase-enabled-${current.id}`}
                  label={t("useCasesPage.enabled")}
                  checked={draft.enabled}
                  onChange={(e) => update({ enabled: e.currentTarget.checked })}
                  mb={6}
                />
                {!current.builtin && (
                  <DeleteUseCase
                    useCase={current}
                    onDeleted={() => {
                      setDrafts((d) => Object.fromEntries(Object.entries(d).filter(([k]) => k !== current.id)));
                      setSelected(null);
                    }}
                  />
                )}
              </Group>
              <Text size="sm" c="dimmed">
                {current.description}
                {current.updated_by && ` · ${t("useCasesPage.lastChanged", { when: new Date(current.updated_at).toLocaleString(), who: current.updated_by })}`}
              </Text>
              <ModelDropdown
                useCase={current}
                models={models}
                modelsLoaded={modelsLoaded}
                value={draft.model}
                onChange={(model) => update({ model })}
                error={fieldError("model")}
              />
              <RouteEditor
                useCase={current}
                models={models}
                value={{ model: draft.model, fallbacks: draft.fallbacks, prefer_cloud: draft.prefer_cloud }}
                params={shownParams}
                onChange={(route) => update(route)}
                fieldError={fieldError}
              />
              <ParametersPanel
                useCaseId={current.id}
                params={shownParams}
                useCustom={draft.use_custom_params}
                errors={errors.params}
                onChange={(p) => update({ custom_params: p })}
                onToggleCustom={(on) =>
                  update({ use_custom_params: on, custom_params: draft.custom_params ?? normalise(current.defaults) })
                }
                onReset={() => update({ custom_params: normalise(current.defaults) })}
              />
              {!current.vision && (
                <CacheSettings
                  useCaseId={current.id}
                  value={{ cache_ttl_s: draft.cache_ttl_s, cache_random: draft.cache_random }}
                  onChange={(cache) => update(cache)}
                  error={fieldError("cache_ttl_s")}
                />
              )}
              {!current.vision && (
                <TextRetention
                  useCaseId={current.id}
                  days={draft.keep_text_days}
                  onChange={(keep_text_days) => update({ keep_text_days })}
                  error={fieldError("keep_text_days")}
                />
              )}
              <Textarea
                data-testid={`usecase-system-prompt-${current.id}`}
                label={t("useCasesPage.systemPrompt")}
                value={draft.system_prompt ?? ""}
                onChange={(e) => update({ system_prompt: e.currentTarget.value || null })}
                autosize
                minRows={2}
                maxRows={8}
              />
              <Textarea
                data-testid={`usecase-json-schema-${current.id}`}
                label={t("useCasesPage.jsonSchema")}
                description={t("useCasesPage.jsonSchemaHint")}
                value={draft.json_schema ?? ""}
                onChange={(e) => update({ json_schema: e.currentTarget.value || null })}
                error={errors.schema ? t("useCasesPage.schemaInvalid") : fieldError("json_schema")}
                autosize
                minRows={2}
                maxRows={8}
                styles={{ input: { fontFamily: "monospace" } }}
              />
              {!current.vision && <TryIt useCaseId={current.id} disabled={dirtyIds.includes(current.id)} />}
            </Stack>
          )}
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
