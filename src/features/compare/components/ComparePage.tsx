import { ActionIcon, Alert, Button, Group, MultiSelect, Paper, Progress, Select, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { IconFileImport, IconPlayerPlay, IconPlayerStop, IconSparkles, IconTrash } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { ComparisonProgress } from "../../../bindings";
import { errorMessage } from "../../../lib/ipc";
import { displayName, useModels, useUseCases } from "../../usecases/api/useCases";
import { promptsFromPickedFile, samplePrompts, stopComparison, useComparisonReport, useComparisons, useDeleteComparison, useRunComparison } from "../api/compare";
import { ComparisonView } from "./ComparisonView";

/** Runs a set of prompts against local and cloud candidates and compares them side by side. */
export function ComparePage() {
  const { t, i18n } = useTranslation();
  const { data: useCases = [] } = useUseCases();
  const { data: models = [] } = useModels();
  const { data: saved = [] } = useComparisons();
  const [name, setName] = useState(() => t("compare.defaultName"));
  const [useCase, setUseCase] = useState("answer_generation");
  const [candidates, setCandidates] = useState<string[]>([]);
  const [prompts, setPrompts] = useState("");
  const [progress, setProgress] = useState<ComparisonProgress | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const run = useRunComparison(setProgress);
  const remove = useDeleteComparison();
  const { data: report } = useComparisonReport(selected);
  const promptList = prompts.split("\n").map((p) => p.trim()).filter(Boolean);
  const textModels = models.filter((m) => !m.capabilities.includes("embedding"));

  const start = () => {
    setProgress(null);
    run.mutate(
      { name, use_case: useCase, candidates, prompts: promptList },
      { onSuccess: (r) => setSelected(r.id) },
    );
  };
  const loadFile = async () => {
    setFileError(null);
    try {
      const loaded = await promptsFromPickedFile();
      if (loaded) setPrompts(loaded.join("\n"));
    } catch (e) {
      setFileError(errorMessage(e));
    }
  };

  return (
    <Stack data-testid="compare-page">
      <Title order={2}>{t("compare.title")}</Title>
      <Text size="sm" c="dimmed">
        {t("compare.intro")}
      </Text>
      <Paper withBorder p="md">
        <Stack gap="sm">
          <Group align="end">
            <TextInput label={t("compare.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} w={260} data-testid="compare-name" />
            <Select
              label={t("compare.useCase")}
              data={useCases.filter((u) => !u.vision).map((u) => ({ value: u.id, label: displayName(u, t) }))}
              value={useCase}
              onChange={(v) => v && setUseCase(v)}
              allowDeselect={false}
              w={260}
              data-testid="compare-use-case"
            />
          </Group>
          <MultiSelect
            label={t("compare.candidates")}
            description={t("compare.candidatesHint")}
            data={textModels.map((m) => ({ value: m.id, label: m.available ? m.id : `${m.id} (${t("compare.unavailable")})` }))}
            value={candidates}
            onChange={setCandidates}
            maxValues={8}
            searchable
            data-testid="compare-candidates"
          />
          <Textarea
            label={t("compare.prompts")}
            description={t("compare.promptsHint", { count: promptList.length })}
            value={prompts}
            onChange={(e) => setPrompts(e.currentTarget.value)}
            autosize
            minRows={3}
            maxRows={10}
            data-testid="compare-prompts"
            error={fileError}
          />
          <Group>
            <Button variant="default" size="xs" leftSection={<IconSparkles size={14} />} onClick={async () => setPrompts((await samplePrompts()).join("\n"))} data-testid="compare-samples">
              {t("compare.samples")}
            </Button>
            <Button variant="default" size="xs" leftSection={<IconFileImport size={14} />} onClick={() => void loadFile()} data-testid="compare-load-file">
              {t("compare.loadFile")}
            </Button>
          </Group>
          <Group>
            <Button leftSection={<IconPlayerPlay size={16} />} onClick={start} loading={run.isPending} disabled={candidates.length < 2 || promptList.length === 0} data-testid="compare-run">
              {t("compare.run")}
            </Button>
            <Button color="red" variant="light" leftSection={<IconPlayerStop size={16} />} disabled={!run.isPending} onClick={() => void stopComparison()} data-testid="compare-stop">
              {t("compare.stop")}
            </Button>
          </Group>
          {run.isPending && progress && (
            <div data-testid="compare-progress" data-done={progress.done} data-total={progress.total}>
              <Progress value={(progress.done / Math.max(1, progress.total)) * 100} />
              <Text size="xs" c="dimmed">
                {t("compare.progress", { done: progress.done, total: progress.total, candidate: progress.candidate })}
              </Text>
            </div>
          )}
          {run.error && (
            <Alert color="red" data-testid="compare-error">
              {errorMessage(run.error)}
            </Alert>
          )}
        </Stack>
      </Paper>
      {saved.length > 0 && (
        <Paper withBorder p="md">
          <Text fw={500} mb="xs">
            {t("compare.saved")}
          </Text>
          <Table data-testid="compare-saved" highlightOnHover>
            <Table.Tbody>
              {saved.map((s) => (
                <Table.Tr key={s.id} data-testid="compare-saved-row" style={{ cursor: "pointer" }} bg={s.id === selected ? "var(--mantine-color-default-hover)" : undefined}>
                  <Table.Td onClick={() => setSelected(s.id)}>{s.name}</Table.Td>
                  <Table.Td onClick={() => setSelected(s.id)}>{new Date(s.created_at).toLocaleString(i18n.language)}</Table.Td>
                  <Table.Td onClick={() => setSelected(s.id)}>{s.candidates.join(" · ")}</Table.Td>
                  <Table.Td onClick={() => setSelected(s.id)}>{t("compare.promptCount", { count: s.prompts })}</Table.Td>
                  <Table.Td>
                    <ActionIcon variant="subtle" color="red" aria-label={t("compare.delete")} onClick={() => remove.mutate(s.id, { onSuccess: () => s.id === selected && setSelected(null) })}>
                      <IconTrash size={16} />
                    </ActionIcon>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Paper>
      )}
      {report && <ComparisonView report={report} />}
    </Stack>
  );
}
