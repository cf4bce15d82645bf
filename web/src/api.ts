// The console talks to the public API only, on its own origin. The session is an httpOnly cookie
// the browser sends by itself; unsafe requests echo the readable CSRF cookie in X-CSRF-Token.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An API refusal's message; any other failure (the network's) whole, with its error's name. */
export const apiErrorText = (exc: unknown) => (exc instanceof ApiError ? exc.message : String(exc));

function csrfToken(): string {
  const match = document.cookie.split("; ").find((part) => part.startsWith("pixelmill_csrf="));
  return match ? decodeURIComponent(match.slice("pixelmill_csrf=".length)) : "";
}

export async function api<T>(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 204) return undefined as T;
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "HTTP_" + response.status, error?.message ?? response.statusText);
  }
  return data as T;
}

/** A file to POST /v1/files as multipart (the browser sets the boundary). */
export async function upload<T>(path: string, file: Blob, filename: string): Promise<T> {
  const form = new FormData();
  form.append("file", file, filename);
  const response = await fetch(path, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    body: form,
    credentials: "same-origin",
  });
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "HTTP_" + response.status, error?.message ?? response.statusText);
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const put = <T>(path: string, body?: unknown) => api<T>("PUT", path, body ?? {});
export const del = <T>(path: string) => api<T>("DELETE", path);

// Wire types: the subset of the API's schemas the console reads.
export interface Workspace {
  id: string;
  name: string;
  kind: string;
  plan: string;
  role: string;
}
export interface Me {
  user: { id: string; email: string; name: string; is_operator: boolean } | null;
  workspace: Workspace;
  role: string;
  plan: { name: string; api_access: boolean };
  workspaces: Workspace[];
}
export interface Model {
  id: string;
  provider: string;
  generation_type: string;
  cost: number;
  description: string;
  sandbox: boolean;
  settings_schema?: import("./components/SettingsForm").JsonSchema | null;
}
export interface StoredFile {
  id: string;
  mime: string;
  filename: string | null;
  url: string;
  thumbnail_url: string | null;
}
export interface Generation {
  id: string;
  generation_type: string;
  model_name: string;
  prompt: string;
  settings: Record<string, unknown>;
  status: "pending" | "processing" | "completed" | "failed" | "cancelled";
  progress: number;
  credit_cost: number;
  outputs: unknown[];
  output_type: string | null;
  error: { code: string; message: string } | null;
  created_at: string;
}
export interface RunNode {
  node_id: string;
  type: string;
  status: string;
}
export interface Run {
  run_id: string;
  kind: string;
  status: "queued" | "running" | "completed" | "failed" | "cancelled";
  nodes: RunNode[];
  credits_reserved: number;
  credits_used: number;
  queue_position: number | null;
  created_at: string;
}
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
export interface Key {
  id: string;
  name: string;
  mode: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}
export interface Wallet {
  balance: number;
  reserved: number;
  available: number;
}
export interface LedgerEntry {
  id: number;
  kind: string;
  amount: number;
  run_id: string | null;
  note: string;
  created_at: string;
}
