import { Button, Group, Menu, Select, TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { IconDownload, IconFilterOff, IconSearch } from "@tabler/icons-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { ExportFormat, LedgerFilter, RequestStatus } from "../../../bindings";
import { EMPTY_FILTER, useLedgerFacets } from "../api/listRequests";

type Props = {
  filter: LedgerFilter;
  onChange: (f: LedgerFilter) => void;
  onExport: (format: ExportFormat) => void;
  exporting: boolean;
};

/** History's filters: days, use case, provider, model, status, caller, and a search. */
export function HistoryFilters({ filter, onChange, onExport, exporting }: Props) {
  const { t } = useTranslation();
  const { data: facets } = useLedgerFacets();
  const [search, setSearch] = useState(filter.search ?? "");
  const pushSearch = useDebouncedCallback((v: string) => onChange({ ...filter, search: v.trim() || null }), 350);
  const set = (patch: Partial<LedgerFilter>) => onChange({ ...filter, ...patch });
  const options = (values: string[] | undefined) => (values ?? []).map((v) => ({ value: v, label: v }));
  return (
    <Group align="end" gap="xs" mb="md" data-testid="history-filters">
      <TextInput type="date" size="xs" label={t("history.filters.from")} value={filter.from ?? ""} onChange={(e) => set({ from: e.currentTarget.value || null })} data-testid="history-filter-from" />
      <TextInput type="date" size="xs" label={t("history.filters.to")} value={filter.to ?? ""} onChange={(e) => set({ to: e.currentTarget.value || null })} data-testid="history-filter-to" />
      <Select size="xs" w={170} clearable searchable label={t("history.columns.useCase")} data={(facets?.use_cases ?? []).map((v) => ({ value: v, label: t(`useCases.${v}`, v) }))} value={filter.use_case} onChange={(v) => set({ use_case: v })} data-testid="history-filter-use-case" />
      <Select size="xs" w={140} clearable searchable label={t("history.filters.provider")} data={options(facets?.providers)} value={filter.provider} onChange={(v) => set({ provider: v })} data-testid="history-filter-provider" />
      <Select size="xs" w={170} clearable searchable label={t("history.columns.model")} data={options(facets?.models)} value={filter.model} onChange={(v) => set({ model: v })} data-testid="history-filter-model" />
      <Select
        size="xs"
        w={120}
        clearable
        label={t("history.columns.status")}
        data={(["ok", "error", "cancelled"] as const).map((s) => ({ value: s, label: t(`history.status.${s}`) }))}
        value={filter.status}
        onChange={(v) => set({ status: (v as RequestStatus | null) ?? null })}
        data-testid="history-filter-status"
      />
      <Select size="xs" w={130} clearable label={t("history.columns.caller")} data={options(facets?.callers)} value={filter.caller} onChange={(v) => set({ caller: v })} data-testid="history-filter-caller" />
      <TextInput
        size="xs"
        w={200}
        label={t("history.filters.search")}
        placeholder={t("history.filters.searchPlaceholder")}
        leftSection={<IconSearch size={14} />}
        value={search}
        onChange={(e) => {
          setSearch(e.currentTarget.value);
          pushSearch(e.currentTarget.value);
        }}
        data-testid="history-filter-search"
      />
      <Button
        size="xs"
        variant="subtle"
        leftSection={<IconFilterOff size={14} />}
        onClick={() => {
          setSearch("");
          onChange(EMPTY_FILTER);
        }}
        data-testid="history-filter-clear"
      >
        {t("history.filters.clear")}
      </Button>
      <Menu position="bottom-end">
        <Menu.Target>
          <Button size="xs" variant="light" leftSection={<IconDownload size={14} />} loading={exporting} data-testid="history-export">
            {t("history.export.button")}
          </Button>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Item onClick={() => onExport("csv")} data-testid="history-export-csv">
            {t("history.export.csv")}
          </Menu.Item>
          <Menu.Item onClick={() => onExport("jsonl")} data-testid="history-export-jsonl">
            {t("history.export.jsonl")}
          </Menu.Item>
        </Menu.Dropdown>
      </Menu>
    </Group>
  );
}
