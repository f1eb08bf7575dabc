// Signing in (`/login?next=...`) and creating the first admin (`/setup?token=...`).
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { accountsApi, oidcLoginUrl } from "../accounts-api";
import { Link, navigate, paths } from "../router";
import { setMe, useMe } from "../session";
import "./accounts.css";

/** Why a sign-in failed, for people: the server's words, with the wait of a rate limit counted down. */
export function signInError(err: unknown, secondsLeft: number | null): string {
  if (err instanceof ApiError && err.status === 429) {
    const wait = secondsLeft ?? err.retryAfter;
    return wait != null && wait > 0
      ? `Too many failed sign-ins: try again in ${Math.ceil(wait)} s.`
      : "Too many failed sign-ins: wait a little and try again.";
  }
  if (err instanceof ApiError && err.status === 401) return err.message || "Wrong name or password.";
  return err instanceof Error ? err.message : String(err);
}

/** A countdown to the moment a 429 said to try again (null when there is none). */
function useRetryCountdown(err: unknown): number | null {
  const [left, setLeft] = useState<number | null>(null);
  useEffect(() => {
    if (!(err instanceof ApiError) || err.status !== 429 || err.retryAfter == null) {
      setLeft(null);
      return;
    }
    const until = Date.now() + err.retryAfter * 1000;
    const tick = () => setLeft(Math.max(0, Math.ceil((until - Date.now()) / 1000)));
    tick();
    const timer = window.setInterval(tick, 1000);
    return () => window.clearInterval(timer);
  }, [err]);
  return left;
}

export function LoginPage({ next }: { next: string }) {
  const me = useMe();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const left = useRetryCountdown(error);
  const ssoError = new URLSearchParams(location.search).get("error");

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError(new Error("Enter your name and password."));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setMe(await accountsApi.login(username.trim(), password));
      navigate(next, true);
    } catch (err) {
      setError(err);
      setPassword("");
    } finally {
      setBusy(false);
    }
  };

  if (me?.local) {
    return (
      <div class="auth-page" data-testid="login-page">
        <h1>No sign-in needed</h1>
        <p>
          This runyard runs in local mode (<code>runyard ui</code>): one person, on this machine, no accounts.{" "}
          <Link href={next}>Go on</Link>.
        </p>
      </div>
    );
  }
  const waiting = left != null && left > 0;
  return (
    <div class="auth-page" data-testid="login-page">
      <h1>Sign in to runyard</h1>
      {me && !me.anonymous && (
        <p class="auth-note" data-testid="already-signed-in">
          You are signed in as <strong>{me.username}</strong>. <Link href={next}>Go on</Link>, or sign in as someone else.
        </p>
      )}
      <div class="auth-card">
        <form class="auth-form" onSubmit={(e) => void submit(e)} data-testid="login-form">
          <label>
            Name
            <input
              name="username"
              autoComplete="username"
              autoFocus
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
              data-testid="login-username"
            />
          </label>
          <label>
            Password
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              data-testid="login-password"
            />
          </label>
          {(error !== null || ssoError) && (
            <div class="auth-error" role="alert" data-testid="login-error">
              {error !== null ? signInError(error, left) : `Single sign-on failed: ${ssoError}`}
            </div>
          )}
          <button type="submit" class="primary" disabled={busy || waiting} data-testid="login-submit">
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
        {me && me.oidc.length > 0 && (
          <>
            <div class="auth-or">or</div>
            <div class="sso-buttons">
              {me.oidc.map((p) => (
                <a key={p.name} class="sso-button" href={oidcLoginUrl(p.name, next)} data-testid={`sso-${p.name}`}>
                  Sign in with {p.label || p.name}
                </a>
              ))}
            </div>
          </>
        )}
      </div>
      {me?.setup_needed && (
        <p class="auth-note" data-testid="setup-needed">
          No user exists yet. Open the one-time <code>/setup?token=…</code> link <code>runyard server</code> printed when it
          first started, or create the first admin with <code>runyard server admin create NAME</code>.
        </p>
      )}
      <p class="auth-note">
        No account? Ask an admin of your team for an invitation link. <Link href={paths.projects()}>Public projects</Link> can
        be read without one.
      </p>
    </div>
  );
}

/** A password with its repetition, checked here before it is sent. */
export function passwordProblem(password: string, repeat: string): string | null {
  if (!password) return "Choose a password.";
  if (password !== repeat) return "The two passwords differ.";
  return null;
}

export function SetupPage({ token }: { token: string }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [used, setUsed] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = !username.trim() ? "Choose a name for the first admin." : passwordProblem(password, repeat);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setMe(await accountsApi.setup(token, username.trim(), password));
      navigate(paths.settings(), true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 410) setUsed(true);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  if (!token) {
    return (
      <div class="auth-page" data-testid="setup-page">
        <h1>Set up runyard</h1>
        <p class="auth-error" role="alert">
          This link has no setup token. Open the whole <code>/setup?token=…</code> link <code>runyard server</code> printed
          when it first started.
        </p>
      </div>
    );
  }
  return (
    <div class="auth-page" data-testid="setup-page">
      <h1>Create the first admin</h1>
      <p class="auth-note">This account manages the server: users, teams and every project. The link works once.</p>
      <div class="auth-card">
        <form class="auth-form" onSubmit={(e) => void submit(e)}>
          <label>
            Name
            <input autoComplete="username" autoFocus value={username} onInput={(e) => setUsername(e.currentTarget.value)} data-testid="setup-username" />
          </label>
          <label>
            Password
            <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} data-testid="setup-password" />
          </label>
          <label>
            Password, again
            <input type="password" autoComplete="new-password" value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} data-testid="setup-repeat" />
          </label>
          {error && (
            <div class="auth-error" role="alert" data-testid="setup-error">
              {error}
              {used && (
                <>
                  {" "}
                  <Link href={paths.login()}>Sign in</Link>.
                </>
              )}
            </div>
          )}
          <button type="submit" class="primary" disabled={busy} data-testid="setup-submit">
            {busy ? "Creating…" : "Create admin and sign in"}
          </button>
        </form>
      </div>
    </div>
  );
}
