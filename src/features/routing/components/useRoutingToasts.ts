import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { events, type RoutingEventKind } from "../../../bindings";
import { providersQueryKey } from "../../providers/api/providers";
import { candidateStatesKey, routingEventsKey } from "../api/routing";

const WARNINGS: RoutingEventKind[] = ["route_failed", "budget_spent", "circuit_opened", "budget_80"];

/** Shows each routing event as a notification and refreshes what it changes. */
export function useRoutingToasts() {
  const { t } = useTranslation();
  const client = useQueryClient();
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let disposed = false;
    events.routingEventRaised
      .listen(({ payload }) => {
        const warning = WARNINGS.includes(payload.kind);
        notifications.show({
          title: t(`routing.events.${payload.kind}`),
          message: payload.message,
          color: warning ? "orange" : "blue",
          autoClose: warning ? 12_000 : 10_000,
          className: `routing-toast routing-toast-${payload.kind}`,
        });
        void client.invalidateQueries({ queryKey: routingEventsKey });
        void client.invalidateQueries({ queryKey: candidateStatesKey });
        void client.invalidateQueries({ queryKey: providersQueryKey });
      })
      .then((stop) => {
        if (disposed) stop();
        else unlisten = stop;
      })
      .catch(() => {
        // No event bus outside the app (unit tests).
      });
    return () => {
      disposed = true;
      unlisten?.();
    };
  }, [t, client]);
}
