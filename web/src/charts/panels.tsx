// Chart panels for a set of runs (or groups): one line panel per history key, in collapsible sections by the
// prefix before "/", with the x axis, smoothing, group aggregation and log scale settings. The workspace and the
// run page's Charts tab both use it.
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { Json } from "../api";
import type { ChartLine, GroupAgg, GroupBand, Smoothing, SmoothingKind } from "./data";
import { globMatch, X_RELATIVE, X_STEP, X_WALL, xLabel } from "./format";
import { LinePanel } from "./panel";
import { NumberInput } from "../components/numberinput";
import { MediaPanel, useMediaIndex, type MediaRun } from "../media/panels";
import "./charts.css";

export type { ChartLine } from "./data";

export interface ChartSettings {
  /** "auto" (a define_metric step metric, else _step), or an x key for every panel. */
  x: string;
  smoothing: Smoothing;
  agg: GroupAgg;
  band: GroupBand;
  /** Panels drawn with a log y axis. */
  logY: string[];
  /** Per-panel x axis overrides. */
  panelX: Record<string, string>;
  /** Collapsed section names. */
  collapsed: string[];
  /** Each panel shows its lines' colours and labels under its title. */
  legend: boolean;
}

export const DEFAULT_CHART_SETTINGS: ChartSettings = {
  x: "auto",
  smoothing: { kind: "none", weight: 0.6, window: 10 },
  agg: "mean",
  band: "minmax",
  logY: [],
  panelX: {},
  collapsed: [],
  legend: true,
};

/** Read chart settings saved as JSON, keeping defaults for anything missing or malformed. */
export function readChartSettings(value: Json | undefined): ChartSettings {
  const d = DEFAULT_CHART_SETTINGS;
  if (!value || typeof value !== "object" || Array.isArray(value)) return d;
  const v = value as Record<string, Json>;
  const str = (x: Json | undefined, ok: readonly string[], dflt: string) => (typeof x === "string" && ok.includes(x) ? x : dflt);
  const sm = (v.smoothing && typeof v.smoothing === "object" && !Array.isArray(v.smoothing) ? v.smoothing : {}) as Record<string, Json>;
  const strings = (x: Json | undefined) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []);
  const panelX: Record<string, string> = {};
  if (v.panelX && typeof v.panelX === "object" && !Array.isArray(v.panelX))
    for (const [k, x] of Object.entries(v.panelX)) if (typeof x === "string") panelX[k] = x;
  return {
    x: typeof v.x === "string" && v.x ? v.x : d.x,
    smoothing: {
      kind: str(sm.kind, ["none", "ema", "avg"], "none") as SmoothingKind,
      weight: typeof sm.weight === "number" ? Math.min(0.999, Math.max(0, sm.weight)) : d.smoothing.weight,
      window: typeof sm.window === "number" ? Math.max(1, Math.round(sm.window)) : d.smoothing.window,
    },
    agg: str(v.agg, ["mean", "median", "min", "max"], d.agg) as GroupAgg,
    band: str(v.band, ["minmax", "std", "stderr", "none"], d.band) as GroupBand,
    logY: strings(v.logY),
    panelX,
    collapsed: strings(v.collapsed),
    legend: v.legend !== false,
  };
}

export interface ChartPanelsProps {
  entity: string;
  project: string;
  /** The lines to draw, in legend order, with their colours. */
  lines: ChartLine[];
  grouped: boolean;
  /** History keys, one panel each. */
  keys: string[];
  /** The runs' define_metric definitions (Run.metrics), for the default x of each panel. */
  metrics: Record<string, Record<string, Json>>[];
  settings: ChartSettings;
  onSettings: (next: ChartSettings) => void;
  /** Runs still running: their panels fetch new points on every tick. */
  liveIds: string[];
  tick: number;
  /** Extra controls for the toolbar (the workspace puts "first N runs" there). */
  toolbar?: ComponentChildren;
  panelHeight?: number;
}

export function sectionOf(key: string): string {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "Charts";
}

/** A panel's x axis when the user has not chosen one: the step metric a run defined for it, else _step. */
export function stepMetricFor(key: string, metrics: Record<string, Record<string, Json>>[]): string | null {
  for (const defs of metrics) {
    const exact = defs[key]?.step_metric;
    if (typeof exact === "string" && exact) return exact;
  }
  for (const defs of metrics)
    for (const [pattern, def] of Object.entries(defs))
      if (pattern.includes("*") && globMatch(pattern, key) && typeof def.step_metric === "string" && def.step_metric)
        return def.step_metric;
  return null;
}

export function ChartPanels(props: ChartPanelsProps) {
  const { settings: s, onSettings } = props;
  const [filter, setFilter] = useState("");
  const [enlarged, setEnlarged] = useState<string | null>(null);
  const height = props.panelHeight ?? 210;

  // Media keys and custom charts get their own panels; they never become (empty) line charts.
  const mediaRuns: MediaRun[] = useMemo(() => {
    const out: MediaRun[] = [];
    for (const l of props.lines)
      for (const id of l.runIds) out.push({ id, label: l.runIds.length === 1 ? l.label : `${l.label} · ${id}`, color: l.color });
    return out;
  }, [props.lines]);
  const media = useMediaIndex(
    props.entity,
    props.project,
    useMemo(() => mediaRuns.map((r) => r.id), [mediaRuns]),
    props.tick,
  );
  const metricKeys = useMemo(() => props.keys.filter((k) => !media.hidden.has(k)), [props.keys, media]);
  const panelKeys = useMemo(
    () => [...new Set([...metricKeys, ...media.types.keys(), ...media.plots.keys()])].sort(),
    [metricKeys, media],
  );

  const sections = useMemo(() => {
    let re: RegExp | null = null;
    try {
      re = filter ? new RegExp(filter, "i") : null;
    } catch {
      re = null;
    }
    const out = new Map<string, string[]>();
    for (const k of panelKeys) {
      if (filter && !(re ? re.test(k) : k.includes(filter))) continue;
      const sec = sectionOf(k);
      if (!out.has(sec)) out.set(sec, []);
      out.get(sec)!.push(k);
    }
    return [...out.entries()].sort(([a], [b]) => (a === "Charts" ? -1 : b === "Charts" ? 1 : a.localeCompare(b)));
  }, [panelKeys, filter]);

  const xOptions = useMemo(() => [X_STEP, X_WALL, X_RELATIVE, ...metricKeys], [metricKeys]);
  const xFor = (key: string) =>
    s.panelX[key] ?? (s.x !== "auto" ? s.x : stepMetricFor(key, props.metrics) ?? X_STEP);
  const set = (patch: Partial<ChartSettings>) => onSettings({ ...s, ...patch });
  const toggle = (list: string[], item: string, on: boolean) => (on ? [...new Set([...list, item])] : list.filter((x) => x !== item));

  useEffect(() => {
    if (!enlarged) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setEnlarged(null);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [enlarged]);

  const panel = (key: string, h: number, onEnlarge?: () => void) => {
    const plot = media.plots.get(key);
    const type = plot ? "plot" : media.types.get(key);
    if (type !== undefined)
      return (
        <MediaPanel
          key={key}
          entity={props.entity}
          project={props.project}
          runs={mediaRuns}
          mediaKey={key}
          type={type}
          plot={plot}
          tick={props.tick}
          height={Math.max(h, 240)}
        />
      );
    return linePanel(key, h, onEnlarge);
  };

  const linePanel = (key: string, h: number, onEnlarge?: () => void) => (
    <LinePanel
      key={key}
      entity={props.entity}
      project={props.project}
      metric={key}
      lines={props.lines}
      grouped={props.grouped}
      x={xFor(key)}
      xOptions={xOptions}
      smoothing={s.smoothing}
      agg={s.agg}
      band={s.band}
      logY={s.logY.includes(key)}
      liveIds={props.liveIds}
      tick={props.tick}
      height={h}
      legend={s.legend && onEnlarge !== undefined /* the enlarged panel has the full legend below it */}
      onLog={(on) => set({ logY: toggle(s.logY, key, on) })}
      onX={(x) => {
        const panelX = { ...s.panelX };
        if (x == null) delete panelX[key];
        else panelX[key] = x;
        set({ panelX });
      }}
      {...(onEnlarge ? { onEnlarge } : {})}
    />
  );

  return (
    <div class="chart-panels" data-testid="chart-panels" data-grouped={props.grouped ? "true" : "false"}>
      <div class="chart-toolbar">
        <input
          type="search"
          class="chart-filter"
          placeholder="Search panels…"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          data-testid="panel-search"
        />
        <label>
          X axis
          <select value={s.x} onChange={(e) => set({ x: (e.target as HTMLSelectElement).value, panelX: {} })} data-testid="x-axis">
            <option value="auto">Step (or defined step metric)</option>
            {xOptions.map((x) => (
              <option value={x}>{xLabel(x)}</option>
            ))}
          </select>
        </label>
        <label>
          Smoothing
          <select
            value={s.smoothing.kind}
            onChange={(e) => set({ smoothing: { ...s.smoothing, kind: (e.target as HTMLSelectElement).value as SmoothingKind } })}
            data-testid="smoothing"
          >
            <option value="none">None</option>
            <option value="ema">Exponential moving average</option>
            <option value="avg">Running average</option>
          </select>
        </label>
        {s.smoothing.kind === "ema" && (
          <input
            type="range"
            min="0"
            max="0.99"
            step="0.01"
            value={s.smoothing.weight}
            title={`EMA weight ${s.smoothing.weight}`}
            onInput={(e) => set({ smoothing: { ...s.smoothing, weight: Number((e.target as HTMLInputElement).value) } })}
            data-testid="smoothing-weight"
          />
        )}
        {s.smoothing.kind === "avg" && (
          <NumberInput
            min={1}
            max={1000}
            class="narrow"
            value={s.smoothing.window}
            title="Window (points)"
            onCommit={(window) => set({ smoothing: { ...s.smoothing, window } })}
            testid="smoothing-window"
          />
        )}
        {props.grouped && (
          <>
            <label>
              Line
              <select value={s.agg} onChange={(e) => set({ agg: (e.target as HTMLSelectElement).value as GroupAgg })} data-testid="group-agg">
                <option value="mean">Mean</option>
                <option value="median">Median</option>
                <option value="min">Min</option>
                <option value="max">Max</option>
              </select>
            </label>
            <label>
              Band
              <select value={s.band} onChange={(e) => set({ band: (e.target as HTMLSelectElement).value as GroupBand })} data-testid="group-band">
                <option value="minmax">Min–max</option>
                <option value="std">Std dev</option>
                <option value="stderr">Std err</option>
                <option value="none">None</option>
              </select>
            </label>
          </>
        )}
        <label title="Show each panel's lines with their colours under its title">
          <input type="checkbox" checked={s.legend} onChange={(e) => set({ legend: (e.target as HTMLInputElement).checked })} data-testid="legend-toggle" />
          Legend
        </label>
        <span class="spacer" />
        {props.toolbar}
      </div>
      {sections.length === 0 && (
        <div class="chart-note-block" data-testid="no-panels">
          {panelKeys.length ? "No panel matches the search." : "No metrics logged yet: run.log({\"loss\": 0.5}) draws a panel here."}
        </div>
      )}
      {sections.map(([name, keys]) => {
        const collapsed = s.collapsed.includes(name);
        return (
          <section class="chart-section" data-testid="chart-section" data-section={name} key={name}>
            <button
              type="button"
              class="section-head"
              onClick={() => set({ collapsed: toggle(s.collapsed, name, !collapsed) })}
              aria-expanded={!collapsed}
              data-testid="section-toggle"
            >
              <span class="caret">{collapsed ? "▸" : "▾"}</span> {name} <span class="count">{keys.length}</span>
            </button>
            {!collapsed && <div class="chart-grid">{keys.map((k) => panel(k, height, () => setEnlarged(k)))}</div>}
          </section>
        );
      })}
      {enlarged && (
        <div class="chart-modal" data-testid="chart-modal" onClick={(e) => e.target === e.currentTarget && setEnlarged(null)}>
          <div class="chart-modal-body">
            <button type="button" class="chart-modal-close" onClick={() => setEnlarged(null)} data-testid="close-enlarged" title="Close (Esc)">
              ✕
            </button>
            {panel(enlarged, Math.max(320, Math.round(window.innerHeight * 0.7)))}
            <ChartLegend lines={props.lines} />
          </div>
        </div>
      )}
    </div>
  );
}

export function ChartLegend({ lines }: { lines: ChartLine[] }) {
  return (
    <div class="chart-legend" data-testid="chart-legend">
      {lines.map((l) => (
        <span class="legend-item" key={l.id}>
          <span class="tip-dot" style={{ background: l.color }} />
          {l.label}
          {l.runIds.length > 1 && <span class="muted"> ({l.runIds.length})</span>}
        </span>
      ))}
    </div>
  );
}
