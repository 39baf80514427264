import { Alert, Button, Group, Paper, Text, TextInput } from "@mantine/core";
import { IconPlayerPlay } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { formatMs, formatRate } from "../../../lib/format";
import { useGeneration } from "../../../lib/useGeneration";
import { CostEstimateTable } from "../../costs/components/CostEstimateTable";

const SAMPLES: Record<string, string> = {
  intent_classification: "What did we decide about the budget in last week's meeting?",
  entity_extraction: "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine.",
  answer_generation: "Context: The office opens at 9 am. Question: When does the office open?",
  followup_titles: "Answer: The office opens at 9 am on weekdays.",
  query_decomposition: "Compare the revenue of our two biggest customers and explain the difference.",
};

/** Runs a sample prompt with the use case's saved configuration. */
export function TryIt({ useCaseId, disabled }: { useCaseId: string; disabled: boolean }) {
  const { t } = useTranslation();
  const [prompt, setPrompt] = useState(SAMPLES[useCaseId] ?? t("useCasesPage.samplePrompt"));
  const { state, text, start } = useGeneration();
  const running = state.phase === "running";
  return (
    <Paper withBorder p="md">
      <Text fw={500} mb="xs">
        {t("useCasesPage.tryIt")}
      </Text>
      <Group align="end" wrap="nowrap">
        <TextInput
          data-testid={`try-it-prompt-${useCaseId}`}
          aria-label={t("useCasesPage.tryItPrompt")}
          value={prompt}
          onChange={(e) => setPrompt(e.currentTarget.value)}
          style={{ flex: 1 }}
        />
        <Button
          data-testid={`try-it-button-${useCaseId}`}
          leftSection={<IconPlayerPlay size={16} />}
          onClick={() => prompt.trim() && void start(useCaseId, prompt, null)}
          loading={running}
          disabled={disabled || !prompt.trim()}
        >
          {t("useCasesPage.tryIt")}
        </Button>
      </Group>
      {disabled ? (
        <Text size="xs" c="dimmed" mt={4}>
          {t("useCasesPage.saveBeforeTry")}
        </Text>
      ) : (
        !running && (
          <div style={{ marginTop: 8 }}>
            <CostEstimateTable useCaseId={useCaseId} prompt={prompt} />
          </div>
        )
      )}
      {(text || running) && (
        <Text data-testid={`try-it-output-${useCaseId}`} mt="sm" style={{ whiteSpace: "pre-wrap" }} lineClamp={8}>
          {text || t("playground.waiting")}
        </Text>
      )}
      {state.phase === "done" && (
        <Text data-testid={`try-it-stats-${useCaseId}`} size="xs" c="dimmed" mt={4}>
          {t("useCasesPage.tryItStats", {
            model: state.summary.model,
            temperature: state.summary.params.temperature,
            tokens: state.summary.stats.output_tokens,
            ttft: formatMs(state.summary.stats.ttft_ms),
            tps: formatRate(state.summary.stats.tokens_per_second),
          })}
        </Text>
      )}
      {state.phase === "failed" && (
        <Alert data-testid={`try-it-error-${useCaseId}`} color="red" mt="sm">
          {state.message}
        </Alert>
      )}
    </Paper>
  );
}
