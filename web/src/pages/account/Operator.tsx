import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { get, post, put, type Page } from "../../api";
import { messageOf, type OperatorUser, type OperatorWorkspace, type Plan } from "../../accountApi";
import { useMe } from "../../session";

/** The operator's view of the server: every workspace (plan, owner, wallet), accounts, plans. */
export default function Operator() {
  const me = useMe();
  const queryClient = useQueryClient();
  const isOperator = me.data?.user?.is_operator === true;
  const workspaces = useQuery({
    queryKey: ["operator", "workspaces"],
    queryFn: () => get<Page<OperatorWorkspace>>("/v1/operator/workspaces?limit=200"),
    enabled: isOperator,
  });
  const users = useQuery({
    queryKey: ["operator", "users"],
    queryFn: () => get<Page<OperatorUser>>("/v1/operator/users?limit=200"),
    enabled: isOperator,
  });
  const plans = useQuery({
    queryKey: ["operator", "plans"],
    queryFn: () => get<{ data: Plan[] }>("/v1/operator/plans"),
    enabled: isOperator,
  });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (!isOperator) return <p role="alert">This page does not exist.</p>;

  async function act(work: () => Promise<unknown>, message: string) {
    setError(null);
    setDone(null);
    try {
      await work();
      setDone(message);
      await queryClient.invalidateQueries({ queryKey: ["operator"] });
    } catch (exc) {
      setError(messageOf(exc));
    }
  }

  function grant(ws: OperatorWorkspace, event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const amount = Number(new FormData(form).get("amount"));
    void act(async () => {
      await post(`/v1/operator/workspaces/${ws.id}/credits`, { amount, note: "operator grant" });
      form.reset();
    }, `Granted ${amount} credits to ${ws.name}.`);
  }

  const loadError = workspaces.error ?? users.error ?? plans.error;
  return (
    <section aria-labelledby="operator-title">
      <h1 id="operator-title">Operator</h1>
      {error && <p role="alert">{error}</p>}
      {done && <p role="status">{done}</p>}
      {loadError && <p role="alert">Could not load: {loadError.message}</p>}
      <h2>Workspaces</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Workspace</th>
            <th scope="col">Owner</th>
            <th scope="col">Members</th>
            <th scope="col">Plan</th>
            <th scope="col">Balance</th>
            <th scope="col">Grant credits</th>
          </tr>
        </thead>
        <tbody>
          {(workspaces.data?.data ?? []).map((ws) => (
            <tr key={ws.id} data-workspace-id={ws.id}>
              <td>
                {ws.name} <span className="muted">({ws.kind})</span>
              </td>
              <td>{ws.owner_email ?? "—"}</td>
              <td>{ws.members}</td>
              <td>
                <select
                  aria-label={`Plan of ${ws.name}`}
                  value={ws.plan}
                  onChange={(e) =>
                    void act(
                      () => put(`/v1/operator/workspaces/${ws.id}/plan`, { plan: e.target.value }),
                      `${ws.name} is now on the ${e.target.value} plan.`,
                    )
                  }
                >
                  {(plans.data?.data ?? [{ name: ws.plan }]).map((plan) => (
                    <option key={plan.name}>{plan.name}</option>
                  ))}
                </select>
              </td>
              <td data-testid="operator-balance">{ws.balance}</td>
              <td>
                <form className="inline" onSubmit={(e) => grant(ws, e)}>
                  <label>
                    <span className="visually-hidden">Credits for {ws.name}</span>
                    <input name="amount" type="number" min={1} required />
                  </label>
                  <button type="submit">Grant</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Accounts</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Operator</th>
            <th scope="col">Joined</th>
          </tr>
        </thead>
        <tbody>
          {(users.data?.data ?? []).map((user) => (
            <tr key={user.id}>
              <td>{user.email}</td>
              <td>{user.name}</td>
              <td>{user.is_operator ? "yes" : ""}</td>
              <td>{new Date(user.created_at).toLocaleDateString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Plans</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Plan</th>
            <th scope="col">API access</th>
            <th scope="col">Monthly credits</th>
            <th scope="col">Requests/min</th>
            <th scope="col">Concurrent runs</th>
          </tr>
        </thead>
        <tbody>
          {(plans.data?.data ?? []).map((plan) => (
            <tr key={plan.name}>
              <td>{plan.name}</td>
              <td>{plan.api_access ? "yes" : "no"}</td>
              <td>{plan.monthly_credits}</td>
              <td>{plan.requests_per_minute}</td>
              <td>{plan.concurrent_runs}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
