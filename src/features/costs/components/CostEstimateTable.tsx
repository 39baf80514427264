import { Badge, Paper, Table, Text } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useTranslation } from "react-i18next";
import type { EstimateRequest, SamplingParams } from "../../../bindings";
import { formatUsd } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import { useCostEstimate } from "../api/costs";

type Props = { useCaseId: string; prompt: string; model?: string | null; params?: SamplingParams | null };

/** What the request would cost at each candidate of its route, before it is sent. */
export function CostEstimateTable({ useCaseId, prompt, model = null, params = null }: Props) {
  const { t } = useTranslation();
  const [debounced] = useDebouncedValue(prompt, 400);
  const request: EstimateRequest | null = debounced.trim()
    ? { use_case: useCaseId, prompt: debounced, history: [], model, params }
    : null;
  const { data, error } = useCostEstimate(request);
  if (!request) return null;
  return (
    <Paper withBorder p="xs" data-testid="cost-estimate">
      <Text size="xs" fw={500} mb={4}>
        {t("estimate.title")}
      </Text>
      {error && (
        <Text size="xs" c="red">
          {errorMessage(error)}
        </Text>
      )}
      {data && (
        <Table withRowBorders={false} verticalSpacing={2} fz="xs">
          <Table.Tbody>
            {data.map((e) => (
              <Table.Tr key={e.candidate} data-testid="cost-estimate-row" data-candidate={e.candidate} data-max={e.max_usd}>
                <Table.Td>{e.candidate}</Table.Td>
                <Table.Td>{t(e.counted ? "estimate.tokensCounted" : "estimate.tokensEstimated", { n: e.input_tokens, max: e.max_output_tokens })}</Table.Td>
                <Table.Td data-testid="cost-estimate-range">
                  {e.local ? (
                    <Badge size="xs" color="teal" variant="light">
                      {t("estimate.free")}
                    </Badge>
                  ) : e.priced ? (
                    `$${formatUsd(e.min_usd)} – $${formatUsd(e.max_usd)}`
                  ) : (
                    <Text span size="xs" c="orange">
                      {t("estimate.noPrice")}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  {e.unavailable && (
                    <Text size="xs" c="dimmed" lineClamp={1} title={e.unavailable}>
                      {e.unavailable}
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Paper>
  );
}
