// The app shell: header with breadcrumbs, and the page for the current route.
import { LOGIN_PAGES, Link, navigate, parseRoute, paths, useRoute } from "./router";
import { setUnauthorizedHandler } from "./api";
import { currentMe, refreshMe } from "./session";
import { UserMenu } from "./components/usermenu";
import { LoginPage, SetupPage } from "./pages/login";
import { InvitePage } from "./pages/invite";
import { SettingsPage, TeamPage } from "./pages/settings";
import { ProjectsPage } from "./pages/projects";
import { WorkspacePage } from "./pages/workspace";
import { RunPage } from "./pages/run";
import { ArtifactsPage } from "./pages/artifacts";
import { SweepLinks, SweepPage } from "./pages/sweep";
import { Empty } from "./components/common";
import { useState } from "preact/hooks";
import { setThemeChoice, themeChoice, type ThemeChoice } from "./theme";

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };
const LABEL: Record<ThemeChoice, string> = { system: "◐ Auto", light: "☀ Light", dark: "☾ Dark" };

function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(themeChoice);
  return (
    <button
      type="button"
      class="theme-toggle"
      title={`Theme: ${choice === "system" ? "as the system's setting" : choice} (click for ${NEXT[choice] === "system" ? "the system's" : NEXT[choice]})`}
      onClick={() => {
        const next = NEXT[choice];
        setThemeChoice(next);
        setChoice(next);
      }}
      data-testid="theme-toggle"
      data-choice={choice}
    >
      {LABEL[choice]}
    </button>
  );
}

// A 401: the page needs a signed-in user (settings), or the session ended while the user was signed in (it
// expired, or was signed out in another tab): off to the login page, back here after. An anonymous visitor of a
// public page stays where they are.
setUnauthorizedHandler(() => {
  const here = parseRoute(location.pathname, location.search);
  if (here.page === "login" || here.page === "setup" || here.page === "invite") return;
  const me = currentMe();
  if (LOGIN_PAGES.has(here.page) || (me && !me.anonymous && !me.local)) {
    void refreshMe().catch(() => undefined);
    navigate(paths.login(location.pathname + location.search), true);
  }
});

export function App() {
  const route = useRoute();
  return (
    <div class="app">
      <header class="topbar">
        <Link href={paths.projects()} class="logo">
          runyard
        </Link>
        {(route.page === "workspace" || route.page === "artifacts" || route.page === "run" || route.page === "sweep") && (
          <nav class="crumbs" aria-label="breadcrumbs">
            <span>{route.entity}</span>
            <span class="sep">/</span>
            <Link href={paths.workspace(route.entity, route.project)} data-testid="crumb-project">
              {route.project}
            </Link>
            {route.page === "run" && (
              <>
                <span class="sep">/</span>
                <span>{route.runId}</span>
              </>
            )}
            <span class="sep">·</span>
            <Link href={paths.artifacts(route.entity, route.project)} data-testid="crumb-artifacts">
              artifacts
            </Link>
            {route.page === "sweep" && (
              <>
                <span class="sep">/</span>
                <span>sweep {route.sweepId}</span>
              </>
            )}
            {route.page === "workspace" && <SweepLinks entity={route.entity} project={route.project} />}
          </nav>
        )}
        <ThemeToggle />
        <UserMenu />
      </header>
      <main class="main">
        {route.page === "projects" && <ProjectsPage />}
        {route.page === "workspace" && (
          <WorkspacePage key={`${route.entity}/${route.project}`} entity={route.entity} project={route.project} />
        )}
        {route.page === "run" && (
          <RunPage
            key={`${route.entity}/${route.project}/${route.runId}`}
            entity={route.entity}
            project={route.project}
            runId={route.runId}
            tab={route.tab}
          />
        )}
        {route.page === "artifacts" && (
          <ArtifactsPage key={`${route.entity}/${route.project}`} entity={route.entity} project={route.project} />
        )}
        {route.page === "sweep" && (
          <SweepPage
            key={`${route.entity}/${route.project}/${route.sweepId}`}
            entity={route.entity}
            project={route.project}
            sweepId={route.sweepId}
          />
        )}
        {route.page === "login" && <LoginPage next={route.next} />}
        {route.page === "setup" && <SetupPage token={route.token} />}
        {route.page === "invite" && <InvitePage key={route.token} token={route.token} />}
        {route.page === "settings" && <SettingsPage tab={route.tab} />}
        {route.page === "team" && <TeamPage key={route.team} team={route.team} />}
        {route.page === "missing" && (
          <Empty title="No such page">
            <p>
              <code>{route.path}</code> is not a page of runyard. <Link href="/">See all projects</Link>.
            </p>
          </Empty>
        )}
      </main>
    </div>
  );
}
