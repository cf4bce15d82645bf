import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router";
import { api, del, get, post, put, type Workspace } from "../../api";
import { type Invitation, type Member, type PendingInvitation, type Role } from "../../accountApi";
import { DataTable } from "../../components/DataTable";
import { useMe } from "../../session";
import { useAction } from "../../useAction";

const ROLES: Role[] = ["owner", "admin", "member"];

/** The workspace's members and roles, invitations, leaving; and creating a team workspace. */
export default function Team() {
  const me = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const workspace = me.data?.workspace;
  const members = useQuery({
    queryKey: ["members", workspace?.id],
    queryFn: () => get<{ data: Member[] }>(`/v1/workspaces/${workspace!.id}/members`),
    enabled: workspace !== undefined,
  });
  const pending = useQuery({
    queryKey: ["invitations", workspace?.id],
    queryFn: () => get<{ data: PendingInvitation[] }>(`/v1/workspaces/${workspace!.id}/invitations`),
    enabled: workspace?.kind === "team" && (workspace.role === "owner" || workspace.role === "admin"),
  });
  const [sent, setSent] = useState<Invitation | null>(null);
  const { error, act } = useAction([["members"], ["invitations"]]);
  if (!workspace || !me.data) return null;
  const base = `/v1/workspaces/${workspace.id}`;
  const myId = me.data.user?.id;

  function invite(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    void act(async () => {
      const invitation = await post<Invitation>(`${base}/invitations`, { email: data.get("email"), role: data.get("role") });
      setSent(invitation);
      form.reset();
    });
  }

  function createTeam(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name"));
    void act(async () => {
      const created = await post<Workspace>("/v1/workspaces", { name });
      await put("/v1/auth/session", { workspace_id: created.id });
      queryClient.clear(); // everything cached belonged to the other workspace
      navigate("/team");
    });
  }

  async function leave() {
    if (!myId) return;
    await act(async () => {
      await del(`${base}/members/${myId}`);
      const personal = me.data?.workspaces.find((w) => w.id !== workspace?.id);
      if (personal) await put("/v1/auth/session", { workspace_id: personal.id });
      queryClient.clear();
      navigate("/generate");
    });
  }

  return (
    <section aria-labelledby="team-title">
      <h1 id="team-title">Team: {workspace.name}</h1>
      {error && <p role="alert">{error}</p>}
      {workspace.kind === "team" ? (
        <>
          <h2>Members</h2>
          {members.error && <p role="alert">Could not load members: {members.error.message}</p>}
          <DataTable columns={["Member", "Role", "Joined"]}>
            {(members.data?.data ?? []).map((member) => (
              <tr key={member.user_id} data-member={member.email}>
                <td>
                  {member.name || member.email} <span className="muted">{member.email}</span>
                </td>
                <td>
                  <select
                    aria-label={`Role of ${member.email}`}
                    value={member.role}
                    onChange={(e) =>
                      void act(() => api("PATCH", `${base}/members/${member.user_id}`, { role: e.target.value }))
                    }
                  >
                    {ROLES.map((role) => (
                      <option key={role}>{role}</option>
                    ))}
                  </select>
                </td>
                <td>{new Date(member.joined_at).toLocaleDateString()}</td>
                <td className="actions">
                  {member.user_id === myId ? (
                    <button type="button" onClick={() => void leave()}>
                      Leave
                    </button>
                  ) : (
                    <button
                      type="button"
                      onClick={() => void act(() => del(`${base}/members/${member.user_id}`))}
                      aria-label={`Remove ${member.email}`}
                    >
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
          <h2>Invite</h2>
          <form className="inline" onSubmit={invite}>
            <label>
              Email
              <input name="email" type="email" required />
            </label>
            <label>
              Role
              <select name="role" defaultValue="member">
                {ROLES.map((role) => (
                  <option key={role}>{role}</option>
                ))}
              </select>
            </label>
            <button type="submit">Send invitation</button>
          </form>
          {sent?.delivery === "log" && (
            <p role="status">No mail server is configured: the invitation link for {sent.email} is in the server log.</p>
          )}
          {pending.data && (
            <>
              <h2>Pending invitations</h2>
              {pending.data.data.length === 0 ? (
                <p>None.</p>
              ) : (
                <ul aria-label="Pending invitations" data-testid="invitations">
                  {pending.data.data.map((invitation) => (
                    <li key={invitation.id} data-invitation={invitation.email}>
                      {invitation.email} as {invitation.role}, until{" "}
                      {new Date(invitation.expires_at).toLocaleString()}{" "}
                      <button
                        type="button"
                        aria-label={`Revoke the invitation of ${invitation.email}`}
                        onClick={() => void act(() => del(`${base}/invitations/${invitation.id}`))}
                      >
                        Revoke
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </>
      ) : (
        <p>This is your personal workspace. Create a team workspace to invite others.</p>
      )}
      <h2>New team workspace</h2>
      <form className="inline" onSubmit={createTeam}>
        <label>
          Name
          <input name="name" required maxLength={200} />
        </label>
        <button type="submit">Create team</button>
      </form>
    </section>
  );
}
