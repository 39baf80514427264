import { Badge, Paper, Table, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import type { RoutingEventKind } from "../../../bindings";
import { errorMessage } from "../../../lib/ipc";
import { useRoutingEvents } from "../api/routing";

const COLOR: Record<RoutingEventKind, string> = {
  fell_back: "blue",
  route_failed: "red",
  budget_80: "yellow",
  budget_spent: "orange",
  budget_reset: "teal",
  circuit_opened: "red",
  circuit_closed: "teal",
  rate_limited: "yellow",
};

/** What routing did lately: fall-backs, budget warnings, circuits, rate limits. */
export function RoutingEvents() {
  const { t, i18n } = useTranslation();
  const { data: events, error } = useRoutingEvents(null, 100);
  const data = events ?? [];
  return (
    <Paper withBorder p="md" data-testid="routing-events">
      <Title order={4} mb="xs">
        {t("routing.title")}
      </Title>
      {error && <Text c="red">{errorMessage(error)}</Text>}
      {data.length === 0 ? (
        <Text size="sm" c="dimmed" data-testid="routing-events-empty">
          {t("routing.none")}
        </Text>
      ) : (
        <Table striped>
          <Table.Tbody>
            {data.map((e) => (
              <Table.Tr key={e.id} data-testid="routing-event" data-kind={e.kind}>
                <Table.Td style={{ whiteSpace: "nowrap" }}>
                  <Text size="xs">{new Date(e.at).toLocaleString(i18n.language)}</Text>
                </Table.Td>
                <Table.Td>
                  <Badge size="sm" variant="light" color={COLOR[e.kind]} style={{ overflow: "visible" }}>
                    {t(`routing.events.${e.kind}`)}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="xs">{e.message}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Paper>
  );
}
