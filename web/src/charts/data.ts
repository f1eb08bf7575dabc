// Chart data, pure: join bucketed series on one x axis, aggregate groups per bucket, smooth. No I/O, no DOM.
//
// The server cuts each series into buckets of the visible x range and sends min, max and last per bucket
// (docs/rest-api.md, POST /series). A run's line goes through the `last` values with a min–max shade; a group's
// line is the mean (median, min, max) across its runs per bucket, with a band. Nothing is sampled at random.

/** One run's bucketed series for one key (columnar, x ascending). */
export interface RawSeries {
  x: number[];
  min: (number | null)[];
  max: (number | null)[];
  last: (number | null)[];
}

export type SmoothingKind = "none" | "ema" | "avg";
export interface Smoothing {
  kind: SmoothingKind;
  /** EMA weight in [0, 1): 0 is no smoothing. */
  weight: number;
  /** Running-average window in points. */
  window: number;
}
export type GroupAgg = "mean" | "median" | "min" | "max";
export type GroupBand = "minmax" | "std" | "stderr" | "none";

/** One line of a panel: a run, or a group of runs. */
export interface ChartLine {
  id: string;
  label: string;
  color: string;
  /** The runs it draws: one for a run line, every member for a group line. */
  runIds: string[];
}

export type SeriesRole = "main" | "orig" | "lo" | "hi";
export interface SeriesMeta {
  line: ChartLine;
  role: SeriesRole;
}

export interface PanelData {
  /** uPlot's aligned data: x first, then one array per series in `meta` order. */
  data: (number | null)[][];
  meta: SeriesMeta[];
  /** Band fills: [index of upper series, index of lower series] (1-based, as uPlot counts with x at 0). */
  bands: { hi: number; lo: number; color: string }[];
  /** The lines actually drawn (having at least one point). */
  drawn: string[];
  points: number;
}

export interface BuildOptions {
  smoothing: Smoothing;
  logY: boolean;
  grouped: boolean;
  agg: GroupAgg;
  band: GroupBand;
  /** Buckets of the common grid groups are aggregated on. */
  buckets: number;
}

const positive = (v: number | null, log: boolean): number | null =>
  v == null || !Number.isFinite(v) || (log && v <= 0) ? null : v;

/** Debiased exponential moving average (as TensorBoard and W&B draw it); nulls stay null. */
export function ema(values: (number | null)[], weight: number): (number | null)[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  let acc = 0;
  let debias = 0;
  return values.map((v) => {
    if (v == null || !Number.isFinite(v)) return v;
    acc = acc * w + (1 - w) * v;
    debias = debias * w + (1 - w);
    return acc / debias;
  });
}

/** Trailing running average over the last `window` non-null points. */
export function runningAverage(values: (number | null)[], window: number): (number | null)[] {
  const k = Math.max(1, Math.floor(window));
  const buf: number[] = [];
  let sum = 0;
  return values.map((v) => {
    if (v == null || !Number.isFinite(v)) return v;
    buf.push(v);
    sum += v;
    if (buf.length > k) sum -= buf.shift()!;
    return sum / buf.length;
  });
}

export function smooth(values: (number | null)[], s: Smoothing): (number | null)[] {
  if (s.kind === "ema" && s.weight > 0) return ema(values, s.weight);
  if (s.kind === "avg" && s.window > 1) return runningAverage(values, s.window);
  return values;
}

export const isSmoothing = (s: Smoothing) => (s.kind === "ema" && s.weight > 0) || (s.kind === "avg" && s.window > 1);

/** The sorted union of several ascending x arrays. */
export function unionX(xs: number[][]): number[] {
  const all: number[] = [];
  for (const x of xs) for (const v of x) all.push(v);
  all.sort((a, b) => a - b);
  const out: number[] = [];
  for (const v of all) if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  return out;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface GroupCell {
  x: number;
  center: number;
  lo: number;
  hi: number;
  n: number;
}

/**
 * Aggregate the runs of one group on a common grid of `buckets` equal cells over [lo, hi]: per cell, each run
 * contributes its latest bucket value (and its bucket extremes for the min–max band).
 */
export function aggregateGroup(
  runs: RawSeries[],
  lo: number,
  hi: number,
  buckets: number,
  agg: GroupAgg,
  band: GroupBand,
): GroupCell[] {
  const width = hi > lo ? (hi - lo) / buckets : 1;
  const cellOf = (x: number) => (hi > lo ? Math.min(buckets - 1, Math.max(0, Math.floor((x - lo) / width))) : 0);
  // per cell: run index -> [last, min, max, x]
  const cells = new Map<number, { x: number; vals: Map<number, number>; mins: number[]; maxs: number[] }>();
  runs.forEach((s, r) => {
    for (let i = 0; i < s.x.length; i++) {
      const v = s.last[i];
      if (v == null || !Number.isFinite(v)) continue;
      const x = s.x[i]!;
      const c = cellOf(x);
      let cell = cells.get(c);
      if (!cell) cells.set(c, (cell = { x, vals: new Map(), mins: [], maxs: [] }));
      cell.x = Math.max(cell.x, x);
      cell.vals.set(r, v);
      const mn = s.min[i];
      const mx = s.max[i];
      if (mn != null && Number.isFinite(mn)) cell.mins.push(mn);
      if (mx != null && Number.isFinite(mx)) cell.maxs.push(mx);
    }
  });
  const out: GroupCell[] = [];
  for (const c of [...cells.keys()].sort((a, b) => a - b)) {
    const cell = cells.get(c)!;
    const vals = [...cell.vals.values()];
    const n = vals.length;
    const mean = vals.reduce((a, b) => a + b, 0) / n;
    let center = mean;
    if (agg === "median") center = median(vals);
    else if (agg === "min") center = Math.min(...vals);
    else if (agg === "max") center = Math.max(...vals);
    let blo = center;
    let bhi = center;
    if (band === "minmax") {
      blo = Math.min(...vals, ...cell.mins);
      bhi = Math.max(...vals, ...cell.maxs);
    } else if (band === "std" || band === "stderr") {
      const variance = n > 1 ? vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
      const d = band === "std" ? Math.sqrt(variance) : Math.sqrt(variance / n);
      blo = center - d;
      bhi = center + d;
    }
    out.push({ x: cell.x, center, lo: blo, hi: bhi, n });
  }
  return out;
}

/** Build a panel's uPlot data from each run's raw series. */
export function buildPanel(lines: ChartLine[], raw: Map<string, RawSeries>, opts: BuildOptions): PanelData {
  const smoothing = isSmoothing(opts.smoothing);
  const meta: SeriesMeta[] = [];
  const cols: (number | null)[][] = [];
  const bands: PanelData["bands"] = [];
  const drawn: string[] = [];
  let points = 0;

  type Prepared = { line: ChartLine; xs: number[]; main: (number | null)[]; lo: (number | null)[]; hi: (number | null)[] };
  const prepared: Prepared[] = [];

  if (opts.grouped) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const line of lines)
      for (const id of line.runIds) {
        const s = raw.get(id);
        if (s && s.x.length) {
          lo = Math.min(lo, s.x[0]!);
          hi = Math.max(hi, s.x[s.x.length - 1]!);
        }
      }
    for (const line of lines) {
      const members = line.runIds.map((id) => raw.get(id)).filter((s): s is RawSeries => !!s && s.x.length > 0);
      if (!members.length) continue;
      const cells = aggregateGroup(members, lo, hi, opts.buckets, opts.agg, opts.band);
      prepared.push({
        line,
        xs: cells.map((c) => c.x),
        main: cells.map((c) => c.center),
        lo: cells.map((c) => c.lo),
        hi: cells.map((c) => c.hi),
      });
    }
  } else {
    for (const line of lines) {
      const s = raw.get(line.runIds[0] ?? "");
      if (!s || !s.x.length) continue;
      prepared.push({ line, xs: s.x, main: s.last, lo: s.min, hi: s.max });
    }
  }

  const xs = unionX(prepared.map((p) => p.xs));
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const place = (p: Prepared, values: (number | null)[]) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    p.xs.forEach((x, i) => {
      col[index.get(x)!] = positive(values[i] ?? null, opts.logY);
    });
    return col;
  };
  const showBand = !opts.grouped || opts.band !== "none";
  for (const p of prepared) {
    drawn.push(p.line.id);
    points += p.xs.length;
    if (showBand) {
      cols.push(place(p, p.hi));
      meta.push({ line: p.line, role: "hi" });
      cols.push(place(p, p.lo));
      meta.push({ line: p.line, role: "lo" });
      bands.push({ hi: cols.length - 2, lo: cols.length - 1, color: p.line.color });
    }
    if (smoothing) {
      cols.push(place(p, p.main));
      meta.push({ line: p.line, role: "orig" });
    }
    cols.push(place(p, smoothing ? smooth(p.main, opts.smoothing) : p.main));
    meta.push({ line: p.line, role: "main" });
  }
  // bands were recorded 0-based over cols; uPlot counts x as series 0
  for (const b of bands) {
    b.hi += 1;
    b.lo += 1;
  }
  return { data: [xs, ...cols], meta, bands, drawn, points };
}

/** Append newly fetched buckets (x strictly after the last one held) to a run's series. */
export function appendSeries(held: RawSeries | undefined, fresh: RawSeries): RawSeries {
  if (!held || !held.x.length) return fresh;
  const lastX = held.x[held.x.length - 1]!;
  const start = fresh.x.findIndex((x) => x > lastX);
  if (start < 0) return held;
  return {
    x: held.x.concat(fresh.x.slice(start)),
    min: held.min.concat(fresh.min.slice(start)),
    max: held.max.concat(fresh.max.slice(start)),
    last: held.last.concat(fresh.last.slice(start)),
  };
}

/** The value a series shows at data index `i`, or the nearest earlier one within `reach` indices. */
export function valueNear(col: (number | null)[], i: number, reach = 0): number | null {
  for (let j = i; j >= 0 && j >= i - reach; j--) if (col[j] != null) return col[j]!;
  return null;
}
