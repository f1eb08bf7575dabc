// One line panel: a history key over an x axis for several runs (or groups), drawn with uPlot.
//
// Data comes bucketed from POST /series (min/max/last per bucket of the visible range); drag-select zooms and
// re-requests that range, double-click resets; while runs are live only the points after the last x held are
// fetched and appended.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { api, ApiError } from "../api";
import {
  appendSeries,
  buildPanel,
  type ChartLine,
  type GroupAgg,
  type GroupBand,
  type PanelData,
  type RawSeries,
  type Smoothing,
} from "./data";
import { alpha, compact, formatX, X_RELATIVE, X_WALL, xLabel, chartInk } from "./format";
import { formatNumber } from "../format";

export const BUCKETS = 1000;
/** Past this many points per run held from live appends, the next tick re-buckets the whole range. */
const REBUCKET_AT = 4 * BUCKETS;

export interface PanelProps {
  entity: string;
  project: string;
  metric: string;
  lines: ChartLine[];
  grouped: boolean;
  x: string;
  xOptions: string[];
  smoothing: Smoothing;
  agg: GroupAgg;
  band: GroupBand;
  logY: boolean;
  /** Runs that are (or just were) running: their new points are fetched on every tick. */
  liveIds: string[];
  tick: number;
  height: number;
  /** A legend under the title: each drawn line's colour and label. */
  legend?: boolean;
  onLog: (log: boolean) => void;
  onX: (x: string | null) => void;
  onEnlarge?: () => void;
}

type Range = [number, number] | null;

function useVisible(ref: { current: HTMLElement | null }): boolean {
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === "undefined") {
      setVisible(true);
      return;
    }
    const io = new IntersectionObserver((entries) => setVisible(entries.some((e) => e.isIntersecting)), {
      rootMargin: "300px",
    });
    io.observe(el);
    return () => io.disconnect();
  }, []);
  return visible;
}

const toRaw = (s: { x: number[]; min: (number | null)[]; max: (number | null)[]; last: (number | null)[] }): RawSeries => ({
  x: s.x,
  min: s.min,
  max: s.max,
  last: s.last,
});

/** Fetch (and keep up to date) each run's bucketed series of one key. */
function usePanelSeries(p: PanelProps, visible: boolean, zoom: Range) {
  const [raw, setRaw] = useState<Map<string, RawSeries>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const held = useRef<Map<string, RawSeries>>(new Map());
  const fetched = useRef<Set<string>>(new Set());
  const context = `${p.x}|${zoom ? zoom.join(",") : ""}|${p.grouped}`;
  const contextRef = useRef(context);
  const prevLive = useRef<string[]>([]);
  const busy = useRef(false);

  const runIds = useMemo(() => [...new Set(p.lines.flatMap((l) => l.runIds))], [p.lines]);
  const wanted = runIds.join(",");

  const request = (runs: string[], xMin: number | null, xMax: number | null) =>
    api.series(p.entity, p.project, { runs, keys: [p.metric], x: p.x, x_min: xMin, x_max: xMax, buckets: BUCKETS });

  // full or missing-runs fetch when the context or the set of runs changes
  useEffect(() => {
    if (!visible) return;
    let cancelled = false;
    const reset = contextRef.current !== context;
    if (reset) {
      contextRef.current = context;
      held.current = new Map();
      fetched.current = new Set();
    }
    const fresh = runIds.filter((id) => !fetched.current.has(id));
    if (!fresh.length) {
      setLoading(false);
      return;
    }
    // groups aggregate on aligned buckets: a new member re-requests every run of the panel over one range
    const missing = p.grouped ? runIds : fresh;
    setLoading(true);
    (async () => {
      try {
        let r = await request(missing, zoom ? zoom[0] : null, zoom ? zoom[1] : null);
        if (p.grouped && !zoom && r.series.length > 1) {
          // align: one x range for every run of the panel, so bucket i means the same x for all
          const lo = Math.min(...r.series.map((s) => s.x_first));
          const hi = Math.max(...r.series.map((s) => s.x_last));
          const ragged = r.series.some((s) => s.x_first !== lo || s.x_last !== hi);
          if (ragged && Number.isFinite(lo) && Number.isFinite(hi)) r = await request(missing, lo, hi);
        }
        if (cancelled) return;
        const next = p.grouped ? new Map<string, RawSeries>() : new Map(held.current);
        for (const s of r.series) next.set(s.run, toRaw(s));
        if (p.grouped) fetched.current = new Set();
        for (const id of missing) fetched.current.add(id);
        held.current = next;
        setRaw(next);
        setError(null);
      } catch (err) {
        if (!cancelled) setError(err instanceof ApiError ? err.message : String(err));
      } finally {
        if (!cancelled) setLoading(false);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [visible, context, wanted]);

  // live: fetch only the points after the last x held, for runs that are or just were running
  useEffect(() => {
    const live = [...new Set([...prevLive.current, ...p.liveIds])].filter((id) => runIds.includes(id));
    prevLive.current = p.liveIds;
    if (!visible || zoom || !live.length || busy.current || !fetched.current.size) return;
    const lasts = live.map((id) => {
      const s = held.current.get(id);
      return s && s.x.length ? s.x[s.x.length - 1]! : null;
    });
    const tooMany = live.some((id) => (held.current.get(id)?.x.length ?? 0) > REBUCKET_AT);
    const xMin = tooMany || lasts.some((v) => v == null) ? null : Math.min(...(lasts as number[]));
    busy.current = true;
    const after = xMin == null ? null : xMin + Math.max(Math.abs(xMin) * 1e-12, 1e-9);
    request(live, after, null)
      .then((r) => {
        if (contextRef.current !== context) return;
        const next = new Map(held.current);
        for (const s of r.series) next.set(s.run, xMin == null ? toRaw(s) : appendSeries(next.get(s.run), toRaw(s)));
        held.current = next;
        setRaw(next);
      })
      .catch(() => undefined)
      .finally(() => {
        busy.current = false;
      });
  }, [p.tick]);

  // Between a context change (zoom, x axis) and its effect starting the request, one render still shows the
  // old state: it is loading already, not done.
  return { raw, error, loading: loading || contextRef.current !== context };
}

export function LinePanel(p: PanelProps) {
  const root = useRef<HTMLDivElement>(null);
  const plotEl = useRef<HTMLDivElement>(null);
  const tipEl = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [zoom, setZoom] = useState<Range>(null);
  const [menu, setMenu] = useState(false);
  const visible = useVisible(root);
  const { raw, error, loading } = usePanelSeries(p, visible, zoom);

  const panel: PanelData = useMemo(
    () =>
      buildPanel(p.lines, raw, {
        smoothing: p.smoothing,
        logY: p.logY,
        grouped: p.grouped,
        agg: p.agg,
        band: p.band,
        buckets: BUCKETS,
      }),
    [p.lines, raw, p.smoothing, p.logY, p.grouped, p.agg, p.band],
  );

  // a new uPlot when the series' structure changes, setData otherwise
  const signature = `${panel.meta.map((m) => `${m.line.id}:${m.role}:${m.line.color}`).join("|")}|${p.logY}|${p.x}|${zoom}|${p.height}|${chartInk().grid}`;
  const zoomRef = useRef(setZoom);
  zoomRef.current = setZoom;
  const panelRef = useRef(panel);
  panelRef.current = panel;

  useEffect(() => {
    const el = plotEl.current;
    if (!el) return;
    if (plot.current && plot.current.series.length - 1 === panel.meta.length && (plot.current as unknown as { _sig?: string })._sig === signature) {
      plot.current.setData(panel.data as uPlot.AlignedData);
      return;
    }
    plot.current?.destroy();
    const width = Math.max(200, el.clientWidth);
    const ink = chartInk();
    const opts: uPlot.Options = {
      width,
      height: p.height,
      legend: { show: false },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
      },
      scales: {
        x: { time: p.x === X_WALL, ...(zoom ? { range: () => [zoom[0], zoom[1]] as uPlot.Range.MinMax } : {}) },
        y: { distr: p.logY ? 3 : 1 },
      },
      axes: [
        {
          stroke: ink.axis,
          grid: { stroke: ink.grid, width: 1 },
          ticks: { stroke: ink.tick, width: 1 },
          ...(p.x === X_WALL ? {} : { values: (_u: uPlot, splits: number[]) => splits.map((v) => (p.x === X_RELATIVE ? formatX(p.x, v) : compact(v))) }),
        },
        {
          stroke: ink.axis,
          size: (_u: uPlot, values: string[] | null) => 14 + 7 * Math.max(3, ...(values ?? []).map((v) => String(v ?? "").length)),
          grid: { stroke: ink.grid, width: 1 },
          ticks: { stroke: ink.tick, width: 1 },
          values: (_u: uPlot, splits: number[]) => splits.map((v) => (v == null ? "" : compact(v))),
        },
      ],
      series: [
        {},
        ...panel.meta.map((m): uPlot.Series => {
          if (m.role === "main")
            return { label: m.line.label, stroke: m.line.color, width: 1.6, spanGaps: true, points: { show: false } };
          if (m.role === "orig")
            return { label: `${m.line.label} (raw)`, stroke: alpha(m.line.color, 0.28), width: 1, spanGaps: true, points: { show: false } };
          return { label: `${m.line.label} ${m.role}`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } };
        }),
      ],
      bands: panel.bands.map((b) => ({ series: [b.hi, b.lo] as [number, number], fill: alpha(b.color, p.grouped ? 0.18 : 0.12) })),
      hooks: {
        setSelect: [
          (u) => {
            const { left, width: w } = u.select;
            if (w < 4) return;
            const a = u.posToVal(left, "x");
            const b = u.posToVal(left + w, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (b > a) zoomRef.current([a, b]);
          },
        ],
        setCursor: [(u) => renderTip(u, tipEl.current, panelRef.current, p.x)],
      },
    };
    const u = new uPlot(opts, panel.data as uPlot.AlignedData, el);
    (u as unknown as { _sig?: string })._sig = signature;
    u.over.addEventListener("dblclick", () => zoomRef.current(null));
    u.over.addEventListener("mouseleave", () => tipEl.current && (tipEl.current.style.display = "none"));
    plot.current = u;
  }, [signature, panel]);

  useEffect(() => {
    const el = plotEl.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => {
      const u = plot.current;
      if (u && el.clientWidth > 0 && Math.abs(u.width - el.clientWidth) > 1) u.setSize({ width: el.clientWidth, height: p.height });
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [p.height]);

  useEffect(() => () => plot.current?.destroy(), []);

  const empty = !loading && !error && panel.drawn.length === 0;
  return (
    <div
      class="chart-panel"
      ref={root}
      data-testid="chart-panel"
      data-key={p.metric}
      data-lines={panel.drawn.join(",")}
      data-colors={panel.meta.filter((m) => m.role === "main").map((m) => m.line.color).join(",")}
      data-bands={panel.bands.length}
      data-points={panel.points}
      data-x={p.x}
      data-log={p.logY ? "true" : "false"}
      data-zoomed={zoom ? "true" : "false"}
      data-loading={loading ? "true" : "false"}
      data-smoothing={p.smoothing.kind}
    >
      <div class="chart-head">
        <span class="chart-title" title={p.metric}>
          {p.metric}
        </span>
        {zoom && (
          <button type="button" class="chart-btn" title="Reset zoom (double-click the chart)" onClick={() => setZoom(null)} data-testid="reset-zoom">
            reset zoom
          </button>
        )}
        <button
          type="button"
          class={`chart-btn ${p.logY ? "on" : ""}`}
          title="Logarithmic y axis"
          onClick={() => p.onLog(!p.logY)}
          data-testid="log-toggle"
        >
          log
        </button>
        {p.onEnlarge && (
          <button type="button" class="chart-btn" title="Enlarge" onClick={p.onEnlarge} data-testid="enlarge">
            ⤢
          </button>
        )}
        <div class="chart-menu-wrap">
          <button type="button" class="chart-btn" title="Panel settings" onClick={() => setMenu(!menu)} data-testid="panel-menu">
            ⋯
          </button>
          {menu && (
            <div class="popover chart-menu" onMouseLeave={() => setMenu(false)}>
              <label>
                X axis
                <select
                  value={p.x}
                  onChange={(e) => {
                    p.onX((e.target as HTMLSelectElement).value);
                    setMenu(false);
                  }}
                  data-testid="panel-x"
                >
                  {[...new Set([p.x, ...p.xOptions])].map((x) => (
                    <option value={x}>{xLabel(x)}</option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={() => (p.onX(null), setMenu(false))}>
                Use the workspace x axis
              </button>
            </div>
          )}
        </div>
      </div>
      {p.legend && panel.drawn.length > 0 && (
        <div class="panel-legend" data-testid="panel-legend">
          {panel.meta
            .filter((m) => m.role === "main")
            .map((m) => (
              <span class="pl-item" data-testid="panel-legend-item" data-line={m.line.id} data-color={m.line.color} title={m.line.label}>
                <span class="pl-swatch" style={{ background: m.line.color }} />
                <span class="pl-label">{m.line.label}</span>
              </span>
            ))}
        </div>
      )}
      <div class="chart-body" style={{ height: `${p.height}px` }}>
        <div ref={plotEl} class="chart-plot" />
        <div ref={tipEl} class="chart-tip" data-testid="chart-tip" />
        {loading && panel.drawn.length === 0 && <div class="chart-skeleton" />}
        {empty && <div class="chart-note">No data{zoom ? " in this range" : ""}</div>}
        {error && (
          <div class="chart-note error" role="alert" data-testid="chart-error">
            {error}
          </div>
        )}
      </div>
    </div>
  );
}

/** The hover tooltip: x, then each line's value at the cursor, largest first. */
function renderTip(u: uPlot, tip: HTMLDivElement | null, panel: PanelData, x: string) {
  if (!tip) return;
  const idx = u.cursor.idx;
  const left = u.cursor.left ?? -1;
  if (idx == null || left < 0) {
    tip.style.display = "none";
    return;
  }
  const xs = u.data[0];
  const xv = xs[idx];
  const reach = Math.max(2, panel.drawn.length * 2);
  const rows: { label: string; color: string; value: number }[] = [];
  panel.meta.forEach((m, i) => {
    if (m.role !== "main") return;
    const col = u.data[i + 1] as (number | null | undefined)[];
    let v: number | null | undefined = col[idx];
    for (let d = 1; v == null && d <= reach; d++) v = col[idx - d] ?? col[idx + d];
    if (v != null) rows.push({ label: m.line.label, color: m.line.color, value: v });
  });
  rows.sort((a, b) => b.value - a.value);
  tip.replaceChildren();
  const head = document.createElement("div");
  head.className = "tip-x";
  head.textContent = `${xLabel(x)} ${xv == null ? "" : formatX(x, xv)}`;
  tip.appendChild(head);
  for (const r of rows.slice(0, 20)) {
    const row = document.createElement("div");
    row.className = "tip-row";
    const dot = document.createElement("span");
    dot.className = "tip-dot";
    dot.style.background = r.color;
    const name = document.createElement("span");
    name.className = "tip-name";
    name.textContent = r.label;
    const val = document.createElement("span");
    val.className = "tip-val";
    val.textContent = formatNumber(r.value);
    row.append(dot, name, val);
    tip.appendChild(row);
  }
  tip.style.display = rows.length ? "block" : "none";
  const w = u.over.clientWidth;
  const offset = u.over.offsetLeft;
  const onRight = left < w / 2;
  tip.style.left = onRight ? `${offset + left + 14}px` : "";
  tip.style.right = onRight ? "" : `${u.width - offset - left + 14}px`;
}
