import { Alert, Badge, Group, Progress, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { formatBytes } from "../../../lib/format";
import { useModelStatus } from "../api/modelStatus";

/** Where the default local model stands: downloading, ready or failed. */
export function ModelStatusBanner() {
  const { t } = useTranslation();
  const { data } = useModelStatus();
  if (!data) return null;
  switch (data.state) {
    case "ready":
      return (
        <Badge data-testid="model-status" data-state="ready" color="teal" variant="light" size="lg" tt="none">
          {t("model.ready", { name: data.model.name })}
        </Badge>
      );
    case "fetching": {
      const done = data.done ?? 0;
      const total = data.total ?? 0;
      const pct = total > 0 ? (done / total) * 100 : 0;
      return (
        <Group data-testid="model-status" data-state="fetching" gap="xs" miw={320}>
          <Text size="sm">{t("model.fetching", { done: formatBytes(done), total: formatBytes(total) })}</Text>
          <Progress value={pct} w={200} animated aria-label="model download" />
        </Group>
      );
    }
    case "failed":
      return (
        <Alert data-testid="model-status" data-state="failed" color="red" variant="light" py={4}>
          {t("model.failed", { message: data.error.message })}
        </Alert>
      );
    case "missing":
      return (
        <Badge data-testid="model-status" data-state="missing" color="gray" variant="light" tt="none">
          {t("model.missing")}
        </Badge>
      );
  }
}
