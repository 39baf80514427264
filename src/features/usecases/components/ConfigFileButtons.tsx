import { Alert, Button, Code, FileButton, Group, Modal, ScrollArea, Stack, Table, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { IconDownload, IconUpload } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { ImportPreview } from "../../../bindings";
import { errorMessage } from "../../../lib/ipc";
import { applyImport, exportConfig, previewImport } from "../api/configFile";
import { useCasesQueryKey } from "../api/useCases";

/** Export the configuration to a file; import one with a preview of what changes. */
export function ConfigFileButtons({ disabled }: { disabled: boolean }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [exported, setExported] = useState<string | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const [importText, setImportText] = useState<string | null>(null);
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [importError, setImportError] = useState<string | null>(null);
  const [applied, setApplied] = useState<number | null>(null);

  const onExport = async () => {
    setExportError(null);
    try {
      setExported((await exportConfig()).path);
    } catch (e) {
      setExportError(errorMessage(e));
    }
  };

  const onFile = async (file: File | null) => {
    if (!file) return;
    setPreview(null);
    setApplied(null);
    setImportError(null);
    const text = await file.text();
    setImportText(text);
    try {
      setPreview(await previewImport(text));
    } catch (e) {
      setImportError(errorMessage(e));
    }
  };

  const onApply = async () => {
    if (importText == null) return;
    try {
      setApplied(await applyImport(importText));
      setPreview(null);
      await client.invalidateQueries({ queryKey: useCasesQueryKey });
    } catch (e) {
      setImportError(errorMessage(e));
    }
  };

  const close = () => {
    setImportText(null);
    setPreview(null);
    setImportError(null);
    setApplied(null);
  };

  return (
    <>
      <Button data-testid="export-config-button" variant="default" leftSection={<IconDownload size={16} />} onClick={() => void onExport()}>
        {t("useCasesPage.export")}
      </Button>
      <FileButton onChange={(f) => void onFile(f)} accept="application/json,.json">
        {(props) => (
          <Button {...props} data-testid="import-config-button" variant="default" leftSection={<IconUpload size={16} />} disabled={disabled}>
            {t("useCasesPage.import")}
          </Button>
        )}
      </FileButton>
      <Modal opened={exported != null || exportError != null} onClose={() => { setExported(null); setExportError(null); }} title={t("useCasesPage.export")}>
        {exported && (
          <Text data-testid="export-result" size="sm">
            {t("useCasesPage.exportedTo")} <Code>{exported}</Code>
          </Text>
        )}
        {exportError && <Alert color="red">{exportError}</Alert>}
      </Modal>
      <Modal opened={importText != null} onClose={close} title={t("useCasesPage.import")} size="xl">
        <Stack data-testid="import-modal">
          {importError && (
            <Alert data-testid="import-error" color="red" title={t("useCasesPage.importRefused")}>
              {importError}
            </Alert>
          )}
          {applied != null && (
            <Alert data-testid="import-applied" color="teal">
              {t("useCasesPage.importApplied", { count: applied })}
            </Alert>
          )}
          {preview && (
            <>
              <Text size="sm">{t("useCasesPage.importSummary", { count: preview.use_cases_in_file, changes: preview.changes.length })}</Text>
              {preview.new_use_cases.length > 0 && (
                <Text size="sm">{t("useCasesPage.importNew", { ids: preview.new_use_cases.join(", ") })}</Text>
              )}
              {preview.unknown_models.length > 0 && (
                <Alert data-testid="import-unknown-models" color="yellow">
                  {t("useCasesPage.importUnknownModels", { models: preview.unknown_models.join(", ") })}
                </Alert>
              )}
              {preview.changes.length > 0 && (
                <ScrollArea.Autosize mah={320}>
                  <Table data-testid="import-preview" striped>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>{t("useCasesPage.importUseCase")}</Table.Th>
                        <Table.Th>{t("audit.field")}</Table.Th>
                        <Table.Th>{t("audit.old")}</Table.Th>
                        <Table.Th>{t("audit.new")}</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {preview.changes.map((c) => (
                        <Table.Tr key={`${c.use_case}.${c.field}`}>
                          <Table.Td>{c.use_case}</Table.Td>
                          <Table.Td>{c.field}</Table.Td>
                          <Table.Td>{c.old_value}</Table.Td>
                          <Table.Td>{c.new_value}</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </ScrollArea.Autosize>
              )}
              <Group justify="flex-end">
                <Button variant="default" onClick={close}>
                  {t("useCasesPage.cancel")}
                </Button>
                <Button
                  data-testid="import-apply-button"
                  onClick={() => void onApply()}
                  disabled={preview.changes.length === 0 && preview.new_use_cases.length === 0}
                >
                  {t("useCasesPage.importApply")}
                </Button>
              </Group>
            </>
          )}
        </Stack>
      </Modal>
    </>
  );
}
