import { AppShell, Burger, Group, NavLink, Text, Title } from "@mantine/core";
import { IconHistory, IconMessageChatbot, IconSettings } from "@tabler/icons-react";
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { HistoryPage } from "../features/history/components/HistoryPage";
import { ModelStatusBanner } from "../features/models/components/ModelStatusBanner";
import { PlaygroundPage } from "../features/playground/components/PlaygroundPage";
import { SettingsPage } from "../features/settings/components/SettingsPage";
import { writePref } from "../lib/prefs";

export type PageId = "playground" | "history" | "settings";

const PAGES: { id: PageId; icon: ReactNode; render: () => ReactNode }[] = [
  { id: "playground", icon: <IconMessageChatbot size={18} />, render: () => <PlaygroundPage /> },
  { id: "history", icon: <IconHistory size={18} />, render: () => <HistoryPage /> },
  { id: "settings", icon: <IconSettings size={18} />, render: () => <SettingsPage /> },
];

/** The window: header with model status, navigation, and the current page. */
export function App({ initialNavCollapsed = false }: { initialNavCollapsed?: boolean }) {
  const { t } = useTranslation();
  const [page, setPage] = useState<PageId>("playground");
  const [collapsed, setCollapsed] = useState(initialNavCollapsed);
  const current = PAGES.find((p) => p.id === page) ?? PAGES[0]!;

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: collapsed ? 64 : 220, breakpoint: 0 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={!collapsed}
              size="sm"
              aria-label="navigation"
              onClick={() => {
                setCollapsed(!collapsed);
                void writePref("navCollapsed", !collapsed);
              }}
            />
            <Title order={3}>{t("app.title")}</Title>
            <Text size="sm" c="dimmed" visibleFrom="sm">
              {t("app.tagline")}
            </Text>
          </Group>
          <ModelStatusBanner />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {PAGES.map((p) => (
          <NavLink
            key={p.id}
            data-testid={`nav-${p.id}`}
            label={collapsed ? undefined : t(`nav.${p.id}`)}
            aria-label={t(`nav.${p.id}`)}
            leftSection={p.icon}
            active={p.id === page}
            onClick={() => setPage(p.id)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{current.render()}</AppShell.Main>
    </AppShell>
  );
}
