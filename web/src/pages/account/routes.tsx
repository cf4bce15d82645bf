import { lazy, type ReactNode, Suspense } from "react";
import type { RouteObject } from "react-router";

// The account pages are each their own chunk: none of them weighs on the console's first load.
const Webhooks = lazy(() => import("./Webhooks"));
const Team = lazy(() => import("./Team"));
const Providers = lazy(() => import("./Providers"));
const Operator = lazy(() => import("./Operator"));

function page(element: ReactNode): ReactNode {
  return <Suspense fallback={<p className="loading">Loading…</p>}>{element}</Suspense>;
}

/** Routes under the console's layout; none starts with an API prefix (/v1, /api, /runs). */
export const accountRoutes: RouteObject[] = [
  { path: "webhooks", element: page(<Webhooks />) },
  { path: "team", element: page(<Team />) },
  { path: "providers", element: page(<Providers />) },
  { path: "operator", element: page(<Operator />) }, // the page itself refuses non-operators
];
