import { AppShell, Burger, Button, Group, Modal, NavLink, Text, Title } from "@mantine/core";
import { IconAdjustments, IconBox, IconCloud, IconCoin, IconScale, IconHistory, IconListCheck, IconMessageChatbot, IconPhoto, IconSettings } from "@tabler/icons-react";
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { AuditPage } from "../features/audit/components/AuditPage";
import { ComparePage } from "../features/compare/components/ComparePage";
import { CostsPage } from "../features/costs/components/CostsPage";
import { HistoryPage } from "../features/history/components/HistoryPage";
import { ModelStatusBanner } from "../features/models/components/ModelStatusBanner";
import { ModelsPage } from "../features/models/components/ModelsPage";
import { PlaygroundPage } from "../features/playground/components/PlaygroundPage";
import { ProvidersPage } from "../features/providers/components/ProvidersPage";
import { useRoutingToasts } from "../features/routing/components/useRoutingToasts";
import { SettingsPage } from "../features/settings/components/SettingsPage";
import { UseCasesPage } from "../features/usecases/components/UseCasesPage";
import { VisionPage } from "../features/vision/components/VisionPage";
import { writePref } from "../lib/prefs";
import { useUnsavedChanges } from "./unsaved";

export type PageId = "playground" | "vision" | "usecases" | "models" | "providers" | "costs" | "compare" | "history" | "audit" | "settings";

const PAGES: { id: PageId; icon: ReactNode; render: () => ReactNode }[] = [
  { id: "playground", icon: <IconMessageChatbot size={18} />, render: () => <PlaygroundPage /> },
  { id: "vision", icon: <IconPhoto size={18} />, render: () => <VisionPage /> },
  { id: "usecases", icon: <IconAdjustments size={18} />, render: () => <UseCasesPage /> },
  { id: "models", icon: <IconBox size={18} />, render: () => <ModelsPage /> },
  { id: "providers", icon: <IconCloud size={18} />, render: () => <ProvidersPage /> },
  { id: "costs", icon: <IconCoin size={18} />, render: () => <CostsPage /> },
  { id: "compare", icon: <IconScale size={18} />, render: () => <ComparePage /> },
  { id: "history", icon: <IconHistory size={18} />, render: () => <HistoryPage /> },
  { id: "audit", icon: <IconListCheck size={18} />, render: () => <AuditPage /> },
  { id: "settings", icon: <IconSettings size={18} />, render: () => <SettingsPage /> },
];

/** The window: header with model status, navigation, and the current page. */
export function App({ initialNavCollapsed = false }: { initialNavCollapsed?: boolean }) {
  const { t } = useTranslation();
  useRoutingToasts();
  const [page, setPage] = useState<PageId>("playground");
  const [collapsed, setCollapsed] = useState(initialNavCollapsed);
  const [leaving, setLeaving] = useState<PageId | null>(null);
  const { dirty, setDirty } = useUnsavedChanges();
  const current = PAGES.find((p) => p.id === page) ?? PAGES[0]!;
  const go = (id: PageId) => (dirty && id !== page ? setLeaving(id) : setPage(id));

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
            onClick={() => go(p.id)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{current.render()}</AppShell.Main>
      <Modal opened={leaving != null} onClose={() => setLeaving(null)} title={t("unsaved.title")}>
        <Text size="sm" mb="md">
          {t("unsaved.body")}
        </Text>
        <Group justify="flex-end">
          <Button data-testid="unsaved-stay" variant="default" onClick={() => setLeaving(null)}>
            {t("unsaved.stay")}
          </Button>
          <Button
            data-testid="unsaved-discard"
            color="red"
            onClick={() => {
              setDirty(false);
              if (leaving) setPage(leaving);
              setLeaving(null);
            }}
          >
            {t("unsaved.discard")}
          </Button>
        </Group>
      </Modal>
    </AppShell>
  );
}
