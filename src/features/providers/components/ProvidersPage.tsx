import { Alert, Button, FileButton, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { IconDeviceFloppy, IconFileImport, IconLock, IconLockOpen } from "@tabler/icons-react";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useUnsavedChanges } from "../../../app/unsaved";
import { errorMessage, IpcError } from "../../../lib/ipc";
import {
  baseUrlProblem,
  draftOf,
  isDirty,
  toUpdate,
  useImportPrices,
  useProviders,
  useSaveProviders,
  type ProviderDraft,
} from "../api/providers";
import { RoutingEvents } from "../../routing/components/RoutingEvents";
import { AddProvider } from "./AddProvider";
import { GroupsPanel } from "./GroupsPanel";
import { ProviderCard } from "./ProviderCard";

/** Providers, keys and budgets; where the master key lives; the price table. */
export function ProvidersPage() {
  const { t } = useTranslation();
  const { data, error: loadError } = useProviders();
  const save = useSaveProviders();
  const importPrices = useImportPrices();
  const [drafts, setDrafts] = useState<Record<string, ProviderDraft>>({});
  const [serverError, setServerError] = useState<{ id: string; field: string; message: string } | null>(null);
  const [generalError, setGeneralError] = useState<string | null>(null);
  const [savedNote, setSavedNote] = useState(false);

  const views = useMemo(() => data?.providers ?? [], [data]);
  const dirtyIds = views.filter((v) => drafts[v.settings.id] && isDirty(drafts[v.settings.id]!, v.settings)).map((v) => v.settings.id);
  const { setDirty } = useUnsavedChanges();
  useEffect(() => setDirty(dirtyIds.length > 0), [dirtyIds.length, setDirty]);
  useEffect(() => () => setDirty(false), [setDirty]);

  const invalid = dirtyIds.some((id) => {
    const d = drafts[id]!;
    const v = views.find((x) => x.settings.id === id)!;
    return baseUrlProblem(d.settings.base_url, v.is_cloud, d.settings.allow_http, d.settings.enabled) != null;
  });

  const onSave = async () => {
    setServerError(null);
    setGeneralError(null);
    try {
      await save.mutateAsync(dirtyIds.map((id) => toUpdate(drafts[id]!)));
      setDrafts({});
      setSavedNote(true);
    } catch (e) {
      const field = e instanceof IpcError ? e.field : null;
      const [id, name] = field?.includes(".") ? [field.slice(0, field.indexOf(".")), field.slice(field.indexOf(".") + 1)] : ["", ""];
      if (id) setServerError({ id, field: name, message: errorMessage(e) });
      else setGeneralError(errorMessage(e));
    }
  };

  const vault = data?.vault;
  const prices = data?.prices;

  return (
    <Stack data-testid="providers-page" gap="md">
      <Group justify="space-between">
        <Title order={2}>{t("providers.title")}</Title>
        <Button
          data-testid="save-all-button"
          leftSection={<IconDeviceFloppy size={16} />}
          disabled={dirtyIds.length === 0 || invalid}
          loading={save.isPending}
          onClick={() => void onSave()}
        >
          {t("providers.saveAll")}
        </Button>
      </Group>
      {loadError && <Alert color="red">{errorMessage(loadError)}</Alert>}
      {vault?.problem && (
        <Alert data-testid="vault-problem" color="red" icon={<IconLockOpen size={16} />}>
          {vault.problem}
        </Alert>
      )}
      {vault?.storage?.kind === "keyring" && (
        <Text size="sm" c="dimmed" data-testid="vault-storage">
          <IconLock size={14} /> {t("providers.vault.keyring")}
        </Text>
      )}
      {vault?.storage?.kind === "file" && (
        <Alert data-testid="vault-storage" color="yellow" icon={<IconLockOpen size={16} />}>
          {t("providers.vault.file", { path: vault.storage.path, reason: vault.storage.reason })}
        </Alert>
      )}
      {dirtyIds.length > 0 && (
        <Alert data-testid="unsaved-changes" color="yellow" py="xs">
          {t("providers.unsaved", { count: dirtyIds.length })}
        </Alert>
      )}
      {savedNote && dirtyIds.length === 0 && (
        <Alert data-testid="providers-saved" color="teal" py="xs">
          {t("providers.saved")}
        </Alert>
      )}
      {(generalError || serverError) && (
        <Alert data-testid="providers-save-error" color="red" py="xs">
          {generalError ?? serverError?.message}
        </Alert>
      )}
      <AddProvider />
      <SimpleGrid cols={{ base: 1, md: 2, xl: 3 }}>
        {views.map((v) => {
          const id = v.settings.id;
          const draft = drafts[id] ?? draftOf(v.settings);
          return (
            <ProviderCard
              key={id}
              view={v}
              draft={draft}
              dirty={dirtyIds.includes(id)}
              onChange={(d) => {
                setSavedNote(false);
                setDrafts((all) => ({ ...all, [id]: d }));
              }}
              serverError={serverError?.id === id ? serverError : null}
            />
          );
        })}
      </SimpleGrid>
      {prices && (
        <Group justify="space-between" data-testid="prices-panel">
          <Stack gap={0}>
            <Text size="sm">{t("providers.prices.builtin", { count: prices.builtin_count, source: prices.builtin_source })}</Text>
            <Text size="sm" c="dimmed" data-testid="prices-imported">
              {prices.imported_count > 0
                ? t("providers.prices.imported", { count: prices.imported_count, source: prices.imported_source, at: prices.imported_at })
                : t("providers.prices.none")}
            </Text>
            {importPrices.error && (
              <Text size="sm" c="red" data-testid="prices-import-error">
                {errorMessage(importPrices.error)}
              </Text>
            )}
          </Stack>
          <FileButton
            accept="application/json,.json"
            onChange={(file) => {
              if (file) void file.text().then((text) => importPrices.mutate({ name: file.name, text }));
            }}
          >
            {(props) => (
              <Button {...props} variant="default" leftSection={<IconFileImport size={16} />} data-testid="prices-import-button" loading={importPrices.isPending}>
                {t("providers.prices.import")}
              </Button>
            )}
          </FileButton>
        </Group>
      )}
      <GroupsPanel groups={data?.groups ?? []} providers={views} />
      <RoutingEvents />
    </Stack>
  );
}
