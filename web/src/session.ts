import { useQuery } from "@tanstack/react-query";
import { get, type Me } from "./api";

/** Who the browser's session is: the cookie is sent by the browser, so this is all there is to it. */
export function useMe() {
  return useQuery({ queryKey: ["me"], queryFn: () => get<Me>("/v1/auth/me"), staleTime: 60_000 });
}
