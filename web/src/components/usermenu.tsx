// The header's user menu: who is signed in, Settings and Sign out; "Sign in" for an anonymous visitor of a
// server. Local mode (`runyard ui`) has no accounts and shows nothing here.
import { useState } from "preact/hooks";
import { accountsApi } from "../accounts-api";
import { Link, paths } from "../router";
import { Popover } from "../pages/workspace/menus";
import { useMe } from "../session";

export function UserMenu() {
  const me = useMe();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!me || me.local) return null;
  if (me.anonymous) {
    const here = location.pathname + location.search;
    return (
      <Link href={paths.login(here.startsWith("/login") ? "/" : here)} class="user-signin" data-testid="sign-in">
        Sign in
      </Link>
    );
  }
  const signOut = async () => {
    setError(null);
    try {
      await accountsApi.logout();
      // A full load: every page drops what it read as this user.
      location.assign("/");
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <div class="user-menu">
      <button
        type="button"
        class="user-button"
        aria-haspopup="menu"
        aria-expanded={open}
        data-testid="user-menu"
        data-username={me.username}
        onClick={() => setOpen(!open)}
      >
        {me.username} ▾
      </button>
      {open && (
        <Popover onClose={() => setOpen(false)} class="user-popover" testid="user-popover">
          <div class="user-who" data-testid="signed-in-as">
            Signed in as <strong>{me.username}</strong>
            {me.site_admin && <span class="badge">site admin</span>}
          </div>
          <div role="menu">
            <Link href={paths.settings()} role="menuitem" class="menu-item" data-testid="menu-settings" onClick={() => setOpen(false)}>
              Settings
            </Link>
            <button type="button" role="menuitem" class="menu-item" data-testid="sign-out" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
          {error && (
            <div class="editable-error" role="alert">
              {error}
            </div>
          )}
        </Popover>
      )}
    </div>
  );
}
