import { Alert, Badge, Button, Group, Modal, Paper, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { LibraryModel } from "../../../bindings";
import { formatBytes } from "../../../lib/format";
import { IpcError, errorMessage } from "../../../lib/ipc";
import { formatParams, parseOptionalInt, useDeleteModel, useResidency, useSaveModelSettings } from "../api/library";

type Draft = { gpuLayers: string; context: string; threads: string; parallel: string; projector: string | null };

function draftOf(m: LibraryModel): Draft {
  const s = (v: number | null | undefined) => (v == null ? "" : String(v));
  return {
    gpuLayers: s(m.load.gpu_layers),
    context: s(m.load.context_length),
    threads: s(m.load.threads),
    parallel: s(m.load.parallel),
    projector: m.projector,
  };
}

/** One model: what its header says, whether it is in memory, and its load settings. */
export function ModelCard({ model: m, projectors }: { model: LibraryModel; projectors: LibraryModel[] }) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState(() => draftOf(m));
  useEffect(() => setDraft(draftOf(m)), [m]);
  const [confirming, setConfirming] = useState(false);
  const save = useSaveModelSettings();
  const remove = useDeleteModel();
  const residency = useResidency();
  const f = m.facts;
  const isProjector = m.capabilities.includes("projector");

  const gpuLayers = parseOptionalInt(draft.gpuLayers, 0, 1024);
  const context = parseOptionalInt(draft.context, 256, 1048576);
  const threads = parseOptionalInt(draft.threads, 1, 256);
  const parallel = parseOptionalInt(draft.parallel, 1, 64);
  const invalid = gpuLayers === undefined || context === undefined || threads === undefined || parallel === undefined;
  const dirty = JSON.stringify(draft) !== JSON.stringify(draftOf(m));
  const serverField = save.error instanceof IpcError ? save.error.field : null;
  const fieldError = (field: string, local: boolean, hint: string) =>
    local ? hint : serverField === field ? errorMessage(save.error) : undefined;

  return (
    <Paper withBorder p="md" data-testid={`model-card-${m.id}`}>
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <div>
          <Text fw={600} data-testid="model-name">
            {f?.name || m.id}
          </Text>
          <Text size="xs" c="dimmed" data-testid="model-id">
            local/{m.id}
          </Text>
        </div>
        <Group gap={4}>
          {m.capabilities.map((c) => (
            <Badge key={c} variant="light" data-testid={`model-capability-${c}`}>
              {t(`modelsPage.capabilities.${c}`)}
            </Badge>
          ))}
          {m.referenced && (
            <Badge variant="outline" color="gray" data-testid="model-referenced">
              {t("modelsPage.referenced")}
            </Badge>
          )}
        </Group>
      </Group>
      {m.error && (
        <Alert color="red" mt="xs" data-testid="model-error">
          {m.error}
        </Alert>
      )}
      {f && (
        <SimpleGrid cols={{ base: 2, sm: 5 }} mt="sm" data-testid="model-facts">
          <Fact label={t("modelsPage.facts.architecture")} value={f.architecture} testid="fact-architecture" />
          <Fact label={t("modelsPage.facts.parameters")} value={formatParams(f.parameters ?? 0)} testid="fact-parameters" />
          <Fact label={t("modelsPage.facts.quantization")} value={f.quantization ?? "–"} testid="fact-quantization" />
          <Fact label={t("modelsPage.facts.size")} value={formatBytes(m.size_bytes ?? null)} testid="fact-size" />
          <Fact
            label={t("modelsPage.facts.context")}
            value={f.context_length ? f.context_length.toLocaleString() : "–"}
            testid="fact-context"
          />
        </SimpleGrid>
      )}
      <Text size="xs" c="dimmed" mt={4} truncate data-testid="model-path">
        {m.path}
      </Text>
      {m.resident && (
        <Text size="sm" mt="xs" data-testid="model-resident">
          {t("modelsPage.resident", {
            layers: m.resident.offloaded_layers,
            total: m.resident.total_layers,
            ctx: m.resident.context_length,
          })}
        </Text>
      )}
      {m.used_by.length > 0 && (
        <Text size="xs" c="dimmed" mt={4} data-testid="model-used-by">
          {t("modelsPage.usedBy", { list: m.used_by.join(", ") })}
        </Text>
      )}
      {!isProjector && !m.error && (
        <Stack gap="xs" mt="sm">
          <Group grow align="flex-start">
            <TextInput
              data-testid="model-gpu-layers"
              label={t("modelsPage.load.gpuLayers")}
              placeholder={t("modelsPage.load.auto")}
              value={draft.gpuLayers}
              onChange={(e) => setDraft({ ...draft, gpuLayers: e.currentTarget.value })}
              error={fieldError("gpu_layers", gpuLayers === undefined, t("modelsPage.load.range", { min: 0, max: 1024 }))}
            />
            <TextInput
              data-testid="model-context"
              label={t("modelsPage.load.context")}
              placeholder={t("modelsPage.load.default")}
              value={draft.context}
              onChange={(e) => setDraft({ ...draft, context: e.currentTarget.value })}
              error={fieldError("context_length", context === undefined, t("modelsPage.load.range", { min: 256, max: 1048576 }))}
            />
            <TextInput
              data-testid="model-threads"
              label={t("modelsPage.load.threads")}
              placeholder={t("modelsPage.load.default")}
              value={draft.threads}
              onChange={(e) => setDraft({ ...draft, threads: e.currentTarget.value })}
              error={fieldError("threads", threads === undefined, t("modelsPage.load.range", { min: 1, max: 256 }))}
            />
            <TextInput
              data-testid="model-parallel"
              label={t("modelsPage.load.parallel")}
              placeholder={t("modelsPage.load.default")}
              value={draft.parallel}
              onChange={(e) => setDraft({ ...draft, parallel: e.currentTarget.value })}
              error={fieldError("parallel", parallel === undefined, t("modelsPage.load.range", { min: 1, max: 64 }))}
            />
          </Group>
          {!m.capabilities.includes("embedding") && (
            <Select
              data-testid="model-projector"
              label={t("modelsPage.projector")}
              placeholder={t("modelsPage.noProjector")}
              clearable
              data={projectors.map((p) => ({ value: p.id, label: p.id }))}
              value={draft.projector}
              onChange={(v) => setDraft({ ...draft, projector: v })}
              error={serverField === "projector" ? errorMessage(save.error) : undefined}
            />
          )}
        </Stack>
      )}
      {save.error && !serverField && (
        <Text size="sm" c="red" mt="xs" data-testid="model-save-error">
          {errorMessage(save.error)}
        </Text>
      )}
      {remove.error && (
        <Text size="sm" c="red" mt="xs" data-testid="model-delete-error">
          {errorMessage(remove.error)}
        </Text>
      )}
      {residency.error && (
        <Text size="sm" c="red" mt="xs" data-testid="model-residency-error">
          {errorMessage(residency.error)}
        </Text>
      )}
      <Group justify="flex-end" mt="sm">
        <Button color="red" variant="subtle" data-testid="model-delete" onClick={() => setConfirming(true)}>
          {t("modelsPage.delete")}
        </Button>
        {m.resident ? (
          <Button
            variant="default"
            data-testid="model-unload"
            loading={residency.isPending}
            onClick={() => residency.mutate({ id: m.id, load: false })}
          >
            {t("modelsPage.unload")}
          </Button>
        ) : (
          m.capabilities.includes("text") && (
            <Button
              variant="default"
              data-testid="model-load"
              loading={residency.isPending}
              onClick={() => residency.mutate({ id: m.id, load: true })}
            >
              {t("modelsPage.loadNow")}
            </Button>
          )
        )}
        {!isProjector && !m.error && (
          <Button
            data-testid="model-save"
            disabled={!dirty || invalid}
            loading={save.isPending}
            onClick={() =>
              save.mutate({
                id: m.id,
                settings: {
                  load: {
                    gpu_layers: gpuLayers ?? null,
                    context_length: context ?? null,
                    threads: threads ?? null,
                    parallel: parallel ?? null,
                  },
                  projector: draft.projector,
                },
              })
            }
          >
            {t("modelsPage.save")}
          </Button>
        )}
      </Group>
      <Modal opened={confirming} onClose={() => setConfirming(false)} title={t("modelsPage.deleteTitle", { id: m.id })}>
        <Text size="sm" mb="md">
          {t(m.referenced ? "modelsPage.deleteReferenced" : "modelsPage.deleteFile", { path: m.path })}
        </Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={() => setConfirming(false)}>
            {t("unsaved.stay")}
          </Button>
          <Button
            color="red"
            data-testid="model-delete-confirm"
            loading={remove.isPending}
            onClick={() => remove.mutate(m.id, { onSettled: () => setConfirming(false) })}
          >
            {t("modelsPage.delete")}
          </Button>
        </Group>
      </Modal>
    </Paper>
  );
}

function Fact({ label, value, testid }: { label: string; value: string; testid: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" data-testid={testid}>
        {value}
      </Text>
    </div>
  );
}
