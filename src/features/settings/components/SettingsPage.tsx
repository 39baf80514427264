import { Paper, SegmentedControl, Select, Stack, Switch, Table, Text, Title, useMantineColorScheme } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { commands } from "../../../bindings";
import { formatBytes } from "../../../lib/format";
import { unwrap } from "../../../lib/ipc";
import { LANGUAGES } from "../../../i18n";
import { writePref, type LanguagePref, type ThemePref } from "../../../lib/prefs";
import { useRoutingSettings, useSaveRoutingSettings } from "../../routing/api/routing";
import { LocalApiSection } from "./LocalApiSection";

/** Language, theme, routing, the local API and facts about this installation. */
export function SettingsPage() {
  const { t, i18n } = useTranslation();
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  const { data: info } = useQuery({ queryKey: ["app-info"], queryFn: () => commands.appInfo() });
  const devices = useQuery({ queryKey: ["engine-devices"], queryFn: async () => unwrap(await commands.engineDevices()) });
  const routing = useRoutingSettings();
  const saveRouting = useSaveRoutingSettings();

  return (
    <Stack data-testid="settings-page" gap="lg" maw={640}>
      <Title order={2}>{t("settings.title")}</Title>
      <Select
        data-testid="language-select"
        label={t("settings.language")}
        data={LANGUAGES.map((l) => ({ value: l.value, label: l.label }))}
        value={i18n.language}
        allowDeselect={false}
        onChange={(v) => {
          if (!v) return;
          void i18n.changeLanguage(v);
          void writePref("language", v as LanguagePref);
        }}
      />
      <div>
        <Text size="sm" fw={500} mb={4}>
          {t("settings.theme")}
        </Text>
        <SegmentedControl
          data-testid="theme-control"
          value={colorScheme}
          onChange={(v) => {
            setColorScheme(v as ThemePref);
            void writePref("theme", v as ThemePref);
          }}
          data={(["light", "dark", "auto"] as const).map((v) => ({ value: v, label: t(`settings.themes.${v}`) }))}
        />
      </div>
      <Paper withBorder p="md">
        <Title order={4} mb="xs">
          {t("settings.routing")}
        </Title>
        <Switch
          data-testid="local-only-switch"
          label={t("settings.localOnly")}
          description={t("settings.localOnlyHint")}
          checked={routing.data?.local_only ?? false}
          disabled={!routing.data || saveRouting.isPending}
          onChange={(e) => saveRouting.mutate({ ...routing.data, local_only: e.currentTarget.checked })}
        />
        {saveRouting.error && (
          <Text size="sm" c="red" mt="xs">
            {saveRouting.error.message}
          </Text>
        )}
      </Paper>
      <LocalApiSection />
      <Paper withBorder p="md">
        <Title order={4} mb="xs">
          {t("settings.about")}
        </Title>
        <Table>
          <Table.Tbody>
            <Row label={t("settings.version")} value={info?.version} />
            <Row label={t("settings.dataDir")} value={info?.data_dir} />
            <Row label={t("settings.database")} value={info?.database} />
            <Row label={t("settings.threads")} value={info ? String(info.threads) : undefined} />
          </Table.Tbody>
        </Table>
      </Paper>
      <Paper withBorder p="md" data-testid="engine-devices">
        <Title order={4} mb="xs">
          {t("settings.devices")}
        </Title>
        {devices.error && (
          <Text size="sm" c="red">
            {devices.error.message}
          </Text>
        )}
        <Table>
          <Table.Tbody>
            {(devices.data ?? []).map((d) => (
              <Table.Tr key={d.name} data-testid="engine-device">
                <Table.Td>{d.name}</Table.Td>
                <Table.Td>{d.backend}</Table.Td>
                <Table.Td>{d.description}</Table.Td>
                <Table.Td>
                  {t("settings.deviceMemory", { free: formatBytes(d.memory_free_bytes), total: formatBytes(d.memory_total_bytes) })}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Paper>
    </Stack>
  );
}

function Row({ label, value }: { label: string; value: string | undefined }) {
  return (
    <Table.Tr>
      <Table.Td fw={500}>{label}</Table.Td>
      <Table.Td style={{ wordBreak: "break-all" }}>{value ?? "…"}</Table.Td>
    </Table.Tr>
  );
}
