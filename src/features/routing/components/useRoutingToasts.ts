import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { events, type RoutingEvent, type RoutingEventKind } from "../../../bindings";
import { useAppEvent } from "../../../lib/useAppEvent";
import { providersQueryKey } from "../../providers/api/providers";
import { candidateStatesKey, routingEventsKey } from "../api/routing";

const WARNINGS: RoutingEventKind[] = ["route_failed", "budget_spent", "circuit_opened", "budget_80"];

/** Shows each routing event as a notification and refreshes what it changes. */
export function useRoutingToasts() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const show = useCallback(
    (event: RoutingEvent) => {
      const warning = WARNINGS.includes(event.kind);
      notifications.show({
        title: t(`routing.events.${event.kind}`),
        message: event.message,
        color: warning ? "orange" : "blue",
        autoClose: warning ? 12_000 : 10_000,
        className: `routing-toast routing-toast-${event.kind}`,
      });
      void client.invalidateQueries({ queryKey: routingEventsKey });
      void client.invalidateQueries({ queryKey: candidateStatesKey });
      void client.invalidateQueries({ queryKey: providersQueryKey });
    },
    [t, client],
  );
  useAppEvent(events.routingEventRaised, show);
}
