// A team's page (`/settings/teams/{team}`): its members and their roles (editable by the team's admins), and
// invitation links.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../../api";
import { accountsApi, type CreatedInvite, type Team, type TeamMember } from "../../accounts-api";
import { Confirm, Empty, ErrorBox } from "../../components/common";
import { Link, paths } from "../../router";
import { canAdmin, refreshMe, useMe, type Role } from "../../session";
import { CopyButton } from "./keys";
import { SignInFirst } from "../settings";
import "../accounts.css";

const ROLES: Role[] = ["admin", "member", "viewer"];
const ROLE_HINT: Record<Role, string> = {
  admin: "manages members, roles and project privacy",
  member: "logs runs; edits, stops and deletes them",
  viewer: "reads the team's projects and runs",
};

/** An invitation link as people open it: the server's, made absolute on this origin. */
const inviteLink = (invite: CreatedInvite) =>
  invite.url ? new URL(invite.url, location.origin).toString() : `${location.origin}/invite/${encodeURIComponent(invite.token)}`;

export function TeamPage({ team: name }: { team: string }) {
  const me = useMe();
  const [team, setTeam] = useState<Team | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<TeamMember | null>(null);
  const [addName, setAddName] = useState("");
  const [addRole, setAddRole] = useState<Role>("member");
  const [inviteRole, setInviteRole] = useState<Role>("member");
  const [inviteHours, setInviteHours] = useState(72);
  const [invite, setInvite] = useState<CreatedInvite | null>(null);

  const load = () => accountsApi.team(name).then(setTeam, setError);
  useEffect(() => void load(), [name]);

  const act = async (fn: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await fn();
      await load();
      if (me) await refreshMe(); // my own role may have changed
    } catch (err) {
      setActionError(err instanceof Error ? err.message : String(err));
    }
  };

  if (me?.anonymous) return <SignInFirst />;
  if (error instanceof ApiError && error.status === 404) {
    return (
      <Empty title="No such team">
        <p>
          There is no team <code>{name}</code>, or you are not one of its members. <Link href={paths.settings("teams")}>Your teams</Link>.
        </p>
      </Empty>
    );
  }
  if (error !== null) return <ErrorBox error={error} onRetry={() => void load()} />;
  if (!team) return <div class="settings-page" data-testid="team-page" aria-busy="true" />;
  const admin = canAdmin(me, team.name);

  return (
    <div class="settings-page" data-testid="team-page" data-team={team.name} data-admin={admin ? "true" : "false"}>
      <p class="muted">
        <Link href={paths.settings("teams")}>Teams</Link> /
      </p>
      <h1>{team.name}</h1>
      <h2>Members</h2>
      {actionError && (
        <div class="auth-error" role="alert" data-testid="team-action-error">
          {actionError}
        </div>
      )}
      <table class="settings-table" data-testid="members-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {team.members.map((m) => (
            <tr key={m.username} data-testid="member-row" data-username={m.username} data-role={m.role}>
              <td>
                {m.username}
                {me && m.username === me.username && <span class="muted"> (you)</span>}
              </td>
              <td>
                {admin ? (
                  <select
                    value={m.role}
                    aria-label={`Role of ${m.username}`}
                    data-testid="member-role"
                    onChange={(e) => void act(() => accountsApi.setMember(team.name, m.username, e.currentTarget.value as Role))}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                ) : (
                  <span data-testid="member-role-text" title={ROLE_HINT[m.role]}>
                    {m.role}
                  </span>
                )}
              </td>
              <td class="actions">
                {admin && (
                  <button type="button" class="danger-outline" onClick={() => setRemoving(m)} data-testid="member-remove">
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!admin && <p class="muted">Only the team's admins change members and roles.</p>}
      {admin && (
        <>
          <form
            class="settings-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (!addName.trim()) {
                setActionError("Enter the name of a user of this server to add.");
                return;
              }
              void act(() => accountsApi.setMember(team.name, addName.trim(), addRole)).then(() => setAddName(""));
            }}
          >
            <label>
              Add a user of this server
              <input value={addName} placeholder="name" onInput={(e) => setAddName(e.currentTarget.value)} data-testid="member-add-name" />
            </label>
            <label>
              as
              <select value={addRole} onChange={(e) => setAddRole(e.currentTarget.value as Role)} data-testid="member-add-role">
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" data-testid="member-add">
              Add
            </button>
          </form>

          <h2>Invitation link</h2>
          <p class="muted">Anyone with the link can join {team.name} with the role you choose, until it expires.</p>
          <form
            class="settings-form"
            onSubmit={(e) => {
              e.preventDefault();
              setActionError(null);
              accountsApi.createInvite(team.name, inviteRole, inviteHours).then(setInvite, (err: unknown) =>
                setActionError(err instanceof Error ? err.message : String(err)),
              );
            }}
          >
            <label>
              Role
              <select value={inviteRole} onChange={(e) => setInviteRole(e.currentTarget.value as Role)} data-testid="invite-role">
                {ROLES.map((r) => (
                  <option key={r} value={r} title={ROLE_HINT[r]}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Expires after (hours)
              <input
                type="number"
                min={1}
                max={24 * 30}
                value={inviteHours}
                class="narrow"
                onInput={(e) => setInviteHours(Math.max(1, Number(e.currentTarget.value) || 1))}
                data-testid="invite-hours"
              />
            </label>
            <button type="submit" class="primary" data-testid="invite-create">
              Create invitation link
            </button>
          </form>
          {invite && (
            <div class="new-key" data-testid="invite-link-box">
              <div class="secret">
                <code data-testid="invite-link">{inviteLink(invite)}</code>
                <CopyButton text={inviteLink(invite)} testid="invite-copy" />
              </div>
              <div class="warning">
                Send it to the person you invite only: whoever opens it joins as {inviteRole}.
                {invite.expires_at != null && ` It works until ${new Date(invite.expires_at * 1000).toLocaleString()}.`}
              </div>
            </div>
          )}
        </>
      )}
      {removing && (
        <Confirm
          title={`Remove ${removing.username}?`}
          message={
            <>
              <strong>{removing.username}</strong> loses access to {team.name}'s private projects and runs.
            </>
          }
          confirmLabel="Remove"
          danger
          onConfirm={() => {
            const m = removing;
            setRemoving(null);
            void act(() => accountsApi.removeMember(team.name, m.username));
          }}
          onCancel={() => setRemoving(null)}
        />
      )}
    </div>
  );
}
