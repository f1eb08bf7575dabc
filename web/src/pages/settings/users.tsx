// The users tab (site admins): every user of the server; create one.
import { useEffect, useState } from "preact/hooks";
import { accountsApi, type UserInfo } from "../../accounts-api";
import { ErrorBox } from "../../components/common";
import { formatTime } from "../../format";

export function UsersTab() {
  const [users, setUsers] = useState<UserInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [siteAdmin, setSiteAdmin] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);

  const load = () => accountsApi.users().then(setUsers, setError);
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    if (!username.trim() || !password) {
      setCreateError("Enter a name and a first password (the user can be told it, and changes nothing else).");
      return;
    }
    setCreateError(null);
    try {
      await accountsApi.createUser(username.trim(), password, siteAdmin);
      setCreated(username.trim());
      setUsername("");
      setPassword("");
      setSiteAdmin(false);
      await load();
    } catch (err) {
      setCreateError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section data-testid="users-tab">
      <form class="settings-form" onSubmit={(e) => void create(e)}>
        <label>
          Name
          <input value={username} onInput={(e) => setUsername(e.currentTarget.value)} data-testid="user-name" autoComplete="off" />
        </label>
        <label>
          Password
          <input type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} data-testid="user-password" autoComplete="new-password" />
        </label>
        <label style={{ flexDirection: "row", alignItems: "center" }}>
          <input type="checkbox" checked={siteAdmin} onChange={(e) => setSiteAdmin(e.currentTarget.checked)} data-testid="user-site-admin" /> site admin
        </label>
        <button type="submit" class="primary" data-testid="user-create">
          Create user
        </button>
      </form>
      {createError && (
        <div class="auth-error" role="alert" data-testid="user-create-error">
          {createError}
        </div>
      )}
      {created && (
        <p class="muted" role="status" data-testid="user-created">
          {created} can now sign in.
        </p>
      )}
      {error !== null && <ErrorBox error={error} onRetry={() => void load()} />}
      {users !== null && (
        <table class="settings-table" data-testid="users-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Site admin</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.username} data-testid="user-row" data-username={u.username}>
                <td>{u.username}</td>
                <td>{u.site_admin ? "yes" : ""}</td>
                <td class="muted">{u.created_at ? formatTime(u.created_at) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
