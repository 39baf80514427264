import { Alert, Badge, Button, Code, CopyButton, Group, Modal, NumberInput, Paper, Stack, Switch, Table, TagsInput, Text, TextInput, Title } from "@mantine/core";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ApiServerSettings, CreatedToken } from "../../../bindings";
import { IpcError } from "../../../lib/ipc";
import { useApiPage, useCreateToken, useRevokeToken, useSaveApiSettings } from "../api/localApi";

const LOOPBACK = ["127.0.0.1", "localhost", "::1"];

/** The local HTTP API: on/off, address, limits, its state, and its tokens. */
export function LocalApiSection() {
  const { t } = useTranslation();
  const page = useApiPage();
  const save = useSaveApiSettings();
  const [draft, setDraft] = useState<ApiServerSettings | null>(null);
  useEffect(() => {
    if (page.data && !draft) setDraft(page.data.settings);
  }, [page.data, draft]);
  if (!page.data || !draft) return null;
  const { status, settings } = page.data;
  const changed = JSON.stringify(draft) !== JSON.stringify(settings);
  const exposed = !LOOPBACK.includes(draft.host.trim());
  const fieldError = (field: string) =>
    save.error instanceof IpcError && save.error.field === field ? save.error.message : undefined;
  const set = (patch: Partial<ApiServerSettings>) => setDraft({ ...draft, ...patch });

  return (
    <Paper withBorder p="md" data-testid="local-api">
      <Group justify="space-between" mb="xs">
        <Title order={4}>{t("localApi.title")}</Title>
        {status.running ? (
          <Badge color="green" data-testid="api-status">
            {t("localApi.running", { address: status.address })}
          </Badge>
        ) : (
          <Badge color="gray" data-testid="api-status">
            {t("localApi.stopped")}
          </Badge>
        )}
      </Group>
      <Text size="sm" c="dimmed" mb="sm">
        {t("localApi.hint")}
      </Text>
      {status.running && (
        <Text size="sm" mb="sm" data-testid="api-served">
          {t("localApi.served", { served: status.requests_served, refused: status.requests_refused })}
        </Text>
      )}
      {status.error && (
        <Alert color="red" mb="sm" data-testid="api-error">
          {status.error}
        </Alert>
      )}
      <Stack gap="sm">
        <Switch
          data-testid="api-enabled"
          label={t("localApi.enabled")}
          checked={draft.enabled}
          onChange={(e) => set({ enabled: e.currentTarget.checked })}
        />
        <Group grow>
          <TextInput data-testid="api-host" label={t("localApi.host")} value={draft.host} error={fieldError("host")} onChange={(e) => set({ host: e.currentTarget.value })} />
          <NumberInput data-testid="api-port" label={t("localApi.port")} min={1} max={65535} value={draft.port} error={fieldError("port")} clampBehavior="none" onChange={(v) => typeof v === "number" && set({ port: v })} />
        </Group>
        {exposed && (
          <Alert color="orange" data-testid="api-exposed">
            {t("localApi.exposed")}
          </Alert>
        )}
        <TagsInput
          data-testid="api-origins"
          label={t("localApi.origins")}
          description={t("localApi.originsHint")}
          value={draft.allowed_origins}
          error={fieldError("allowed_origins")}
          onChange={(v) => set({ allowed_origins: v })}
        />
        <Switch label={t("localApi.fetchImages")} checked={draft.fetch_image_urls} onChange={(e) => set({ fetch_image_urls: e.currentTarget.checked })} />
        <Group grow>
          <NumberInput label={t("localApi.maxBody")} min={1} max={512} value={draft.max_body_mib} error={fieldError("max_body_mib")} clampBehavior="none" onChange={(v) => typeof v === "number" && set({ max_body_mib: v })} />
          <NumberInput label={t("localApi.maxImages")} min={1} max={16} value={draft.max_images} error={fieldError("max_images")} clampBehavior="none" onChange={(v) => typeof v === "number" && set({ max_images: v })} />
          <NumberInput label={t("localApi.maxConcurrent")} min={1} max={4096} value={draft.max_concurrent} error={fieldError("max_concurrent")} clampBehavior="none" onChange={(v) => typeof v === "number" && set({ max_concurrent: v })} />
        </Group>
        {save.error && !(save.error instanceof IpcError && save.error.field) && (
          <Text size="sm" c="red">
            {save.error.message}
          </Text>
        )}
        <Group>
          <Button data-testid="api-save" disabled={!changed} loading={save.isPending} onClick={() => save.mutate(draft)}>
            {t("localApi.save")}
          </Button>
          {changed && (
            <Button variant="subtle" onClick={() => setDraft(settings)}>
              {t("localApi.discard")}
            </Button>
          )}
        </Group>
      </Stack>
      <Tokens />
    </Paper>
  );
}

function Tokens() {
  const { t } = useTranslation();
  const page = useApiPage();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState("");
  const [admin, setAdmin] = useState(false);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const tokens = page.data?.tokens ?? [];

  return (
    <Stack gap="xs" mt="lg">
      <Title order={5}>{t("localApi.tokens")}</Title>
      <Group align="flex-end">
        <TextInput
          data-testid="token-name"
          label={t("localApi.tokenName")}
          value={name}
          error={create.error?.message}
          onChange={(e) => setName(e.currentTarget.value)}
        />
        <Switch data-testid="token-admin" label={t("localApi.admin")} checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} mb={8} />
        <Button
          data-testid="token-create"
          disabled={!name.trim()}
          loading={create.isPending}
          onClick={() =>
            create.mutate(
              { name, admin },
              {
                onSuccess: (c) => {
                  setCreated(c);
                  setName("");
                  setAdmin(false);
                },
              },
            )
          }
        >
          {t("localApi.create")}
        </Button>
      </Group>
      {tokens.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t("localApi.noTokens")}
        </Text>
      ) : (
        <Table data-testid="token-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("localApi.tokenName")}</Table.Th>
              <Table.Th>{t("localApi.scope")}</Table.Th>
              <Table.Th>{t("localApi.lastUsed")}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tokens.map((tok) => (
              <Table.Tr key={tok.id} data-testid={`token-${tok.name}`}>
                <Table.Td>
                  {tok.name} <Code>{tok.prefix}…</Code>
                </Table.Td>
                <Table.Td>{tok.scope === "admin" ? t("localApi.admin") : t("localApi.use")}</Table.Td>
                <Table.Td>{tok.last_used_at ? new Date(tok.last_used_at).toLocaleString() : "—"}</Table.Td>
                <Table.Td>
                  {tok.revoked_at ? (
                    <Badge color="gray">{t("localApi.revoked")}</Badge>
                  ) : (
                    <Button size="xs" color="red" variant="light" data-testid={`revoke-${tok.name}`} onClick={() => revoke.mutate(tok.name)}>
                      {t("localApi.revoke")}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Modal opened={created !== null} onClose={() => setCreated(null)} title={t("localApi.createdTitle", { name: created?.token.name })}>
        <Stack>
          <Text size="sm">{t("localApi.createdHint")}</Text>
          <Code block data-testid="token-secret">
            {created?.secret}
          </Code>
          <Group justify="flex-end">
            <CopyButton value={created?.secret ?? ""}>
              {({ copied, copy }) => <Button onClick={copy}>{copied ? t("localApi.copied") : t("localApi.copy")}</Button>}
            </CopyButton>
            <Button variant="default" data-testid="token-done" onClick={() => setCreated(null)}>
              {t("localApi.done")}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
