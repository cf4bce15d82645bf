import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, StrictMode, Suspense } from "react";
import { accountRoutes } from "./pages/account/routes";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { ApiError } from "./api";
import { Layout } from "./Layout";
import { Credits } from "./pages/Credits";
import { Gallery } from "./pages/Gallery";
import { Generate } from "./pages/Generate";
import { Keys } from "./pages/Keys";
import { Queue } from "./pages/Queue";
import { ForgotPassword, ResetPassword } from "./pages/ResetPassword";
import { SignIn } from "./pages/SignIn";
import { SignUp } from "./pages/SignUp";
import "./styles.css";
import "./theme"; // applies the stored light/dark choice before the first render

// The workflow editor (React Flow) loads on first visit, keeping the first load small.
const Workflows = lazy(() => import("./pages/editor/Editor").then((m) => ({ default: m.Workflows })));
const WorkflowEditor = lazy(() => import("./pages/editor/Editor").then((m) => ({ default: m.WorkflowEditorPage })));

// Heavy and rarely first: loaded when opened, outside the first load's budget.
const RunDetail = lazy(() => import("./pages/RunDetail"));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // An expired session is not retried: the layout sends the browser to the sign-in page.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

// Client routes never start with an API prefix (/v1, /api, /runs): the server's fallback serves
// index.html only for paths outside them.
const router = createBrowserRouter([
  { path: "/sign-in", element: <SignIn /> },
  { path: "/sign-up", element: <SignUp /> },
  { path: "/forgot-password", element: <ForgotPassword /> },
  { path: "/reset-password", element: <ResetPassword /> },
  {
    path: "/",
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/generate" replace /> },
      { path: "generate", element: <Generate /> },
      { path: "gallery", element: <Gallery /> },
      { path: "queue", element: <Queue /> },
      {
        path: "run/:runId",
        element: (
          <Suspense fallback={<p>Loading…</p>}>
            <RunDetail />
          </Suspense>
        ),
      },
      { path: "keys", element: <Keys /> },
      { path: "credits", element: <Credits /> },
      { path: "workflows", element: <Suspense fallback={<p className="loading">Loading…</p>}><Workflows /></Suspense> },
      { path: "workflows/:id", element: <Suspense fallback={<p className="loading">Loading…</p>}><WorkflowEditor /></Suspense> },
      ...accountRoutes,
      { path: "*", element: <p role="alert">This page does not exist.</p> },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
