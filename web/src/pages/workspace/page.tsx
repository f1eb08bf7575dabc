// The project workspace: the runs sidebar (or the full runs table) beside the chart panels.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, csrfHeaders, type Json, type ProjectKeys, type Run, type RunGroup } from "../../api";
import { ChartPanels, type ChartLine, type ChartSettings } from "../../charts/panels";
import { rotationColor } from "../../colors";
import { Confirm, Empty, ErrorBox, FirstRunHint } from "../../components/common";
import { NumberInput } from "../../components/numberinput";
import { canMarkKilled, MarkKilledConfirm, noteStopRequest, StopConfirm } from "../../components/stop";
import { regexProblem } from "../../regex";
import { Palette, RenameDialog, RunMenu } from "./menus";
import { canWrite, signedIn, useMe } from "../../session";
import { Link, paths } from "../../router";
import { defaultTableColumns, type RowItem, RunList, SIDEBAR_COLUMNS, tableColumns } from "./runlist";
import { useRunPages } from "./runs";
import { formatDuration, formatNumber } from "../../format";
import {
  baseQuery,
  columnValue,
  groupFilter,
  groupLineId,
  readSettings,
  searchPattern,
  toJson,
  toMongo,
  type WorkspaceSettings,
} from "./settings";
import { viewFromQuery, viewOf, viewToQuery } from "./urlstate";
import { CompareRuns } from "./compare";
import { ColumnPicker, FilterBuilder, filterFields, GroupSelect, groupOptions, SortSelect, sortOptions } from "./toolbar";
import "./workspace.css";

const LIVE_MS = 2000;
const IDLE_MS = 6000;
const SAVE_MS = 500;

interface Boot {
  keys: ProjectKeys;
  settings: WorkspaceSettings;
  exists: boolean;
}

export function WorkspacePage(props: { entity: string; project: string }) {
  const me = useMe();
  const [boot, setBoot] = useState<Boot | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    setError(null);
    Promise.all([
      api.project(props.entity, props.project).then(
        () => true,
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 404) return false;
          throw err;
        },
      ),
      api.projectKeys(props.entity, props.project).catch(() => ({ config: [], summary: [], history: [], system: [] })),
      api.workspace(props.entity, props.project).catch(() => ({ settings: {}, updated_at: null })),
    ]).then(
      ([exists, keys, ws]) => setBoot({ exists, keys, settings: readSettings(ws.settings) }),
      setError,
    );
  };
  useEffect(load, []);
  if (error) return <ErrorBox error={error} onRetry={load} />;
  if (!boot)
    return (
      <div class="workspace" data-testid="workspace-page" data-ready="false">
        <div class="runs-pane skeleton-pane" />
        <div class="charts-pane">
          <div class="chart-skeleton static" />
        </div>
      </div>
    );
  if (!boot.exists && me?.anonymous)
    return (
      <div data-testid="workspace-page" data-ready="true">
        <Empty title={`No public runs in ${props.entity}/${props.project}`}>
          <p>
            It does not exist, or it is private. <Link href={paths.login(location.pathname + location.search)}>Sign in</Link> as a
            member of {props.entity} to see it.
          </p>
        </Empty>
      </div>
    );
  if (!boot.exists)
    return (
      <div data-testid="workspace-page" data-ready="true">
        <Empty title={`No runs in ${props.project} yet`}>
          <p>Log a first run to this project and it shows up here, live:</p>
          <FirstRunHint project={props.project} />
        </Empty>
      </div>
    );
  return <Workspace entity={props.entity} project={props.project} boot={boot} />;
}

type MenuState =
  | { kind: "run"; run: Run; x: number; y: number }
  | { kind: "color"; id: string; x: number; y: number }
  | { kind: "filter" | "columns"; x: number; y: number }
  | null;

function groupValueLabel(v: Json): string {
  if (v === null) return "(none)";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Why the search box's text cannot be sent (null when it can). */
function searchProblem(text: string): string | null {
  const pattern = searchPattern(text);
  return pattern ? regexProblem(pattern) : null;
}

function Workspace({ entity, project, boot: saved }: { entity: string; project: string; boot: Boot }) {
  // a link's view wins over the saved one
  const linked = useMemo(() => viewFromQuery(location.search), []);
  const boot = useMemo(() => (linked ? { ...saved, settings: { ...saved.settings, ...linked } } : saved), [saved]);
  const bootProblem = searchProblem(boot.settings.search);
  // A saved search that cannot work (saved by an older version) is shown, with why, but not used.
  const [settings, setSettings] = useState<WorkspaceSettings>(bootProblem ? { ...boot.settings, search: "" } : boot.settings);
  const [keys, setKeys] = useState<ProjectKeys>(boot.keys);
  const [searchText, setSearchText] = useState(boot.settings.search);
  // Why the search text is not in use: checked here before it is sent, or refused once by the server.
  const [searchError, setSearchError] = useState<string | null>(bootProblem);
  const goodSearch = useRef(bootProblem ? "" : boot.settings.search);
  const [stopping, setStopping] = useState<Run | null>(null);
  const [marking, setMarking] = useState<Run | null>(null);
  const [saving, setSaving] = useState(false);
  const [menu, setMenu] = useState<MenuState>(null);
  const [renaming, setRenaming] = useState<Run | null>(null);
  const [deleting, setDeleting] = useState<Run | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const [comparing, setComparing] = useState(false);
  const searchEl = useRef<HTMLInputElement>(null);
  const me = useMe();
  const writable = canWrite(me, entity);
  // An anonymous visitor has no workspace of their own on the server: their view lives in the page and the URL.
  const persist = useRef(signedIn(me));
  persist.current = signedIn(me);

  // --- settings: local at once, saved to the server debounced ---
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const pendingSave = useRef<WorkspaceSettings | null>(null);
  const flush = useCallback(() => {
    if (saveTimer.current) clearTimeout(saveTimer.current);
    saveTimer.current = null;
    const s = pendingSave.current;
    if (!s) return;
    pendingSave.current = null;
    if (!persist.current) {
      setSaving(false);
      return;
    }
    api.saveWorkspace(entity, project, toJson(s)).then(
      () => setSaving(pendingSave.current !== null),
      (err: unknown) => {
        setSaving(false);
        setToast(`Could not save the workspace: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }, [entity, project]);
  const update = useCallback(
    (patch: Partial<WorkspaceSettings> | ((s: WorkspaceSettings) => Partial<WorkspaceSettings>)) => {
      setSettings((prev) => {
        const next = { ...prev, ...(typeof patch === "function" ? patch(prev) : patch) };
        pendingSave.current = next;
        setSaving(true);
        if (saveTimer.current) clearTimeout(saveTimer.current);
        saveTimer.current = setTimeout(flush, SAVE_MS);
        return next;
      });
    },
    [flush],
  );
  useEffect(() => {
    const onHide = () => {
      const s = pendingSave.current;
      if (!s || !persist.current) return;
      void fetch(`/api/v1/projects/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/workspace`, {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", ...csrfHeaders("PUT") },
        body: JSON.stringify({ settings: toJson(s) }),
        keepalive: true,
      });
      pendingSave.current = null;
    };
    window.addEventListener("pagehide", onHide);
    return () => {
      window.removeEventListener("pagehide", onHide);
      flush();
    };
  }, [flush]);

  // the search box is debounced into the settings, once it is a pattern the server can take: one that is not
  // is reported and never sent (the live refresh would send it again and again)
  useEffect(() => {
    const t = setTimeout(() => {
      const problem = searchProblem(searchText);
      setSearchError(problem);
      if (!problem && searchText !== settings.search) update({ search: searchText });
    }, 250);
    return () => clearTimeout(t);
  }, [searchText]);
  /** If `err` is the server refusing the search `text` (a pattern only RE2 rejects): say why, and go back to the
   * last search that worked, so that the refresh does not send it again. */
  const refusedSearch = (text: string, err: ApiError) => {
    if (!text || err.code !== "bad_filter" || !err.message.startsWith("search")) return;
    setSearchError(err.message);
    update((s) => (s.search === text ? { search: goodSearch.current === text ? "" : goodSearch.current } : {}));
  };

  // --- the view in the URL: each change is a history entry (typing in the search box replaces its own) ---
  // The URL is written in a layout effect, in the same task as the render: a plain effect waits for the next
  // frame, and on a busy machine a Back could land first; the router's popstate listener then re-renders this
  // page, which runs the pending effect, and the stale view overwrote the entry Back had just reached.
  const view = viewOf(settings);
  const viewKey = JSON.stringify(view);
  const urlFirst = useRef(true);
  const fromHistory = useRef(false);
  const lastSearch = useRef(settings.search);
  const lastWasSearch = useRef(false);
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  // Back/Forward count: a view rendered before the latest one is stale, and history's entry wins over it
  const pops = useRef(0);
  const renderedAtPop = pops.current;
  useLayoutEffect(() => {
    if (renderedAtPop !== pops.current) return;
    const query = viewToQuery(view, location.search);
    const searchChanged = lastSearch.current !== view.search;
    lastSearch.current = view.search;
    const url = `${location.pathname}${query}${location.hash}`;
    if (query !== location.search) {
      // one entry for a search being typed (its debounced steps replace each other), one for each other change
      if (urlFirst.current || fromHistory.current || (searchChanged && lastWasSearch.current)) history.replaceState(null, "", url);
      else history.pushState(null, "", url);
    }
    lastWasSearch.current = searchChanged && !fromHistory.current;
    urlFirst.current = false;
    fromHistory.current = false;
  }, [viewKey]);
  useEffect(() => {
    const onPop = () => {
      pops.current++;
      lastWasSearch.current = false;
      const v = viewFromQuery(location.search) ?? viewOf(saved.settings);
      lastSearch.current = v.search;
      if (JSON.stringify(v) === JSON.stringify(viewOf(settingsRef.current))) return;
      fromHistory.current = true;
      setSearchText(v.search);
      update(v);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [update]);

  // --- the runs: pages of the sorted, filtered list; the first N for the charts; groups ---
  const query = useMemo(() => baseQuery(settings), [settings.filters, settings.search, settings.sort]);
  const queryKey = JSON.stringify(query);
  const grouped = settings.groupBy !== null;
  const pages = useRunPages(entity, project, query, !grouped);
  const [top, setTop] = useState<{ key: string; runs: Run[]; total: number } | null>(null);
  const [groups, setGroups] = useState<{ key: string; groups: RunGroup[] } | null>(null);
  const [groupError, setGroupError] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [members, setMembers] = useState<Map<string, Run[]>>(new Map());
  const [running, setRunning] = useState<Run[]>([]);
  const range = useRef<[number, number]>([0, 50]);

  const topKey = `${queryKey}|${settings.maxRuns}`;
  const searched = settings.search;
  const loadTop = useCallback(
    () =>
      api.queryRuns(entity, project, { ...query, offset: 0, limit: settings.maxRuns }).then(
        (r) => {
          goodSearch.current = searched;
          setTop({ key: topKey, runs: r.runs, total: r.total });
        },
        (err: unknown) => {
          if (err instanceof ApiError) refusedSearch(searched, err);
          setTop((t) => t ?? { key: topKey, runs: [], total: 0 });
        },
      ),
    [topKey],
  );
  useEffect(() => {
    void loadTop();
  }, [loadTop]);

  const groupKey = `${queryKey}|${settings.groupBy}`;
  const loadGroups = useCallback(() => {
    if (!settings.groupBy) return Promise.resolve();
    return api.groupRuns(entity, project, { ...query, group_by: settings.groupBy }).then(
      (g) => {
        setGroups({ key: groupKey, groups: g });
        setGroupError(null);
      },
      (err: unknown) => setGroupError(err instanceof Error ? err.message : String(err)),
    );
  }, [groupKey]);
  useEffect(() => {
    setMembers(new Map());
    void loadGroups();
  }, [loadGroups]);

  const loadMembers = useCallback(
    (lineId: string, value: Json) => {
      if (!settings.groupBy) return;
      api
        .queryRuns(entity, project, {
          filters: toMongo(settings.filters, [groupFilter(settings.groupBy, value)]),
          search: searchPattern(settings.search),
          order: query.order ?? "-created_at",
          limit: 1000,
        })
        .then((r) => setMembers((m) => new Map(m).set(lineId, r.runs)))
        .catch(() => undefined);
    },
    [groupKey],
  );

  const loadRunning = useCallback(
    () =>
      api
        .queryRuns(entity, project, {
          filters: toMongo(settings.filters, [{ state: "running" }]),
          search: searchPattern(settings.search),
          limit: 1000,
        })
        .then((r) => setRunning(r.runs))
        .catch((err: unknown) => {
          if (err instanceof ApiError) refusedSearch(searched, err);
        }),
    [queryKey],
  );
  // Whichever query hears first that the server refuses the search, the search goes back at once.
  useEffect(() => {
    if (pages.error) refusedSearch(settings.search, pages.error);
  }, [pages.error]);
  useEffect(() => {
    void loadRunning();
  }, [loadRunning]);

  const hidden = useMemo(() => new Set(settings.hidden), [settings.hidden]);
  const topRuns = top?.runs ?? [];
  const groupList = grouped && groups?.key === groupKey ? groups.groups : [];
  const drawnGroups = groupList.slice(0, settings.maxRuns);

  // A run (or group) the page shows for the first time takes the next colour of the rotation; the colours taken
  // during a render are saved just after it, so that the colour never changes with the view.
  const fresh = useRef<Map<string, string>>(new Map());
  const seq = useRef(settings.colorSeq);
  const colorOf = useCallback(
    (id: string) => {
      const c = settings.colors[id] ?? settings.runColors[id] ?? fresh.current.get(id);
      if (c) return c;
      const next = rotationColor(seq.current++);
      fresh.current.set(id, next);
      return next;
    },
    [settings.colors, settings.runColors],
  );
  useEffect(() => {
    if (!fresh.current.size) return;
    const taken = Object.fromEntries(fresh.current);
    update((s) => ({ runColors: { ...s.runColors, ...taken }, colorSeq: Math.max(s.colorSeq, seq.current) }));
    fresh.current = new Map();
  });

  const lines: ChartLine[] = useMemo(() => {
    if (grouped)
      return drawnGroups
        .map((g) => ({ g, id: groupLineId(g.value) }))
        .filter(({ id }) => !hidden.has(id))
        .map(({ g, id }) => ({
          id,
          label: groupValueLabel(g.value),
          color: colorOf(id),
          runIds: g.run_ids.filter((r) => !hidden.has(r)),
        }))
        .filter((l) => l.runIds.length > 0);
    // oldest first, so that runs drawn together for the first time take consecutive colours in creation order
    for (const r of [...topRuns].sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id))) colorOf(r.id);
    return topRuns.filter((r) => !hidden.has(r.id)).map((r) => ({ id: r.id, label: r.name, color: colorOf(r.id), runIds: [r.id] }));
  }, [grouped, groupList, topRuns, hidden, colorOf]);

  const compareRuns = useMemo(() => (grouped ? [] : topRuns.filter((r) => !hidden.has(r.id))), [grouped, topRuns, hidden]);
  const drawnRunIds = useMemo(() => new Set(lines.flatMap((l) => l.runIds)), [lines]);
  const liveIds = useMemo(() => running.filter((r) => drawnRunIds.has(r.id)).map((r) => r.id), [running, drawnRunIds]);
  const anyRunning = running.length > 0;

  // --- live: poll while runs are running (slowly otherwise, to notice new runs) ---
  const liveRef = useRef({ pages, loadTop, loadRunning, loadGroups, grouped, expanded, groupList, members, loadMembers });
  liveRef.current = { pages, loadTop, loadRunning, loadGroups, grouped, expanded, groupList, members, loadMembers };
  useEffect(() => {
    let n = 0;
    const t = setInterval(
      () => {
        if (document.hidden) return;
        n++;
        const L = liveRef.current;
        void L.loadRunning();
        void L.loadTop();
        if (L.grouped) {
          if (n % 3 === 0) void L.loadGroups();
          for (const g of L.groupList) {
            const id = groupLineId(g.value);
            if (L.expanded.has(id)) L.loadMembers(id, g.value);
          }
        } else void L.pages.refresh(range.current[0], range.current[1]);
        if (n % 3 === 0) api.projectKeys(entity, project).then((k) => setKeys((old) => (JSON.stringify(old) === JSON.stringify(k) ? old : k)), () => undefined);
        setTick((x) => x + 1);
      },
      anyRunning ? LIVE_MS : IDLE_MS,
    );
    return () => clearInterval(t);
  }, [anyRunning]);

  // --- group aggregates in the table: each group's runs are read (the first groups, up to 1000 runs each) ---
  const AGG_GROUPS = 30;
  useEffect(() => {
    if (!grouped || !settings.expanded) return;
    for (const g of groupList.slice(0, AGG_GROUPS)) loadMembers(groupLineId(g.value), g.value);
  }, [grouped, settings.expanded, groupList]);
  const aggregate = useCallback(
    (lineId: string, column: string) => {
      const runs = members.get(lineId);
      if (!runs?.length) return null;
      const values: number[] = [];
      for (const r of runs) {
        const v = column === "duration" ? r.duration : columnValue(r, column);
        if (typeof v === "number" && Number.isFinite(v)) values.push(v);
      }
      if (!values.length) return null;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      const show = column === "duration" ? formatDuration : formatNumber;
      return {
        text: values.length > 1 && std > 0 ? `${show(mean)} ± ${show(std)}` : show(mean),
        title: `mean ${formatNumber(mean)} ± std ${formatNumber(std)} over ${values.length} run${values.length === 1 ? "" : "s"}`,
      };
    },
    [members],
  );

  // --- rows of the list ---
  const rowItems: RowItem[] | null = useMemo(() => {
    if (!grouped) return null;
    const out: RowItem[] = [];
    groupList.forEach((g, gi) => {
      const lineId = groupLineId(g.value);
      const open = expanded.has(lineId);
      out.push({ kind: "group", group: g, lineId, label: groupValueLabel(g.value), expanded: open, index: gi });
      if (open) {
        const runs = members.get(lineId);
        if (!runs) for (let i = 0; i < Math.min(g.count, 3); i++) out.push({ kind: "run", run: undefined, index: gi, member: true });
        else for (const run of runs) out.push({ kind: "run", run, index: gi, member: true });
      }
    });
    return out;
  }, [grouped, groupList, expanded, members]);

  const count = rowItems ? rowItems.length : pages.total ?? 0;
  const rowAt = useCallback(
    (i: number): RowItem | undefined => (rowItems ? rowItems[i] : { kind: "run", run: pages.at(i), index: i }),
    [rowItems, pages],
  );
  const onRange = useCallback(
    (from: number, to: number) => {
      range.current = [from, to];
      if (!rowItems) pages.ensure(from, to);
    },
    [rowItems, pages],
  );
  const isVisualized = useCallback((item: RowItem) => item.index < settings.maxRuns, [settings.maxRuns]);
  const toggleHide = useCallback((id: string) => update((s) => ({ hidden: s.hidden.includes(id) ? s.hidden.filter((h) => h !== id) : [...s.hidden, id] })), [update]);
  const toggleGroup = useCallback(
    (lineId: string) => {
      const g = groupList.find((x) => groupLineId(x.value) === lineId);
      setExpanded((e) => {
        const next = new Set(e);
        if (next.has(lineId)) next.delete(lineId);
        else {
          next.add(lineId);
          if (g) loadMembers(lineId, g.value);
        }
        return next;
      });
    },
    [groupList, loadMembers],
  );
  const anchor = (el: HTMLElement) => {
    const r = el.getBoundingClientRect();
    return { x: Math.min(r.left, window.innerWidth - 240), y: r.bottom + 4 };
  };

  // --- run actions ---
  const replaceRun = (run: Run) => {
    pages.patch(run);
    setTop((t) => t && { ...t, runs: t.runs.map((r) => (r.id === run.id ? run : r)) });
    setMembers((m) => new Map([...m].map(([k, runs]) => [k, runs.map((r) => (r.id === run.id ? run : r))])));
  };
  const rename = async (run: Run, name: string) => replaceRun(await api.updateRun(entity, project, run.id, { name }));
  const stop = async (run: Run) => {
    setStopping(null);
    try {
      const r = await api.stopRun(entity, project, run.id);
      noteStopRequest(run);
      replaceRun({ ...run, ...r, stop_requested_at: r.stop_requested_at ?? Date.now() / 1000 });
      void loadRunning();
    } catch (err) {
      setToast(`Could not stop ${run.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const markKilled = async (run: Run) => {
    setMarking(null);
    try {
      replaceRun(await api.markKilled(entity, project, run.id));
      void loadRunning();
    } catch (err) {
      setToast(`Could not mark ${run.name} killed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const remove = async (run: Run) => {
    setDeleting(null);
    try {
      await api.deleteRun(entity, project, run.id);
      pages.remove(run.id);
      setMembers((m) => new Map([...m].map(([k, runs]) => [k, runs.filter((r) => r.id !== run.id)])));
      update((s) => {
        const colors = { ...s.colors };
        const runColors = { ...s.runColors };
        delete colors[run.id];
        delete runColors[run.id];
        return { hidden: s.hidden.filter((h) => h !== run.id), colors, runColors };
      });
      void loadTop();
      void loadGroups();
      void loadRunning();
    } catch (err) {
      setToast(`Could not delete ${run.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  // --- keyboard: / search, Esc clear, j/k move, h hide ---
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
      if (e.key === "/" && !typing) {
        e.preventDefault();
        searchEl.current?.focus();
        return;
      }
      if (typing || e.metaKey || e.ctrlKey || e.altKey || grouped) return;
      if (e.key === "j" || e.key === "k") {
        const total = pages.total ?? 0;
        let i = -1;
        for (let r = 0; r < total && r < 10000; r++) if (pages.at(r)?.id === selected) i = r;
        const next = Math.max(0, Math.min(total - 1, i + (e.key === "j" ? 1 : -1)));
        const run = pages.at(next);
        if (run) setSelected(run.id);
      } else if (e.key === "h" && selected) toggleHide(selected);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [pages, selected, grouped, toggleHide]);

  const chartSettings = settings.chart;
  const onChartSettings = useCallback((c: ChartSettings) => update({ chart: c }), [update]);
  const metrics = useMemo(() => topRuns.map((r) => r.metrics ?? {}), [topRuns]);
  const runErr = searchError ?? (grouped ? groupError : pages.error?.message ?? null);
  const total = top?.total ?? pages.total ?? null;
  const visualized = lines.length;
  const filtered = settings.filters.length > 0 || !!settings.search;
  const tableCols = settings.tableColumns ?? defaultTableColumns(keys);
  const columns = settings.expanded ? tableColumns(tableCols) : SIDEBAR_COLUMNS;
  const moveColumn = (column: string, delta: number) => {
    const list = [...tableCols];
    const i = list.indexOf(column);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= list.length) return;
    [list[i], list[j]] = [list[j]!, list[i]!];
    update({ tableColumns: list });
  };
  const ready = top !== null && (!grouped || groups?.key === groupKey || groupError !== null);

  if (ready && total === 0 && !filtered && !grouped && !pages.error)
    return (
      <div data-testid="workspace-page" data-ready="true">
        <Empty title={`No runs in ${project} yet`}>
          <p>Log a first run to this project and it shows up here, live:</p>
          <FirstRunHint project={project} />
        </Empty>
      </div>
    );

  return (
    <div
      class={`workspace ${settings.expanded ? "expanded" : ""}`}
      data-testid="workspace-page"
      data-ready={ready ? "true" : "false"}
      data-saved={saving ? "false" : "true"}
      data-live={anyRunning ? "true" : "false"}
    >
      <aside class="runs-pane" data-testid="runs-pane">
        <div class="runs-head">
          <span class="runs-title">Runs</span>
          <span class="run-count" data-testid="run-count" title="Runs matching the search and filters (lines the charts draw)">
            {total ?? "…"} <span class="muted">({visualized} visualized)</span>
          </span>
          {anyRunning && (
            <span class="live-dot" title="Live: updating while runs are running" data-testid="live">
              live
            </span>
          )}
          <span class="spacer" />
          <button
            type="button"
            class="icon-btn expand-btn"
            onClick={() => update({ expanded: !settings.expanded })}
            title={settings.expanded ? "Back to the workspace (charts)" : "Expand into the full runs table"}
            data-testid="expand-table"
            aria-pressed={settings.expanded}
          >
            {settings.expanded ? "⤡ Charts" : "⤢ Table"}
          </button>
        </div>
        <div class="runs-tools">
          <input
            ref={searchEl}
            type="search"
            class={`run-search ${searchError ? "invalid" : ""}`}
            aria-invalid={searchError ? "true" : "false"}
            placeholder="Search runs (regex)…  /"
            value={searchText}
            onInput={(e) => setSearchText((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                setSearchText("");
                setSearchError(null);
                update({ search: "" });
                (e.target as HTMLInputElement).blur();
              }
            }}
            data-testid="run-search"
            aria-label="Search runs by name (regular expression)"
          />
          <button
            type="button"
            class={`tool-btn ${settings.filters.length ? "on" : ""}`}
            onClick={(e) => setMenu({ kind: "filter", ...anchor(e.currentTarget) })}
            data-testid="filter-button"
          >
            Filter{settings.filters.length ? ` (${settings.filters.length})` : ""}
          </button>
          <GroupSelect value={settings.groupBy} options={groupOptions(keys)} onChange={(g) => update({ groupBy: g })} />
          <SortSelect sort={settings.sort} options={sortOptions(keys)} onChange={(sort) => update({ sort })} />
          <button
            type="button"
            class="tool-btn"
            disabled={grouped || compareRuns.length < 2}
            title={grouped ? "Compare works on runs, not groups" : "Compare the config and summary of the runs the charts draw (the shown, not hidden, ones)"}
            onClick={() => setComparing(true)}
            data-testid="compare-button"
          >
            Compare
          </button>
          {settings.expanded && (
            <button type="button" class="tool-btn" onClick={(e) => setMenu({ kind: "columns", ...anchor(e.currentTarget) })} data-testid="columns-button">
              Columns ({tableCols.length + 1})
            </button>
          )}
        </div>
        {runErr && (
          <div class="inline-error" role="alert" data-testid="search-error">
            {runErr}
          </div>
        )}
        {ready && count === 0 && !runErr && (
          <div class="runs-empty" data-testid="runs-empty">
            No run matches{settings.search ? ` “${settings.search}”` : ""}
            {settings.filters.length ? " and the filters" : ""}.{" "}
            <button
              type="button"
              class="link-btn"
              onClick={() => {
                setSearchText("");
                setSearchError(null);
                update({ search: "", filters: [] });
              }}
            >
              Clear
            </button>
          </div>
        )}
        <RunList
          mode={settings.expanded ? "table" : "sidebar"}
          count={count}
          rowAt={rowAt}
          onRange={onRange}
          columns={columns}
          widths={settings.widths}
          onWidth={(c, w) => update((s) => ({ widths: { ...s.widths, [c]: w } }))}
          sort={settings.sort}
          onSort={(sort) => update({ sort })}
          colorOf={colorOf}
          isHidden={(id) => hidden.has(id)}
          isVisualized={isVisualized}
          onToggleHide={toggleHide}
          onColor={(id, el) => setMenu({ kind: "color", id, ...anchor(el) })}
          onMenu={writable ? (run, el) => setMenu({ kind: "run", run, ...anchor(el) }) : undefined}
          onToggleGroup={toggleGroup}
          onMoveColumn={moveColumn}
          aggregate={aggregate}
          entity={entity}
          project={project}
          selected={selected}
          version={pages.version}
        />
      </aside>
      {!settings.expanded && (
        <section class="charts-pane" data-testid="charts-pane">
          <ChartPanels
            entity={entity}
            project={project}
            lines={lines}
            grouped={grouped}
            keys={keys.history}
            metrics={metrics}
            settings={chartSettings}
            onSettings={onChartSettings}
            liveIds={liveIds}
            tick={tick}
            toolbar={
              <label title="The charts draw the first N runs (or groups) of the sorted, filtered list">
                Runs shown
                <NumberInput min={1} max={1000} class="narrow" value={settings.maxRuns} onCommit={(maxRuns) => update({ maxRuns })} testid="max-runs" />
              </label>
            }
          />
        </section>
      )}

      {menu && (
        <div class="float" style={{ left: `${menu.x}px`, top: `${menu.y}px` }}>
          {menu.kind === "run" && writable && (
            <RunMenu
              running={menu.run.state === "running"}
              stopping={!!menu.run.stop_requested_at}
              onRename={() => setRenaming(menu.run)}
              markable={canMarkKilled(menu.run)}
              onStop={() => setStopping(menu.run)}
              onMarkKilled={() => setMarking(menu.run)}
              onDelete={() => setDeleting(menu.run)}
              onClose={() => setMenu(null)}
            />
          )}
          {menu.kind === "color" && (
            <Palette
              color={colorOf(menu.id)}
              onClose={() => setMenu(null)}
              onPick={(c) => {
                const id = menu.id;
                update((s) => {
                  const colors = { ...s.colors };
                  if (c) colors[id] = c;
                  else delete colors[id];
                  return { colors };
                });
                setMenu(null);
              }}
            />
          )}
          {menu.kind === "filter" && (
            <FilterBuilder filters={settings.filters} fields={filterFields(keys)} onApply={(filters) => update({ filters })} onClose={() => setMenu(null)} />
          )}
          {menu.kind === "columns" && (
            <ColumnPicker keys={keys} columns={tableCols} onChange={(c) => update({ tableColumns: c })} onClose={() => setMenu(null)} />
          )}
        </div>
      )}
      {comparing && <CompareRuns runs={compareRuns} colorOf={colorOf} onClose={() => setComparing(false)} />}
      {renaming && <RenameDialog name={renaming.name} onSave={(name) => rename(renaming, name)} onClose={() => setRenaming(null)} />}
      {marking && <MarkKilledConfirm run={marking} onConfirm={() => void markKilled(marking)} onCancel={() => setMarking(null)} />}
      {stopping && <StopConfirm run={stopping} onConfirm={() => void stop(stopping)} onCancel={() => setStopping(null)} />}
      {deleting && (
        <Confirm
          title="Delete run?"
          message={
            <>
              <strong>{deleting.name}</strong> and all its data (history, logs, files) will be deleted. This cannot be undone.
            </>
          }
          confirmLabel="Delete"
          danger
          onConfirm={() => void remove(deleting)}
          onCancel={() => setDeleting(null)}
        />
      )}
      {toast && (
        <div class="toast" role="alert" data-testid="toast">
          {toast}
          <button type="button" class="icon-btn" onClick={() => setToast(null)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      )}
    </div>
  );
}
