// Histograms over time (W&B's "histogram over time"): one key as a step x bin heat map per run, drawn on a
// canvas. The server buckets the steps to the canvas width (every histogram counts, as in the line charts).
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, mediaApi, type HistogramMatrix } from "../api";
import { compact } from "../charts/format";
import type { MediaRun } from "./steppanel";

const MAX_RUNS = 4;

export function HistogramPanel(p: { entity: string; project: string; runs: MediaRun[]; mediaKey: string; tick: number; height: number }) {
  const shown = p.runs.slice(0, MAX_RUNS);
  const each = Math.max(90, Math.floor((p.height - 10) / Math.max(1, shown.length)) - 18);
  return (
    <div class="media-body">
      {shown.map((r) => (
        <div key={r.id} class="hist-run" data-testid="hist-run">
          <div class="media-run-name">
            <span class="tip-dot" style={{ background: r.color }} /> {r.label}
          </div>
          <HeatMap entity={p.entity} project={p.project} runId={r.id} mediaKey={p.mediaKey} tick={p.tick} height={each} />
        </div>
      ))}
      {p.runs.length > MAX_RUNS && <div class="muted">+{p.runs.length - MAX_RUNS} more runs (enlarge a run's page to see them)</div>}
    </div>
  );
}

function HeatMap(p: { entity: string; project: string; runId: string; mediaKey: string; tick: number; height: number }) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [data, setData] = useState<HistogramMatrix | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tip, setTip] = useState<{ x: number; y: number; text: string } | null>(null);
  const [width, setWidth] = useState(0);

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const buckets = Math.max(50, Math.min(2000, Math.round(width || 400)));
  useEffect(() => {
    if (!width) return;
    let stale = false;
    const t0 = performance.now();
    mediaApi.histogram(p.entity, p.project, p.runId, p.mediaKey, buckets).then(
      (d) => {
        if (stale) return;
        setData(d);
        setError(null);
        (window as unknown as { __runyardHistReadMs?: number }).__runyardHistReadMs = performance.now() - t0;
      },
      (err: unknown) => !stale && setError(err instanceof ApiError ? err.message : String(err)),
    );
    return () => {
      stale = true;
    };
  }, [p.entity, p.project, p.runId, p.mediaKey, buckets, p.tick, width > 0]);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !data || !width) return;
    draw(c, data, width, p.height);
  }, [data, width, p.height]);

  const onMove = (e: MouseEvent) => {
    if (!data || !data.steps.length) return;
    const rect = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    const col = Math.min(data.steps.length - 1, Math.floor(((e.clientX - rect.left) / rect.width) * data.steps.length));
    const bin = Math.min(data.bins - 1, Math.floor(((rect.bottom - e.clientY) / rect.height) * data.bins));
    if (col < 0 || bin < 0) return;
    const v = data.values[col * data.bins + bin] ?? 0;
    const s0 = data.steps[col]!;
    const s1 = data.steps_last[col]!;
    const steps = s0 === s1 ? `step ${s0}` : `steps ${s0}–${s1} (${data.counts[col]} histograms)`;
    setTip({
      x: e.clientX - rect.left,
      y: e.clientY - rect.top,
      text: `${steps} · [${compact(data.edges[bin]!)}, ${compact(data.edges[bin + 1]!)}) · ${compact(v)}`,
    });
  };

  return (
    <div class="heat-wrap" ref={wrap}>
      {error && <div class="chart-note error">{error}</div>}
      {!data && !error && <div class="media-skeleton" style={{ height: `${p.height}px` }} />}
      {data && data.steps.length === 0 && <div class="chart-note">no histograms</div>}
      <canvas
        ref={canvas}
        class="heat-canvas"
        data-testid="hist-canvas"
        data-rows={data ? String(data.steps.length) : ""}
        onMouseMove={onMove}
        onMouseLeave={() => setTip(null)}
        style={{ display: data && data.steps.length ? "block" : "none" }}
      />
      {data && data.steps.length > 0 && (
        <div class="heat-axis">
          <span>step {data.steps[0]}</span>
          <span class="muted">
            bins {compact(data.edges[0]!)} … {compact(data.edges[data.edges.length - 1]!)}
          </span>
          <span>step {data.steps_last[data.steps_last.length - 1]}</span>
        </div>
      )}
      {tip && (
        <div class="chart-tip" style={{ display: "block", left: `${Math.min(tip.x + 12, width - 240)}px`, top: `${tip.y + 8}px` }}>
          {tip.text}
        </div>
      )}
    </div>
  );
}

/** Paint the matrix: one column per step bucket, one row per bin (low values at the bottom), sqrt colour scale. */
function draw(c: HTMLCanvasElement, d: HistogramMatrix, width: number, height: number) {
  const cols = d.steps.length;
  const bins = d.bins;
  c.style.width = `${width}px`;
  c.style.height = `${height}px`;
  c.width = Math.max(1, cols);
  c.height = Math.max(1, bins);
  const ctx = c.getContext("2d");
  if (!ctx || !cols || !bins) return;
  const img = ctx.createImageData(cols, bins);
  const max = Math.sqrt(d.max || 1);
  for (let col = 0; col < cols; col++) {
    for (let bin = 0; bin < bins; bin++) {
      const v = Math.sqrt(d.values[col * bins + bin] ?? 0) / max;
      const [r, g, b] = ramp(v);
      const o = ((bins - 1 - bin) * cols + col) * 4;
      img.data[o] = r;
      img.data[o + 1] = g;
      img.data[o + 2] = b;
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  c.style.imageRendering = "pixelated";
}

// white -> blue -> dark navy: readable for the colour-blind, calm on a white panel
function ramp(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, t));
  if (x <= 0) return [255, 255, 255];
  if (x < 0.5) {
    const k = x / 0.5;
    return [Math.round(255 - k * (255 - 66)), Math.round(255 - k * (255 - 133)), Math.round(255 - k * (255 - 244))];
  }
  const k = (x - 0.5) / 0.5;
  return [Math.round(66 - k * 58), Math.round(133 - k * 105), Math.round(244 - k * 150)];
}
