import { Alert, Button, Group, Modal, Select, Stack, Switch, TextInput } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { ModelOption, UseCase } from "../../../bindings";
import { errorMessage } from "../../../lib/ipc";
import { displayName, modelsFor, useCreateUseCase, useDeleteUseCase } from "../api/useCases";

const ID_PATTERN = /^[a-z][a-z0-9_]{1,63}$/;

/** Adds an admin-defined use case, starting from another one's defaults. */
export function AddUseCase({ useCases, models, onCreated }: { useCases: UseCase[]; models: ModelOption[]; onCreated: (id: string) => void }) {
  const { t } = useTranslation();
  const create = useCreateUseCase();
  const [open, setOpen] = useState(false);
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [vision, setVision] = useState(false);
  const [template, setTemplate] = useState<string | null>("answer_generation");
  const [model, setModel] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const choices = modelsFor({ vision }, models).filter((m) => m.available);
  const idError = id && !ID_PATTERN.test(id) ? t("useCasesPage.idRule") : useCases.some((u) => u.id === id) ? t("useCasesPage.idTaken") : undefined;
  const base = useCases.find((u) => u.id === template);
  const ready = id && !idError && name.trim() && model && base;

  const submit = async () => {
    if (!ready || !base || !model) return;
    setError(null);
    try {
      await create.mutateAsync({ id, name: name.trim(), description: description.trim(), vision, model, defaults: base.defaults });
      setOpen(false);
      onCreated(id);
      setId("");
      setName("");
      setDescription("");
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <>
      <Button data-testid="add-usecase-button" variant="light" leftSection={<IconPlus size={16} />} onClick={() => setOpen(true)} fullWidth mt="xs">
        {t("useCasesPage.add")}
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={t("useCasesPage.add")}>
        <Stack>
          <TextInput data-testid="new-usecase-id" label={t("useCasesPage.id")} description={t("useCasesPage.idRule")} value={id} onChange={(e) => setId(e.currentTarget.value.trim())} error={idError} />
          <TextInput data-testid="new-usecase-name" label={t("useCasesPage.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TextInput label={t("useCasesPage.description")} value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
          <Switch label={t("useCasesPage.visionUseCase")} checked={vision} onChange={(e) => { setVision(e.currentTarget.checked); setModel(null); }} />
          <Select
            label={t("useCasesPage.startFrom")}
            data={useCases.map((u) => ({ value: u.id, label: displayName(u, t) }))}
            value={template}
            onChange={setTemplate}
            allowDeselect={false}
          />
          <Select
            data-testid="new-usecase-model"
            label={t("useCasesPage.model")}
            data={choices.map((m) => ({ value: m.id, label: m.id }))}
            value={model}
            onChange={setModel}
            description={choices.length === 0 ? t("useCasesPage.noVisionModel") : undefined}
          />
          {error && <Alert color="red">{error}</Alert>}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              {t("useCasesPage.cancel")}
            </Button>
            <Button data-testid="create-usecase-button" onClick={() => void submit()} disabled={!ready} loading={create.isPending}>
              {t("useCasesPage.create")}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** Deletes an admin-defined use case after asking; built-ins can only be disabled. */
export function DeleteUseCase({ useCase, onDeleted }: { useCase: UseCase; onDeleted: () => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = useDeleteUseCase();
  return (
    <>
      <Button data-testid={`delete-usecase-button-${useCase.id}`} color="red" variant="subtle" size="xs" onClick={() => setOpen(true)}>
        {t("useCasesPage.delete")}
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={t("useCasesPage.delete")}>
        <Stack>
          {t("useCasesPage.deleteConfirm", { name: useCase.name })}
          {error && <Alert color="red">{error}</Alert>}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              {t("useCasesPage.cancel")}
            </Button>
            <Button
              data-testid="confirm-delete-usecase"
              color="red"
              loading={remove.isPending}
              onClick={async () => {
                try {
                  await remove.mutateAsync(useCase.id);
                  setOpen(false);
                  onDeleted();
                } catch (e) {
                  setError(errorMessage(e));
                }
              }}
            >
              {t("useCasesPage.delete")}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
