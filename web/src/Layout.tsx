import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Navigate, NavLink, Outlet, useNavigate } from "react-router";
import { ApiError, del, put } from "./api";
import { useMe } from "./session";
import { ThemeToggle } from "./ThemeToggle";

const PAGES = [
  ["/generate", "Generate"],
  ["/gallery", "Gallery"],
  ["/workflows", "Workflows"],
  ["/queue", "Queue"],
  ["/keys", "API keys"],
  ["/credits", "Credits"],
  ["/webhooks", "Webhooks"],
  ["/team", "Team"],
  ["/providers", "Providers"],
] as const;

export function Layout() {
  const me = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();

  useEffect(() => {
    document.title = "pixelmill";
  }, []);

  if (me.isPending) return <p className="loading">Loading…</p>;
  if (me.data === null) return <Navigate to="/sign-in" replace />;
  if (me.error) {
    if (me.error instanceof ApiError && me.error.status === 401) return <Navigate to="/sign-in" replace />;
    return <p role="alert">Could not reach the server: {me.error.message}</p>;
  }

  async function switchWorkspace(id: string) {
    await put("/v1/auth/session", { workspace_id: id });
    queryClient.clear(); // everything cached belonged to the other workspace
    navigate("/generate");
  }

  async function signOut() {
    await del("/v1/auth/session");
    queryClient.clear();
    navigate("/sign-in");
  }

  const { workspace, workspaces, user } = me.data;
  return (
    <div className="shell">
      <header className="topbar">
        <strong className="brand">pixelmill</strong>
        <nav aria-label="Console">
          {PAGES.map(([to, label]) => (
            <NavLink key={to} to={to}>
              {label}
            </NavLink>
          ))}
          {user?.is_operator && <NavLink to="/operator">Operator</NavLink>}
        </nav>
        <div className="account">
          <label>
            <span className="visually-hidden">Workspace</span>
            <select value={workspace.id} onChange={(e) => void switchWorkspace(e.target.value)}>
              {workspaces.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name} ({w.plan})
                </option>
              ))}
            </select>
          </label>
          <span className="who">{user?.email}</span>
          <ThemeToggle />
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
