import {
  Alert,
  Badge,
  Button,
  Group,
  NumberInput,
  Paper,
  Progress,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { DownloadStatus, EngineSettings, ImportMode } from "../../../bindings";
import { formatBytes } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import {
  downloadProblem,
  pickModelFile,
  useDownloadAction,
  useImportModel,
  useLibrary,
  useSaveEngineSettings,
  useStartDownload,
} from "../api/library";
import { ModelCard } from "./ModelCard";

/** The local model library: what is there, adding models, and how long they stay in memory. */
export function ModelsPage() {
  const { t } = useTranslation();
  const library = useLibrary();
  const data = library.data;
  const projectors = (data?.models ?? []).filter((m) => m.capabilities.includes("projector"));

  return (
    <Stack data-testid="models-page" gap="lg" maw={960}>
      <Title order={2}>{t("modelsPage.title")}</Title>
      {library.error && (
        <Alert color="red" data-testid="models-error">
          {errorMessage(library.error)}
        </Alert>
      )}
      {data && (
        <Text size="sm" c="dimmed" data-testid="models-dir">
          {t("modelsPage.folder", { dir: data.models_dir })}
        </Text>
      )}
      <Stack gap="sm" data-testid="model-list">
        {data?.models.length === 0 && <Text c="dimmed">{t("modelsPage.empty")}</Text>}
        {data?.models.map((m) => (
          <ModelCard key={m.id} model={m} projectors={projectors} />
        ))}
      </Stack>
      <ImportPanel />
      <DownloadPanel downloads={data?.downloads ?? []} />
      {data && <EnginePanel saved={data.engine} />}
    </Stack>
  );
}

function ImportPanel() {
  const { t } = useTranslation();
  const [path, setPath] = useState("");
  const [mode, setMode] = useState<ImportMode>("copy");
  const importModel = useImportModel();
  const [done, setDone] = useState<string | null>(null);

  const browse = async () => {
    // The back end opens the native dialog and hands back the chosen path.
    try {
      const picked = await pickModelFile();
      if (picked) setPath(picked);
    } catch {
      // The dialog could not open: nothing was chosen.
    }
  };

  return (
    <Paper withBorder p="md" data-testid="import-panel">
      <Title order={4} mb="xs">
        {t("modelsPage.import.title")}
      </Title>
      <Group align="flex-end" wrap="wrap">
        <TextInput
          data-testid="import-path"
          label={t("modelsPage.import.path")}
          placeholder="/home/me/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"
          value={path}
          onChange={(e) => setPath(e.currentTarget.value)}
          style={{ flex: 1, minWidth: 280 }}
          error={importModel.error ? errorMessage(importModel.error) : undefined}
        />
        <Button variant="default" data-testid="import-browse" onClick={() => void browse()}>
          {t("modelsPage.import.browse")}
        </Button>
      </Group>
      <Group mt="sm" justify="space-between">
        <SegmentedControl
          data-testid="import-mode"
          value={mode}
          onChange={(v) => setMode(v as ImportMode)}
          data={[
            { value: "copy", label: t("modelsPage.import.copy") },
            { value: "reference", label: t("modelsPage.import.reference") },
          ]}
        />
        <Button
          data-testid="import-submit"
          disabled={path.trim() === ""}
          loading={importModel.isPending}
          onClick={() =>
            importModel.mutate(
              { path: path.trim(), mode },
              {
                onSuccess: (m) => {
                  setDone(m.id);
                  setPath("");
                },
              },
            )
          }
        >
          {t("modelsPage.import.submit")}
        </Button>
      </Group>
      <Text size="xs" c="dimmed" mt={4}>
        {t(mode === "copy" ? "modelsPage.import.copyHint" : "modelsPage.import.referenceHint")}
      </Text>
      {done && !importModel.error && (
        <Text size="sm" c="teal" mt="xs" data-testid="import-done">
          {t("modelsPage.import.done", { id: done })}
        </Text>
      )}
    </Paper>
  );
}

function DownloadPanel({ downloads }: { downloads: DownloadStatus[] }) {
  const { t } = useTranslation();
  const [url, setUrl] = useState("");
  const [name, setName] = useState("");
  const [sha, setSha] = useState("");
  const start = useStartDownload();
  const problem = url.trim() === "" ? null : downloadProblem(url, sha);

  return (
    <Paper withBorder p="md" data-testid="download-panel">
      <Title order={4} mb="xs">
        {t("modelsPage.download.title")}
      </Title>
      <Stack gap="xs">
        <TextInput
          data-testid="download-url"
          label={t("modelsPage.download.url")}
          placeholder="https://huggingface.co/<org>/<repo>/resolve/main/<file>.gguf"
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
          error={problem === "url" ? t("modelsPage.download.badUrl") : start.error ? errorMessage(start.error) : undefined}
        />
        <Group grow>
          <TextInput
            data-testid="download-name"
            label={t("modelsPage.download.name")}
            placeholder={t("modelsPage.download.nameHint")}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <TextInput
            data-testid="download-sha256"
            label={t("modelsPage.download.sha256")}
            value={sha}
            onChange={(e) => setSha(e.currentTarget.value)}
            error={problem === "sha256" ? t("modelsPage.download.badSha") : undefined}
          />
        </Group>
        <Group justify="flex-end">
          <Button
            data-testid="download-start"
            disabled={url.trim() === "" || problem != null}
            loading={start.isPending}
            onClick={() =>
              start.mutate(
                { url: url.trim(), file_name: name.trim() || null, sha256: sha.trim() || null, size_bytes: null },
                { onSuccess: () => setUrl("") },
              )
            }
          >
            {t("modelsPage.download.start")}
          </Button>
        </Group>
        {downloads.map((d) => (
          <DownloadRow key={d.id} d={d} />
        ))}
      </Stack>
    </Paper>
  );
}

function DownloadRow({ d }: { d: DownloadStatus }) {
  const { t } = useTranslation();
  const action = useDownloadAction();
  const pct = d.total_bytes ? Math.min(100, ((d.done_bytes ?? 0) / d.total_bytes) * 100) : 0;
  const active = d.state === "running" || d.state === "verifying";
  return (
    <Paper withBorder p="xs" data-testid={`download-row-${d.id}`}>
      <Group justify="space-between" wrap="nowrap">
        <Text size="sm" fw={500} truncate>
          {d.file_name}
        </Text>
        <Badge data-testid="download-state" variant="light" color={d.state === "failed" ? "red" : d.state === "done" ? "teal" : "blue"}>
          {t(`modelsPage.download.states.${d.state}`)}
        </Badge>
      </Group>
      <Progress data-testid="download-progress" value={pct} mt={6} animated={d.state === "running"} />
      <Group justify="space-between" mt={4}>
        <Text size="xs" c="dimmed" data-testid="download-bytes">
          {formatBytes(d.done_bytes)} / {formatBytes(d.total_bytes)}
          {d.bytes_per_second ? ` · ${formatBytes(d.bytes_per_second)}/s` : ""}
        </Text>
        <Group gap="xs">
          {d.state === "running" && (
            <Button size="xs" variant="default" data-testid="download-pause" onClick={() => action.mutate({ id: d.id, action: "pause" })}>
              {t("modelsPage.download.pause")}
            </Button>
          )}
          {(d.state === "paused" || d.state === "failed") && (
            <Button size="xs" variant="default" data-testid="download-resume" onClick={() => action.mutate({ id: d.id, action: "resume" })}>
              {t("modelsPage.download.resume")}
            </Button>
          )}
          {(active || d.state === "paused" || d.state === "failed") && (
            <Button size="xs" color="red" variant="light" data-testid="download-cancel" onClick={() => action.mutate({ id: d.id, action: "cancel" })}>
              {t("modelsPage.download.cancel")}
            </Button>
          )}
        </Group>
      </Group>
      {d.error && (
        <Text size="xs" c="red" data-testid="download-error">
          {d.error}
        </Text>
      )}
    </Paper>
  );
}

function EnginePanel({ saved }: { saved: EngineSettings }) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState(saved);
  useEffect(() => setDraft(saved), [saved]);
  const save = useSaveEngineSettings();
  const dirty = draft.max_resident_models !== saved.max_resident_models || draft.idle_unload_minutes !== saved.idle_unload_minutes;
  return (
    <Paper withBorder p="md" data-testid="engine-settings">
      <Title order={4} mb="xs">
        {t("modelsPage.engine.title")}
      </Title>
      <Group align="flex-end">
        <NumberInput
          data-testid="engine-max-resident"
          label={t("modelsPage.engine.maxResident")}
          min={1}
          max={8}
          allowDecimal={false}
          value={draft.max_resident_models}
          onChange={(v) => setDraft({ ...draft, max_resident_models: typeof v === "number" ? v : 0 })}
          error={save.error && (save.error as { field?: string }).field === "max_resident_models" ? errorMessage(save.error) : undefined}
        />
        <NumberInput
          data-testid="engine-idle-minutes"
          label={t("modelsPage.engine.idleMinutes")}
          description={t("modelsPage.engine.idleHint")}
          min={0}
          max={1440}
          allowDecimal={false}
          value={draft.idle_unload_minutes}
          onChange={(v) => setDraft({ ...draft, idle_unload_minutes: typeof v === "number" ? v : 0 })}
          error={save.error && (save.error as { field?: string }).field === "idle_unload_minutes" ? errorMessage(save.error) : undefined}
        />
        <Button data-testid="engine-settings-save" disabled={!dirty} loading={save.isPending} onClick={() => save.mutate(draft)}>
          {t("modelsPage.save")}
        </Button>
      </Group>
    </Paper>
  );
}
