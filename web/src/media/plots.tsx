// Custom charts (wandb.plot.* / plot_table): the config spec `_wandb.visualize.<key>` names a preset
// (panelDefId) and which table columns feed it; the rows come from the run's `<key>_table`. Presets are drawn
// with uPlot (line, scatter, bar, histogram, line series, PR/ROC curves as lines) or a canvas heat map
// (confusion matrix).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { ApiError, mediaApi, type Json, type PlotSpec, type TablePage } from "../api";
import { PALETTE } from "../colors";
import { compact } from "../charts/format";
import type { MediaRun } from "./steppanel";

const ROWS = 1000; // a custom chart's table: W&B caps logged tables at 10,000 rows; the preset draws the first 1,000

/** The table key a spec reads (`<key>_table`, or under "Custom Chart Tables/" for split tables). */
export function tableKeyOf(plot: PlotSpec): string {
  const text = JSON.stringify(plot.spec);
  const m = /"tableKey","value":"((?:[^"\\]|\\.)*)"/.exec(text.replace(/\s/g, ""));
  return m ? (JSON.parse(`"${m[1]}"`) as string) : `${plot.key}_table`;
}

export function PlotPanel(p: { entity: string; project: string; runs: MediaRun[]; plot: PlotSpec; tick: number; height: number }) {
  const [tables, setTables] = useState<{ run: MediaRun; page: TablePage }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const tableKey = tableKeyOf(p.plot);
  const runIds = useMemo(() => p.runs.map((r) => r.id), [p.runs]);
  useEffect(() => {
    let stale = false;
    (async () => {
      const at = await mediaApi.at(p.entity, p.project, tableKey, runIds, null);
      const pages = await Promise.all(
        at.items
          .filter((i) => typeof i.value.path === "string")
          .slice(0, 10)
          .map(async (i) => ({
            run: p.runs.find((r) => r.id === i.run_id)!,
            page: await mediaApi.table(p.entity, p.project, i.run_id, i.value.path as string, { limit: ROWS }),
          })),
      );
      if (!stale) setTables(pages);
    })().catch((err: unknown) => !stale && setError(err instanceof ApiError ? err.message : String(err)));
    return () => {
      stale = true;
    };
  }, [p.entity, p.project, tableKey, runIds.join(","), p.tick]);

  const config = p.plot.spec.panel_config ?? {};
  const preset = config.panelDefId ?? "";
  const fields = config.fieldSettings ?? {};
  const title = config.stringSettings?.title || p.plot.key;
  return (
    <div class="media-body" data-testid="plot-body" data-preset={preset}>
      <div class="muted plot-title">{title}</div>
      {error && <div class="chart-note error">{error}</div>}
      {!tables && !error && <div class="media-skeleton" />}
      {tables && tables.length === 0 && <div class="chart-note">No {tableKey} logged by these runs.</div>}
      {tables && tables.length > 0 && (preset.startsWith("wandb/confusion_matrix") ? (
        <Confusion page={tables[0]!.page} fields={fields} height={p.height - 30} />
      ) : (
        <UPlotChart tables={tables} preset={preset} fields={fields} height={p.height - 30} />
      ))}
    </div>
  );
}

type Fields = Record<string, string>;

function column(page: TablePage, name: string | undefined): Json[] {
  const i = name === undefined ? -1 : page.columns.indexOf(name);
  return i < 0 ? [] : page.rows.map((r) => r[i] ?? null);
}

const toNum = (v: Json): number | null => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && !isNaN(Number(v)) ? Number(v) : null);

interface Line {
  label: string;
  color: string;
  xs: number[];
  ys: (number | null)[];
}

/** Lines (or bars) to draw for a preset: per run for line/scatter, per key for line series, per class for curves. */
function linesOf(tables: { run: MediaRun; page: TablePage }[], preset: string, fields: Fields): { lines: Line[]; labels?: string[]; bars: boolean; points: boolean } {
  const grouped = (page: TablePage, xName: string | undefined, yName: string | undefined, keyName: string | undefined, prefix: string) => {
    const xs = column(page, xName).map(toNum);
    const ys = column(page, yName).map(toNum);
    const keys = column(page, keyName).map((k) => String(k));
    const by = new Map<string, { xs: number[]; ys: number[] }>();
    xs.forEach((x, i) => {
      const y = ys[i];
      if (x === null || y === null || y === undefined) return;
      const k = keys[i]!;
      if (!by.has(k)) by.set(k, { xs: [], ys: [] });
      by.get(k)!.xs.push(x);
      by.get(k)!.ys.push(y);
    });
    return [...by.entries()].map(([k, v], i) => ({ label: `${prefix}${k}`, color: PALETTE[i % PALETTE.length]!, xs: v.xs, ys: v.ys }));
  };
  if (preset.includes("lineseries")) {
    const t = tables[0]!;
    return { lines: grouped(t.page, fields.step, fields.lineVal, fields.lineKey, ""), bars: false, points: false };
  }
  if (preset.includes("area-under-curve")) {
    const t = tables[0]!;
    return { lines: grouped(t.page, fields.x, fields.y, fields.class, ""), bars: false, points: false };
  }
  if (preset.includes("bar")) {
    const t = tables[0]!;
    const labels = column(t.page, fields.label).map((l) => String(l));
    const ys = column(t.page, fields.value).map(toNum);
    return { lines: [{ label: t.run.label, color: t.run.color, xs: labels.map((_, i) => i), ys }], labels, bars: true, points: false };
  }
  if (preset.includes("histogram")) {
    const t = tables[0]!;
    const values = column(t.page, fields.value).map(toNum).filter((v): v is number => v !== null);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const n = 20;
    const width = hi > lo ? (hi - lo) / n : 1;
    const counts = new Array<number>(n).fill(0);
    for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / width))]! += 1;
    return { lines: [{ label: t.run.label, color: t.run.color, xs: counts.map((_, i) => lo + (i + 0.5) * width), ys: counts }], bars: true, points: false };
  }
  const scatter = preset.includes("scatter");
  return {
    lines: tables.map((t) => {
      const pairs = column(t.page, fields.x)
        .map((x, i) => [toNum(x), toNum(column(t.page, fields.y)[i] ?? null)] as const)
        .filter((pr): pr is readonly [number, number] => pr[0] !== null && pr[1] !== null)
        .sort((a, b) => a[0] - b[0]);
      return { label: t.run.label, color: t.run.color, xs: pairs.map((pr) => pr[0]), ys: pairs.map((pr) => pr[1]) };
    }),
    bars: false,
    points: scatter,
  };
}

function UPlotChart(p: { tables: { run: MediaRun; page: TablePage }[]; preset: string; fields: Fields; height: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const { lines, labels, bars, points } = linesOf(p.tables, p.preset, p.fields);
    const xs = [...new Set(lines.flatMap((l) => l.xs))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const data: uPlot.AlignedData = [
      xs,
      ...lines.map((l) => {
        const ys = new Array<number | null>(xs.length).fill(null);
        l.xs.forEach((x, i) => (ys[index.get(x)!] = l.ys[i] ?? null));
        return ys;
      }),
    ];
    const barPaths = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 80] }) : undefined;
    const opts: uPlot.Options = {
      width: Math.max(200, host.clientWidth),
      height: Math.max(120, p.height),
      legend: { show: lines.length > 1 },
      scales: { x: { time: false } },
      axes: [
        {
          values: (_u: uPlot, splits: number[]) => splits.map((v) => (labels ? (Number.isInteger(v) ? labels[v] ?? "" : "") : compact(v))),
          ...(labels ? { splits: () => labels.map((_, i) => i) } : {}),
        },
        { values: (_u: uPlot, splits: number[]) => splits.map((v) => compact(v)) },
      ],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: points ? 0 : 1.5,
          spanGaps: true,
          ...(bars && barPaths ? { paths: barPaths, fill: `${l.color}99` } : {}),
          points: { show: points, size: 5, fill: l.color },
        })),
      ],
    };
    if (labels) opts.scales = { x: { time: false, range: () => [-0.5, labels.length - 0.5] } };
    const u = new uPlot(opts, data, host);
    return () => u.destroy();
  }, [p.tables, p.preset, p.height]);
  return <div ref={el} class="plot-host" data-testid="plot-uplot" />;
}

function Confusion(p: { page: TablePage; fields: Fields; height: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const actual = column(p.page, p.fields.Actual).map(String);
  const predicted = column(p.page, p.fields.Predicted).map(String);
  const counts = column(p.page, p.fields.nPredictions).map(toNum);
  const classes = [...new Set([...actual, ...predicted])];
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext("2d");
    if (!c || !ctx) return;
    const n = classes.length;
    const size = Math.max(120, Math.min(p.height, 420));
    const pad = 70;
    c.width = size + pad;
    c.height = size + pad;
    const cell = size / Math.max(1, n);
    const max = Math.max(1, ...counts.map((v) => v ?? 0));
    ctx.font = "11px sans-serif";
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, c.width, c.height);
    actual.forEach((a, i) => {
      const r = classes.indexOf(a);
      const col = classes.indexOf(predicted[i]!);
      const v = counts[i] ?? 0;
      const t = v / max;
      ctx.fillStyle = `rgba(37, 99, 235, ${0.08 + 0.9 * t})`;
      ctx.fillRect(pad + col * cell, r * cell, cell - 1, cell - 1);
      ctx.fillStyle = t > 0.5 ? "#fff" : "#111";
      ctx.fillText(String(v), pad + col * cell + cell / 2 - 6, r * cell + cell / 2 + 4);
    });
    ctx.fillStyle = "#555";
    classes.forEach((k, i) => {
      ctx.fillText(k.slice(0, 10), 2, i * cell + cell / 2 + 4);
      ctx.save();
      ctx.translate(pad + i * cell + cell / 2, size + 6);
      ctx.rotate(Math.PI / 4);
      ctx.fillText(k.slice(0, 10), 0, 0);
      ctx.restore();
    });
  }, [p.page, p.height]);
  return (
    <div class="confusion">
      <div class="muted">rows: actual · columns: predicted</div>
      <canvas ref={canvas} data-testid="plot-confusion" />
    </div>
  );
}
