// Accepting an invitation (`/invite/{token}`): a new user chooses a name and password; a signed-in user joins.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { accountsApi, type Invite } from "../accounts-api";
import { Link, navigate, paths } from "../router";
import { refreshMe, useMe } from "../session";
import { passwordProblem } from "./login";
import "./accounts.css";

export function InvitePage({ token }: { token: string }) {
  const me = useMe();
  const [invite, setInvite] = useState<Invite | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!token) setLoadError(new Error("This link has no invitation in it: open the whole link you were sent."));
    else accountsApi.invite(token).then(setInvite, setLoadError);
  }, [token]);

  const accept = async (account: { username: string; password: string } | null) => {
    setBusy(true);
    setError(null);
    try {
      await accountsApi.acceptInvite(token, account);
      await refreshMe();
      navigate(invite ? paths.team(invite.team) : paths.projects(), true);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const problem = !username.trim() ? "Choose a name." : passwordProblem(password, repeat);
    if (problem) setError(problem);
    else void accept({ username: username.trim(), password });
  };

  if (loadError !== null) {
    const gone = loadError instanceof ApiError && loadError.status === 404;
    return (
      <div class="auth-page" data-testid="invite-page">
        <h1>Invitation</h1>
        <p class="auth-error" role="alert" data-testid="invite-error">
          {gone
            ? "This invitation does not exist or has expired. Ask the team's admin for a new link."
            : loadError instanceof Error
              ? loadError.message
              : String(loadError)}
        </p>
      </div>
    );
  }
  if (!invite || !me) return <div class="auth-page" data-testid="invite-page" aria-busy="true" />;

  const signedIn = !me.anonymous && !me.local;
  const already = signedIn && me.roles[invite.team] != null;
  return (
    <div class="auth-page" data-testid="invite-page" data-team={invite.team}>
      <h1>Join {invite.team}</h1>
      <p data-testid="invite-summary">
        You are invited to the team <strong>{invite.team}</strong> as <strong>{invite.role}</strong>
        {invite.expires_at != null && <span class="muted"> (the link works until {new Date(invite.expires_at * 1000).toLocaleString()})</span>}.
      </p>
      {signedIn ? (
        <div class="auth-card">
          {already ? (
            <p data-testid="invite-already">
              You are a member of {invite.team} already. <Link href={paths.team(invite.team)}>See the team</Link>.
            </p>
          ) : (
            <>
              <p>
                Join as <strong>{me.username}</strong>?
              </p>
              <button type="button" class="primary" disabled={busy} onClick={() => void accept(null)} data-testid="invite-join">
                Join {invite.team}
              </button>
            </>
          )}
          {error && (
            <div class="auth-error" role="alert" data-testid="invite-accept-error">
              {error}
            </div>
          )}
        </div>
      ) : (
        <div class="auth-card">
          <form class="auth-form" onSubmit={submit}>
            <label>
              Choose a name
              <input autoComplete="username" autoFocus value={username} onInput={(e) => setUsername(e.currentTarget.value)} data-testid="invite-username" />
            </label>
            <label>
              Choose a password
              <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} data-testid="invite-password" />
            </label>
            <label>
              Password, again
              <input type="password" autoComplete="new-password" value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} data-testid="invite-repeat" />
            </label>
            {error && (
              <div class="auth-error" role="alert" data-testid="invite-accept-error">
                {error}
              </div>
            )}
            <button type="submit" class="primary" disabled={busy} data-testid="invite-accept">
              {busy ? "Joining…" : `Create account and join ${invite.team}`}
            </button>
          </form>
          <p class="auth-note">
            Have an account already? <Link href={paths.login(location.pathname + location.search)}>Sign in</Link> and come
            back to this link to join with it.
          </p>
        </div>
      )}
    </div>
  );
}
