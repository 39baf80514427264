import { Button, Group, Paper, Select, Text, TextInput } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { ProviderKind } from "../../../bindings";
import { errorMessage } from "../../../lib/ipc";
import { useCreateProvider } from "../api/providers";

const KINDS: { value: ProviderKind; label: string }[] = [
  { value: "openai_compatible", label: "OpenAI-compatible server" },
  { value: "ollama", label: "Ollama" },
  { value: "openai", label: "OpenAI" },
  { value: "azure", label: "Azure OpenAI" },
  { value: "anthropic", label: "Anthropic" },
  { value: "gemini", label: "Google Gemini" },
  { value: "dashscope", label: "Alibaba DashScope" },
];

/** Another provider of any kind: a second vLLM host, another Azure resource, a second account. */
export function AddProvider() {
  const { t } = useTranslation();
  const create = useCreateProvider();
  const [kind, setKind] = useState<ProviderKind>("openai_compatible");
  const [name, setName] = useState("");
  return (
    <Paper withBorder p="sm" data-testid="add-provider">
      <Group align="end" gap="sm">
        <Select
          data-testid="add-provider-kind"
          label={t("providers.add.kind")}
          data={KINDS}
          value={kind}
          allowDeselect={false}
          onChange={(v) => v && setKind(v as ProviderKind)}
          w={240}
        />
        <TextInput
          data-testid="add-provider-name"
          label={t("providers.add.name")}
          placeholder={t("providers.add.namePlaceholder")}
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          w={260}
        />
        <Button
          data-testid="add-provider-button"
          leftSection={<IconPlus size={14} />}
          variant="light"
          disabled={!name.trim()}
          loading={create.isPending}
          onClick={() => create.mutate({ kind, name }, { onSuccess: () => setName("") })}
        >
          {t("providers.add.button")}
        </Button>
      </Group>
      {create.error && (
        <Text size="sm" c="red" mt="xs" data-testid="add-provider-error">
          {errorMessage(create.error)}
        </Text>
      )}
    </Paper>
  );
}
