// The settings page (`/settings?tab=keys|teams|users`) and a team's page (`/settings/teams/{team}`).
import { Empty } from "../components/common";
import { useEffect } from "preact/hooks";
import { Link, navigate, paths } from "../router";
import { useMe } from "../session";
import { KeysTab } from "./settings/keys";
import { TeamsTab } from "./settings/teams";
import { UsersTab } from "./settings/users";
import "./accounts.css";

export { TeamPage } from "./settings/team";

export function SettingsPage({ tab }: { tab: string }) {
  const me = useMe();
  if (!me) return <div class="settings-page" data-testid="settings-page" aria-busy="true" />;
  if (me.local) {
    return (
      <Empty title="No settings in local mode">
        <p>
          This runyard runs in local mode (<code>runyard ui</code>): one person, no accounts, no API keys needed. Teams and
          keys come with <code>runyard server</code>.
        </p>
      </Empty>
    );
  }
  if (me.anonymous) return <SignInFirst />;
  const tabs = [
    { id: "keys", label: "API keys" },
    { id: "teams", label: "Teams" },
    ...(me.site_admin ? [{ id: "users", label: "Users" }] : []),
  ];
  const shown = tabs.some((t) => t.id === tab) ? tab : "keys";
  return (
    <div class="settings-page" data-testid="settings-page" data-tab={shown}>
      <h1>Settings</h1>
      <nav class="settings-tabs" role="tablist">
        {tabs.map((t) => (
          <Link
            key={t.id}
            href={paths.settings(t.id)}
            role="tab"
            aria-selected={shown === t.id}
            class={`settings-tab ${shown === t.id ? "active" : ""}`}
            data-testid={`settings-tab-${t.id}`}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {shown === "keys" && <KeysTab />}
      {shown === "teams" && <TeamsTab />}
      {shown === "users" && <UsersTab />}
    </div>
  );
}

/** A page that needs a signed-in user, opened by an anonymous visitor: to the login page, back here after. */
export function SignInFirst() {
  useEffect(() => navigate(paths.login(location.pathname + location.search), true), []);
  return (
    <Empty title="Sign in first">
      <p>
        <Link href={paths.login(location.pathname + location.search)}>Sign in</Link> to see this page.
      </p>
    </Empty>
  );
}
