import { Alert, Group, Select, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { AuditFilter } from "../../../bindings";
import { errorMessage } from "../../../lib/ipc";
import { useAudit } from "../api/audit";

const ACTIONS = ["create", "update", "delete", "import"] as const;

/** Who changed which configuration, when, from what to what. */
export function AuditPage() {
  const { t, i18n } = useTranslation();
  const [entityId, setEntityId] = useState("");
  const [actor, setActor] = useState("");
  const [action, setAction] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [debounced] = useDebouncedValue({ entityId, actor, text }, 250);
  const filter: AuditFilter = {
    entity: null,
    entity_id: debounced.entityId || null,
    actor: debounced.actor || null,
    action,
    text: debounced.text || null,
    limit: 500,
  };
  const { data = [], error } = useAudit(filter);

  return (
    <div data-testid="audit-page">
      <Title order={2} mb="md">
        {t("audit.title")}
      </Title>
      <Group mb="md" align="end">
        <TextInput data-testid="audit-filter-entity" label={t("audit.useCase")} value={entityId} onChange={(e) => setEntityId(e.currentTarget.value)} w={200} />
        <TextInput data-testid="audit-filter-actor" label={t("audit.who")} value={actor} onChange={(e) => setActor(e.currentTarget.value)} w={160} />
        <Select
          data-testid="audit-filter-action"
          label={t("audit.action")}
          data={ACTIONS.map((a) => ({ value: a, label: t(`audit.actions.${a}`) }))}
          value={action}
          onChange={setAction}
          clearable
          w={160}
        />
        <TextInput data-testid="audit-filter-text" label={t("audit.search")} value={text} onChange={(e) => setText(e.currentTarget.value)} w={220} />
      </Group>
      {error && <Alert color="red">{errorMessage(error)}</Alert>}
      {data.length === 0 ? (
        <Text c="dimmed" data-testid="audit-empty">
          {t("audit.empty")}
        </Text>
      ) : (
        <Table data-testid="audit-table" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("audit.when")}</Table.Th>
              <Table.Th>{t("audit.who")}</Table.Th>
              <Table.Th>{t("audit.action")}</Table.Th>
              <Table.Th>{t("audit.useCase")}</Table.Th>
              <Table.Th>{t("audit.field")}</Table.Th>
              <Table.Th>{t("audit.old")}</Table.Th>
              <Table.Th>{t("audit.new")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {data.map((e) => (
              <Table.Tr key={e.id} data-testid="audit-row">
                <Table.Td style={{ whiteSpace: "nowrap" }}>{new Date(e.at).toLocaleString(i18n.language)}</Table.Td>
                <Table.Td>{e.actor}</Table.Td>
                <Table.Td>{t(`audit.actions.${e.action}`, e.action)}</Table.Td>
                <Table.Td>{e.entity_id}</Table.Td>
                <Table.Td>{e.field ?? "–"}</Table.Td>
                <Table.Td>
                  <Text size="xs" lineClamp={2} style={{ wordBreak: "break-all" }}>{e.old_value ?? ""}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" lineClamp={2} style={{ wordBreak: "break-all" }}>{e.new_value ?? ""}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </div>
  );
}
