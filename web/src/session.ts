import { useQuery } from "@tanstack/react-query";
import { get, type Me } from "./api";

interface SessionState {
  signed_in: boolean;
  workspace_id: string | null;
}

/**
 * Who the browser's session is. The cookie is httpOnly, so the script asks the server whether it
 * holds one (always a 200) before reading /v1/auth/me, which would answer a signed-out browser 401.
 */
export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: async (): Promise<Me | null> => {
      const state = await get<SessionState>("/v1/auth/session");
      return state.signed_in ? get<Me>("/v1/auth/me") : null;
    },
    staleTime: 60_000,
  });
}
