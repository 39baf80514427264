// Listening to one of the back end's events for as long as a component lives.
import { useEffect } from "react";

/** The part of a generated event (`events.x` in bindings.ts) a listener needs. */
interface AppEvent<T> {
  listen(handler: (event: { payload: T }) => void): Promise<() => void>;
}

/**
 * Calls `handler` with each payload of `event` while the component is
 * mounted. A listener that arrives after unmount is stopped at once; outside
 * the app (unit tests) there is no event bus and nothing happens.
 */
export function useAppEvent<T>(event: AppEvent<T>, handler: (payload: T) => void) {
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let disposed = false;
    event
      .listen(({ payload }) => handler(payload))
      .then((stop) => {
        if (disposed) stop();
        else unlisten = stop;
      })
      .catch(() => {});
    return () => {
      disposed = true;
      unlisten?.();
    };
  }, [event, handler]);
}
