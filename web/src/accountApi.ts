// Wire types of the account pages (webhooks, team, providers, usage): the subset the console reads.

export interface UsageBucket {
  key: string;
  credits: number;
  runs: number;
}
export interface UsageReport {
  group_by: "day" | "model";
  since: string;
  total: number;
  data: UsageBucket[];
}
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  secret_rotating_until: string | null;
  created_at: string;
}
export interface Attempt {
  attempted_at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}
export interface Delivery {
  id: string;
  webhook_id: string;
  run_id: string;
  event: string;
  status: string;
  attempt_count: number;
  last_error: string | null;
  created_at: string;
  attempts: Attempt[];
}
export type Role = "owner" | "admin" | "member";
export interface Member {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  joined_at: string;
}
export interface Invitation {
  id: string;
  email: string;
  role: Role;
  expires_at: string;
  delivery: "smtp" | "log";
}
export interface PendingInvitation {
  id: string;
  email: string;
  role: Role;
  created_at: string;
  expires_at: string;
}
export interface Provider {
  id: string;
  configured: boolean;
  valid: boolean | null;
  masked_key: string | null;
  source: "env" | "config" | "workspace" | null;
  key_env: string;
  models: string[];
}

/** An API error's message, or the thrown value as text. */
export function messageOf(exc: unknown): string {
  return exc instanceof Error ? exc.message : String(exc);
}

export interface OperatorWorkspace {
  id: string;
  name: string;
  kind: string;
  plan: string;
  owner_email: string | null;
  members: number;
  balance: number;
  reserved: number;
  created_at: string;
}
export interface OperatorUser {
  id: string;
  email: string;
  name: string;
  is_operator: boolean;
  personal_workspace_id: string | null;
  created_at: string;
}
export interface Plan {
  name: string;
  api_access: boolean;
  monthly_credits: number;
  requests_per_minute: number;
  concurrent_runs: number;
}
