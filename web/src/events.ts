import { useEffect, useRef } from "react";

export interface RunEvent {
  name: string;
  data: Record<string, unknown>;
}

export const RUN_EVENTS = [
  "run_queued",
  "run_started",
  "node_start",
  "node_progress",
  "node_complete",
  "node_cached",
  "node_failed",
  "run_complete",
  "run_failed",
  "run_cancelled",
] as const;

export const TERMINAL_EVENTS = new Set(["run_complete", "run_failed", "run_cancelled"]);

/**
 * Server-sent events from `url` (null: none) handed to `onEvent`. EventSource sends the session
 * cookie and resumes with Last-Event-ID by itself; a stream the server closes after a run's
 * terminal event is closed here too, instead of being reconnected.
 */
export function useEventStream(url: string | null, onEvent: (event: RunEvent) => void) {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (url === null) return;
    const source = new EventSource(url);
    const listener = (message: MessageEvent<string>) => {
      const event = { name: message.type, data: JSON.parse(message.data) as Record<string, unknown> };
      handler.current(event);
      if (TERMINAL_EVENTS.has(event.name) && url.includes("/v1/runs/")) source.close();
    };
    for (const name of RUN_EVENTS) source.addEventListener(name, listener);
    return () => source.close();
  }, [url]);
}
