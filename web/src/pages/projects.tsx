// The projects page (`/`): every project with its run count and last activity, searchable by name.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Project } from "../api";
import { Empty, ErrorBox, FirstRunHint } from "../components/common";
import { formatAgo, formatTime } from "../format";
import { Link, navigate, paths } from "../router";
import { accountsApi } from "../accounts-api";
import { canAdmin, useMe, type Me } from "../session";
import "./projects.css";

const REFRESH_MS = 5000; // new projects and runs show up without a reload

function searchFromUrl(): string {
  return new URLSearchParams(location.search).get("search") ?? "";
}

export function ProjectsPage() {
  const [search, setSearch] = useState(searchFromUrl);
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState(0);
  const [attempt, setAttempt] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  // The search lives in the URL (shareable, survives a reload) and is answered by the server.
  useEffect(() => {
    const url = search ? `/?search=${encodeURIComponent(search)}` : "/";
    if (location.pathname + location.search !== url) history.replaceState(null, "", url);
    let stale = false;
    let timer = 0;
    const load = async () => {
      try {
        const found = await api.projects(search.trim());
        if (stale) return;
        setProjects(found);
        setError(null);
      } catch (err) {
        if (!stale) setError(err);
      }
      if (!stale) timer = window.setTimeout(load, REFRESH_MS);
    };
    const debounce = window.setTimeout(load, projects === null ? 0 : 120);
    return () => {
      stale = true;
      window.clearTimeout(debounce);
      window.clearTimeout(timer);
    };
  }, [search, attempt]);

  useEffect(() => setSelected(0), [search]);

  // `/` focuses the search, Esc clears it.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if (e.key === "/" && !typing) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const onSearchKey = (e: KeyboardEvent) => {
    const list = projects ?? [];
    if (e.key === "Escape") {
      setSearch("");
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      setSelected((i) => Math.min(i + 1, list.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setSelected((i) => Math.max(i - 1, 0));
    } else if (e.key === "Enter") {
      const p = list[selected];
      if (p) navigate(paths.workspace(p.entity, p.name));
    }
  };

  const me = useMe();
  const server = !!me && !me.local;
  const onVisibility = (p: Project) => setProjects((list) => list && list.map((q) => (q.entity === p.entity && q.name === p.name ? { ...q, ...p } : q)));
  const now = Date.now() / 1000;
  return (
    <div class="projects-page" data-testid="projects-page">
      <div class="projects-head">
        <h1>Projects</h1>
        {projects !== null && (
          <span class="projects-count" data-testid="projects-count">
            {projects.length} {projects.length === 1 ? "project" : "projects"}
          </span>
        )}
        <input
          ref={input}
          type="search"
          class="projects-search"
          placeholder="Search projects…  ( / )"
          aria-label="Search projects by name"
          data-testid="projects-search"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
          onKeyDown={onSearchKey}
        />
      </div>
      {error !== null && <ErrorBox error={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {projects === null && error === null && <ProjectsSkeleton />}
      {projects !== null && projects.length === 0 && !search.trim() && me?.anonymous && (
        <Empty title="No public projects">
          <p>
            Nothing on this server is public. <Link href={paths.login()}>Sign in</Link> to see your team's projects.
          </p>
        </Empty>
      )}
      {projects !== null && projects.length === 0 && !search.trim() && !me?.anonymous && (
        <Empty title="No runs yet">
          <p>Log a first run from Python; its project appears here as soon as it starts:</p>
          <FirstRunHint />
          <p class="projects-hint-note">
            Runs are stored under <code>./runyard</code> (or <code>$RUNYARD_DIR</code>), which is what this server shows.
          </p>
        </Empty>
      )}
      {projects !== null && projects.length === 0 && search.trim() !== "" && (
        <Empty title="No project matches">
          <p>
            No project name contains <code>{search.trim()}</code>.{" "}
            <button type="button" onClick={() => setSearch("")} data-testid="projects-clear">
              Clear the search
            </button>
          </p>
        </Empty>
      )}
      {projects !== null && projects.length > 0 && (
        <table class="projects-table" data-testid="projects-table">
          <thead>
            <tr>
              <th>Project</th>
              <th class="num">Runs</th>
              <th>Last activity</th>
              <th>Created</th>
              {server && <th>Privacy</th>}
            </tr>
          </thead>
          <tbody>
            {projects.map((p, i) => {
              const href = paths.workspace(p.entity, p.name);
              return (
                <tr
                  key={`${p.entity}/${p.name}`}
                  class={i === selected && search ? "selected" : ""}
                  data-testid="project-row"
                  data-project={p.name}
                  onClick={(e) => {
                    if (!(e.target instanceof HTMLAnchorElement)) navigate(href);
                  }}
                >
                  <td>
                    <Link href={href} class="project-name" data-testid="project-link">
                      {p.name}
                    </Link>
                    <span class="project-entity">{p.entity}</span>
                  </td>
                  <td class="num" data-testid="project-runs">
                    {p.run_count.toLocaleString("en-US")}
                  </td>
                  <td title={formatTime(p.last_activity)} data-testid="project-activity">
                    {formatAgo(p.last_activity, now)}
                  </td>
                  <td class="muted">{formatTime(p.created_at)}</td>
                  {server && (
                    <td onClick={(e) => e.stopPropagation()}>
                      <ProjectPrivacy project={p} me={me} onChange={onVisibility} />
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ProjectsSkeleton() {
  return (
    <div class="projects-skeleton" aria-busy="true">
      {[0, 1, 2, 3].map((i) => (
        <div key={i} class="skeleton-row" />
      ))}
    </div>
  );
}

/** A project's privacy: a switch for the admins of its entity, a badge for everyone else. */
function ProjectPrivacy({ project, me, onChange }: { project: Project; me: Me | null; onChange: (p: Project) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const visibility = project.visibility ?? "private";
  if (!canAdmin(me, project.entity)) {
    return (
      <span class={`badge privacy-badge ${visibility}`} data-testid="project-privacy" data-visibility={visibility}>
        {visibility}
      </span>
    );
  }
  const set = async (v: "private" | "public") => {
    if (v === visibility) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await accountsApi.setProjectVisibility(project.entity, project.name, v);
      onChange({ ...project, ...(answer ?? {}), visibility: answer?.visibility ?? v });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span data-testid="project-privacy" data-visibility={visibility}>
      <span
        class="segmented small"
        role="radiogroup"
        aria-label={`Privacy of ${project.name}`}
        title="Private: members of the entity. Public: anyone, signed in or not, can read its runs."
      >
        {(["private", "public"] as const).map((v) => (
          <button
            type="button"
            key={v}
            role="radio"
            aria-checked={visibility === v}
            class={visibility === v ? "on" : ""}
            disabled={busy}
            data-testid={`project-privacy-${v}`}
            onClick={() => void set(v)}
          >
            {v === "private" ? "Private" : "Public"}
          </button>
        ))}
      </span>
      {error && (
        <div class="editable-error" role="alert">
          {error}
        </div>
      )}
    </span>
  );
}
