// The app shell: header with breadcrumbs, and the page for the current route.
import { Link, paths, useRoute } from "./router";
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

export function App() {
  const route = useRoute();
  return (
    <div class="app">
      <header class="topbar">
        <Link href={paths.projects()} class="logo">
          runyard
        </Link>
        {route.page !== "projects" && route.page !== "missing" && (
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
