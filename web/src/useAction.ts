import { type QueryKey, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { messageOf } from "./accountApi";

/**
 * A page's buttons and forms that change its lists (revoke, delete, cancel, invite): each run clears
 * the last error, then refreshes `refresh` on success; a failure lands in `error` for the page's alert
 * instead of escaping as an unhandled rejection.
 */
export function useAction(refresh: QueryKey[], describe: (exc: unknown) => string = messageOf) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  async function act(work: () => Promise<unknown>) {
    setError(null);
    try {
      await work();
      for (const queryKey of refresh) await queryClient.invalidateQueries({ queryKey });
    } catch (exc) {
      setError(describe(exc));
    }
  }
  return { error, act };
}
