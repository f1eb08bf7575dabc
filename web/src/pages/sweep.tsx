// A sweep's page (`/:entity/:project/sweeps/:id`): state and controls, the best run, a parallel-coordinates chart
// over its parameters and metric, parameter importance, the Pareto front (several metrics), and its runs.
import { useEffect, useState } from "preact/hooks";
import { num, type Json } from "../api";
import { ErrorBox, StateBadge } from "../components/common";
import { formatValue } from "../format";
import { Link, paths } from "../router";
import { sweepsApi, type SweepDetail, type SweepRun } from "../sweeps-api";
import { canWrite, useMe } from "../session";
import "./sweep.css";

const REFRESH_MS = 3000;
const CONTROLS: { action: "pause" | "resume" | "stop" | "cancel"; label: string; when: string[]; title: string }[] = [
  { action: "pause", label: "Pause", when: ["RUNNING"], title: "Agents start no new run until resumed" },
  { action: "resume", label: "Resume", when: ["PAUSED"], title: "Agents start new runs again" },
  { action: "stop", label: "Stop", when: ["RUNNING", "PAUSED"], title: "No new runs; running runs finish" },
  { action: "cancel", label: "Cancel", when: ["RUNNING", "PAUSED", "FINISHED"], title: "No new runs; running runs are stopped" },
];

function metricOf(run: SweepRun, name: string): number | null {
  return run.run ? num(run.run.summary[name] as Json) : null;
}

export function SweepPage(props: { entity: string; project: string; sweepId: string }) {
  const { entity, project, sweepId } = props;
  const [data, setData] = useState<SweepDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setData(await sweepsApi.sweep(entity, project, sweepId));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    let timer = 0;
    let stale = false;
    const tick = async () => {
      await load();
      if (!stale) timer = window.setTimeout(tick, REFRESH_MS);
    };
    void tick();
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [entity, project, sweepId]);

  const me = useMe();
  const writable = canWrite(me, entity);
  const control = async (action: "pause" | "resume" | "stop" | "cancel") => {
    setBusy(true);
    try {
      await sweepsApi.control(entity, project, sweepId, action);
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (error && !data) return <ErrorBox error={error} onRetry={() => void load()} />;
  if (!data) return <p class="loading">Loading the sweep…</p>;
  const { sweep, metrics, runs } = data;
  const metric = metrics[0];
  const best = runs.find((r) => r.run_id === data.best_run_id);
  return (
    <div class="sweep-page" data-testid="sweep-page">
      {error != null && <ErrorBox error={error} />}
      <header class="sweep-header">
        <h1>
          Sweep {sweep.name} <span class={`badge sweep-state sweep-${sweep.state.toLowerCase()}`} data-testid="sweep-state">{sweep.state}</span>
        </h1>
        <p class="sweep-meta">
          {sweep.method} · {sweep.run_count} runs
          {metrics.map((m) => ` · ${m.goal} ${m.name}`)}
        </p>
        <div class="sweep-controls">
          {CONTROLS.filter((c) => writable && c.when.includes(sweep.state)).map((c) => (
            <button type="button" disabled={busy} title={c.title} data-testid={`sweep-${c.action}`} onClick={() => void control(c.action)}>
              {c.label}
            </button>
          ))}
        </div>
      </header>
      {best && metric && (
        <section class="sweep-best" data-testid="sweep-best">
          Best run: <Link href={paths.run(entity, project, best.run_id)}>{best.run?.name ?? best.run_id}</Link> with {metric.name} ={" "}
          <strong>{formatValue(best.run?.summary[metric.name] as Json)}</strong>
        </section>
      )}
      {metric && runs.length > 0 && <ParallelCoordinates data={data} />}
      {data.importance.length > 0 && metric && (
        <section>
          <h2>Parameter importance for {metric.name}</h2>
          <table class="sweep-table" data-testid="sweep-importance">
            <thead>
              <tr>
                <th>parameter</th>
                <th>importance</th>
                <th>correlation</th>
              </tr>
            </thead>
            <tbody>
              {data.importance.map((i) => (
                <tr>
                  <td>{i.param}</td>
                  <td>{i.importance == null ? "–" : i.importance.toFixed(3)}</td>
                  <td>{i.correlation == null ? "–" : i.correlation.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {metrics.length > 1 && (
        <section data-testid="sweep-pareto">
          <h2>Pareto front</h2>
          <ParetoChart data={data} />
        </section>
      )}
      <section>
        <h2>Runs</h2>
        <table class="sweep-table" data-testid="sweep-runs">
          <thead>
            <tr>
              <th>run</th>
              <th>state</th>
              {data.params.map((p) => (
                <th>{p}</th>
              ))}
              {metrics.map((m) => (
                <th>{m.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr data-testid="sweep-run" data-run-id={r.run_id}>
                <td>
                  {r.run ? <Link href={paths.run(entity, project, r.run_id)}>{r.run.name}</Link> : r.run_id}
                  {r.run_id === data.best_run_id && <span class="badge sweep-best-badge">best</span>}
                </td>
                <td>
                  {r.run ? <StateBadge state={r.run.state} /> : "assigned"}
                  {r.stopped_by_sweep && <span class="sweep-stopped" title="stopped by the sweep">{` stopped (${r.stopped_by_sweep})`}</span>}
                </td>
                {data.params.map((p) => (
                  <td>{formatValue(r.params[p])}</td>
                ))}
                {metrics.map((m) => (
                  <td>{formatValue(r.run?.summary[m.name] as Json)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

/** One vertical axis per parameter and one for the metric; one line per run, the better the darker. */
function ParallelCoordinates({ data }: { data: SweepDetail }) {
  const metric = data.metrics[0]!;
  const axes = [...data.params, metric.name];
  const runs = data.runs.filter((r) => metricOf(r, metric.name) != null);
  const width = Math.max(480, axes.length * 160);
  const height = 260;
  const pad = 30;
  const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, axes.length - 1);
  const value = (r: SweepRun, axis: string) => (axis === metric.name ? metricOf(r, axis) : (r.params[axis] as Json));
  const scales = axes.map((axis) => {
    const values = runs.map((r) => value(r, axis));
    const numeric = values.every((v) => typeof v === "number");
    if (numeric) {
      const ns = values as number[];
      const lo = Math.min(...ns);
      const hi = Math.max(...ns);
      return (v: Json) => (hi === lo ? 0.5 : ((v as number) - lo) / (hi - lo));
    }
    const cats = [...new Set(values.map((v) => JSON.stringify(v)))];
    return (v: Json) => (cats.length < 2 ? 0.5 : cats.indexOf(JSON.stringify(v)) / (cats.length - 1));
  });
  const metricScale = scales[axes.length - 1]!;
  const y = (u: number) => height - pad - u * (height - 2 * pad);
  return (
    <section>
      <h2>Parameters and {metric.name}</h2>
      <svg class="sweep-parallel" width={width} height={height} data-testid="sweep-parallel" role="img" aria-label="parallel coordinates">
        {runs.map((r) => {
          const good = metricScale(value(r, metric.name) as Json);
          const quality = metric.goal === "minimize" ? 1 - good : good;
          const points = axes.map((axis, i) => `${x(i)},${y(scales[i]!(value(r, axis) as Json))}`).join(" ");
          return (
            <polyline
              points={points}
              class={r.run_id === data.best_run_id ? "pc-line pc-best" : "pc-line"}
              style={{ opacity: 0.25 + 0.75 * quality }}
              data-run-id={r.run_id}
            >
              <title>{r.run?.name ?? r.run_id}</title>
            </polyline>
          );
        })}
        {axes.map((axis, i) => (
          <g>
            <line x1={x(i)} x2={x(i)} y1={pad} y2={height - pad} class="pc-axis" />
            <text x={x(i)} y={pad - 10} text-anchor="middle" class="pc-label">
              {axis}
            </text>
          </g>
        ))}
      </svg>
    </section>
  );
}

/** The runs on the first two metrics; the Pareto front's points highlighted. */
function ParetoChart({ data }: { data: SweepDetail }) {
  const [mx, my] = [data.metrics[0]!, data.metrics[1]!];
  const pts = data.runs
    .map((r) => ({ r, a: metricOf(r, mx.name), b: metricOf(r, my.name) }))
    .filter((p): p is { r: SweepRun; a: number; b: number } => p.a != null && p.b != null);
  if (pts.length === 0) return <p>No run has both metrics yet.</p>;
  const [w, h, pad] = [420, 280, 36];
  const [alo, ahi] = [Math.min(...pts.map((p) => p.a)), Math.max(...pts.map((p) => p.a))];
  const [blo, bhi] = [Math.min(...pts.map((p) => p.b)), Math.max(...pts.map((p) => p.b))];
  const sx = (v: number) => pad + (ahi === alo ? 0.5 : (v - alo) / (ahi - alo)) * (w - 2 * pad);
  const sy = (v: number) => h - pad - (bhi === blo ? 0.5 : (v - blo) / (bhi - blo)) * (h - 2 * pad);
  const front = new Set(data.pareto_front);
  return (
    <svg width={w} height={h} class="sweep-pareto-chart" role="img" aria-label="Pareto front">
      <text x={w / 2} y={h - 6} text-anchor="middle" class="pc-label">
        {mx.name} ({mx.goal})
      </text>
      <text x={12} y={h / 2} text-anchor="middle" class="pc-label" transform={`rotate(-90 12 ${h / 2})`}>
        {my.name} ({my.goal})
      </text>
      {pts.map((p) => (
        <circle cx={sx(p.a)} cy={sy(p.b)} r={front.has(p.r.run_id) ? 6 : 4} class={front.has(p.r.run_id) ? "pareto-point" : "pareto-other"} data-run-id={p.r.run_id} data-front={front.has(p.r.run_id) ? "yes" : "no"}>
          <title>{p.r.run?.name ?? p.r.run_id}</title>
        </circle>
      ))}
    </svg>
  );
}

/** The project's sweeps as links (in the top bar of its workspace), newest first; nothing when it has none. */
export function SweepLinks(props: { entity: string; project: string }) {
  const { entity, project } = props;
  const [sweeps, setSweeps] = useState<{ id: string; name: string; state: string }[]>([]);
  useEffect(() => {
    let stale = false;
    sweepsApi
      .sweeps(entity, project)
      .then((found) => {
        if (!stale) setSweeps(found);
      })
      .catch(() => undefined); // a server without sweeps: no links
    return () => {
      stale = true;
    };
  }, [entity, project]);
  if (sweeps.length === 0) return null;
  return (
    <span class="sweep-links" data-testid="sweep-links">
      <span class="sep">·</span> sweeps:
      {sweeps.slice(0, 5).map((s) => (
        <Link href={paths.sweep(entity, project, s.id)} data-testid="sweep-link" title={s.state}>
          {s.name}
        </Link>
      ))}
    </span>
  );
}
