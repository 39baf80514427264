import { Alert, Button, Group, Paper, Select, SimpleGrid, Stack, Text, Textarea, Title } from "@mantine/core";
import { IconPlayerPlay, IconPlayerStop } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { UseCase } from "../../../bindings";
import { formatMs, formatRate } from "../../../lib/format";
import { useModelStatus } from "../../models/api/modelStatus";
import { useGeneration } from "../../../lib/useGeneration";
import { displayName, useUseCases } from "../../usecases/api/useCases";
import { CostEstimateTable } from "../../costs/components/CostEstimateTable";

/** Pick a use case, type a prompt, watch the answer stream in. */
export function PlaygroundPage() {
  const { t } = useTranslation();
  const { data: useCases = [] } = useUseCases();
  const { data: model } = useModelStatus();
  const [useCaseId, setUseCaseId] = useState<string>("answer_generation");
  const [prompt, setPrompt] = useState("");
  const [promptError, setPromptError] = useState<string | null>(null);
  const { state, text, start, stop } = useGeneration();

  const useCase = useCases.find((u) => u.id === useCaseId);
  const running = state.phase === "running";
  const modelReady = model?.state === "ready";

  const run = () => {
    if (!prompt.trim()) {
      setPromptError(t("playground.emptyPrompt"));
      return;
    }
    setPromptError(null);
    void start(useCaseId, prompt, null);
  };

  return (
    <Stack data-testid="playground-page" gap="md">
      <Title order={2}>{t("playground.title")}</Title>
      <Select
        data-testid="usecase-select"
        label={t("playground.useCase")}
        data={useCases.filter((u) => !u.vision && u.enabled).map((u) => ({ value: u.id, label: displayName(u, t) }))}
        value={useCaseId}
        onChange={(v) => v && setUseCaseId(v)}
        allowDeselect={false}
        disabled={running}
        w={360}
      />
      {useCase && <ParamsLine useCase={useCase} />}
      <Textarea
        data-testid="prompt-input"
        label={t("playground.prompt")}
        placeholder={t("playground.promptPlaceholder")}
        value={prompt}
        onChange={(e) => setPrompt(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !running && modelReady) run();
        }}
        error={promptError}
        autosize
        minRows={3}
        maxRows={10}
      />
      {!running && <CostEstimateTable useCaseId={useCaseId} prompt={prompt} />}
      <Group>
        <Button
          data-testid="run-button"
          leftSection={<IconPlayerPlay size={16} />}
          onClick={run}
          disabled={running || !modelReady}
        >
          {t("playground.run")}
        </Button>
        <Button
          data-testid="stop-button"
          color="red"
          variant="light"
          leftSection={<IconPlayerStop size={16} />}
          onClick={() => void stop()}
          disabled={!running}
        >
          {t("playground.stop")}
        </Button>
      </Group>

      <Paper withBorder p="md" mih={120}>
        <Text size="xs" c="dimmed" mb={4}>
          {t("playground.output")}
        </Text>
        <Text data-testid="generation-output" style={{ whiteSpace: "pre-wrap" }}>
          {text || (running ? t("playground.waiting") : "")}
        </Text>
      </Paper>

      {state.phase === "failed" && (
        <Alert data-testid="generation-error" data-code={state.code} color="red" title={t(`errors.${state.code}`, t("playground.failed"))}>
          {state.message}
        </Alert>
      )}
      {state.phase === "done" && state.summary.status === "cancelled" && (
        <Alert data-testid="generation-cancelled" color="yellow">
          {t("playground.cancelled", { count: state.summary.stats.output_tokens })}
        </Alert>
      )}
      {state.phase === "done" && (
        <SimpleGrid data-testid="generation-stats" cols={{ base: 2, md: 6 }}>
          <Stat label={t("playground.stats.model")} value={state.summary.model} testId="stat-model" />
          <Stat label={t("playground.stats.tokensIn")} value={String(state.summary.stats.input_tokens)} testId="stat-tokens-in" />
          <Stat label={t("playground.stats.tokensOut")} value={String(state.summary.stats.output_tokens)} testId="stat-tokens-out" />
          <Stat label={t("playground.stats.ttft")} value={formatMs(state.summary.stats.ttft_ms)} testId="stat-ttft" />
          <Stat label={t("playground.stats.tps")} value={formatRate(state.summary.stats.tokens_per_second)} testId="stat-tps" />
          <Stat label={t("playground.stats.latency")} value={formatMs(state.summary.stats.latency_ms)} testId="stat-latency" />
        </SimpleGrid>
      )}
    </Stack>
  );
}

function ParamsLine({ useCase }: { useCase: UseCase }) {
  const { t } = useTranslation();
  const p = useCase.use_custom_params && useCase.custom_params ? useCase.custom_params : useCase.defaults;
  return (
    <Text size="sm" c="dimmed" data-testid="params-line">
      {t("playground.defaults", {
        temperature: p.temperature,
        topK: p.top_k,
        topP: p.top_p,
        maxTokens: p.max_tokens,
        repeat: p.repeat_penalty,
      })}
    </Text>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Paper withBorder p="xs">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text data-testid={testId} fw={600} style={{ wordBreak: "break-all" }}>
        {value}
      </Text>
    </Paper>
  );
}
