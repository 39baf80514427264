import { ActionIcon, Badge, Button, Group, MultiSelect, Paper, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { BalanceStrategy, ProviderGroup, ProviderView } from "../../../bindings";
import { errorMessage } from "../../../lib/ipc";
import { useCreateGroup, useDeleteGroup } from "../api/providers";

const STRATEGIES: BalanceStrategy[] = ["round_robin", "least_busy", "lowest_latency", "weighted_score"];

/** Endpoint groups: several provider instances that serve the same models, used as one candidate. */
export function GroupsPanel({ groups, providers }: { groups: ProviderGroup[]; providers: ProviderView[] }) {
  const { t } = useTranslation();
  const create = useCreateGroup();
  const remove = useDeleteGroup();
  const [name, setName] = useState("");
  const [members, setMembers] = useState<string[]>([]);
  const [strategy, setStrategy] = useState<BalanceStrategy>("round_robin");
  const nameOf = (id: string) => providers.find((p) => p.settings.id === id)?.settings.display_name ?? id;
  return (
    <Paper withBorder p="md" data-testid="groups-panel">
      <Title order={4} mb={4}>
        {t("groups.title")}
      </Title>
      <Text size="xs" c="dimmed" mb="sm">
        {t("groups.hint")}
      </Text>
      {groups.length > 0 && (
        <Table mb="sm">
          <Table.Tbody>
            {groups.map((g) => (
              <Table.Tr key={g.id} data-testid={`group-${g.id}`}>
                <Table.Td fw={500}>{g.name}</Table.Td>
                <Table.Td>
                  <Text size="xs" c="dimmed">
                    {g.id}/…
                  </Text>
                </Table.Td>
                <Table.Td>{g.members.map(nameOf).join(", ")}</Table.Td>
                <Table.Td>
                  <Badge variant="light" size="sm" style={{ overflow: "visible" }}>
                    {t(`groups.strategies.${g.strategy}`)}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <ActionIcon
                    variant="subtle"
                    color="red"
                    aria-label={t("groups.remove")}
                    data-testid={`group-remove-${g.id}`}
                    loading={remove.isPending && remove.variables === g.id}
                    onClick={() => remove.mutate(g.id)}
                  >
                    <IconTrash size={16} />
                  </ActionIcon>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Stack gap="xs">
        <Group align="end" gap="sm">
          <TextInput
            data-testid="group-name"
            label={t("groups.name")}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            w={200}
          />
          <MultiSelect
            data-testid="group-members"
            label={t("groups.members")}
            data={providers.map((p) => ({ value: p.settings.id, label: p.settings.display_name }))}
            value={members}
            onChange={setMembers}
            w={320}
          />
          <Select
            data-testid="group-strategy"
            label={t("groups.strategy")}
            data={STRATEGIES.map((s) => ({ value: s, label: t(`groups.strategies.${s}`) }))}
            value={strategy}
            allowDeselect={false}
            onChange={(v) => v && setStrategy(v as BalanceStrategy)}
            w={200}
          />
          <Button
            data-testid="group-add-button"
            variant="light"
            leftSection={<IconPlus size={14} />}
            disabled={!name.trim() || members.length === 0}
            loading={create.isPending}
            onClick={() =>
              create.mutate(
                { name, members, strategy },
                {
                  onSuccess: () => {
                    setName("");
                    setMembers([]);
                  },
                },
              )
            }
          >
            {t("groups.add")}
          </Button>
        </Group>
        {(create.error || remove.error) && (
          <Text size="sm" c="red" data-testid="group-error">
            {errorMessage(create.error ?? remove.error)}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
