// The System tab: the run's system metrics (GET .../system) as line charts over runtime, by kind.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, type Run, type SystemSample } from "../../api";
import { rotationColor } from "../../colors";
import { Empty, ErrorBox } from "../../components/common";
import { LineChart, type Line } from "./linechart";
import { isLive } from "./useRun";

const POLL_MS = 5000;
const MIB = 1024 * 1024;
const SECTIONS = ["CPU", "Memory", "Disk", "Network", "GPU", "Other"] as const;
type Section = (typeof SECTIONS)[number];

/** Where one system key is drawn: which section and chart, as which line, in which unit. */
interface Placement {
  section: Section;
  chart: string;
  title: string;
  unit: string;
  line: string;
  scale?: number;
}

const FIXED: Record<string, Omit<Placement, "line"> & { line?: string }> = {
  "system/cpu": { section: "CPU", chart: "cpu", title: "CPU utilization", unit: "%" },
  "system/proc.cpu.percent": { section: "CPU", chart: "proc.cpu", title: "Process CPU (of one core)", unit: "%" },
  "system/proc.cpu.threads": { section: "CPU", chart: "proc.threads", title: "Process threads", unit: "" },
  "system/memory_percent": { section: "Memory", chart: "memory", title: "System memory in use", unit: "%" },
  "system/proc.memory.availableMB": { section: "Memory", chart: "memory.available", title: "System memory available", unit: "MiB" },
  "system/proc.memory.rssMB": { section: "Memory", chart: "proc.rss", title: "Process memory in use (RSS)", unit: "MiB" },
  "system/proc.memory.percent": { section: "Memory", chart: "proc.memory", title: "Process memory in use", unit: "%" },
  "system/disk.in": { section: "Disk", chart: "disk.io", title: "Disk I/O since the run started", unit: "MiB", line: "read" },
  "system/disk.out": { section: "Disk", chart: "disk.io", title: "Disk I/O since the run started", unit: "MiB", line: "written" },
  "system/network.sent": { section: "Network", chart: "net", title: "Network traffic since the run started", unit: "MiB", line: "sent", scale: 1 / MIB },
  "system/network.recv": { section: "Network", chart: "net", title: "Network traffic since the run started", unit: "MiB", line: "received", scale: 1 / MIB },
};

const GPU_FIELDS: Record<string, { title: string; unit: string; scale?: number }> = {
  gpu: { title: "GPU utilization", unit: "%" },
  memory: { title: "GPU time spent accessing memory", unit: "%" },
  memoryAllocated: { title: "GPU memory allocated", unit: "%" },
  memoryAllocatedBytes: { title: "GPU memory allocated", unit: "MiB", scale: 1 / MIB },
  temp: { title: "GPU temperature", unit: "°C" },
  powerWatts: { title: "GPU power usage", unit: "W" },
  powerPercent: { title: "GPU power usage (of its limit)", unit: "%" },
};

export function place(key: string, keys: Set<string>): Placement | null {
  // W&B sends memory twice (its old and new name): draw it once
  if (key === "system/memory" && keys.has("system/memory_percent")) return null;
  if (key === "system/memory") return { section: "Memory", chart: "memory", title: "System memory in use", unit: "%", line: "memory" };
  const fixed = FIXED[key];
  if (fixed) return { ...fixed, line: fixed.line ?? fixed.title };
  const gpu = /^system\/gpu\.(\d+)\.(.+)$/.exec(key);
  if (gpu) {
    const field = GPU_FIELDS[gpu[2]!];
    const base = field ?? { title: `GPU ${gpu[2]}`, unit: "" };
    return { section: "GPU", chart: `gpu.${gpu[2]}`, title: base.title, unit: base.unit, line: `GPU ${gpu[1]}`, ...(base.scale ? { scale: base.scale } : {}) };
  }
  const disk = /^system\/disk\.(.+)\.(usagePercent|usageGB)$/.exec(key);
  if (disk) {
    const percent = disk[2] === "usagePercent";
    return {
      section: "Disk",
      chart: `disk.${disk[2]}`,
      title: percent ? "Disk space used" : "Disk space used (GiB)",
      unit: percent ? "%" : "GiB",
      line: disk[1]!,
    };
  }
  const name = key.replace(/^system\//, "");
  return { section: "Other", chart: `other.${name}`, title: name, unit: "", line: name };
}

/** A y range that does not exaggerate noise: percentages on 0–100 (more when a process uses several cores), other
 * non-negative quantities from 0. */
export function yRangeFor(unit: string): (lo: number, hi: number) => [number, number] {
  return (lo, hi) => {
    if (unit === "%") return [Math.min(0, lo), Math.max(100, Math.ceil(hi / 10) * 10)];
    const bottom = Math.min(0, lo);
    const top = hi > bottom ? hi + (hi - bottom) * 0.08 : bottom + 1;
    return [bottom, top];
  };
}

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  lines: { key: string; label: string; scale: number }[];
}

export function layout(keys: string[]): { section: Section; charts: ChartSpec[] }[] {
  const all = new Set(keys);
  const charts = new Map<string, ChartSpec & { section: Section }>();
  for (const key of [...keys].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) {
    const p = place(key, all);
    if (!p) continue;
    let chart = charts.get(p.chart);
    if (!chart) {
      chart = { id: p.chart, title: p.title, unit: p.unit, section: p.section, lines: [] };
      charts.set(p.chart, chart);
    }
    chart.lines.push({ key, label: p.line, scale: p.scale ?? 1 });
  }
  return SECTIONS.map((section) => ({ section, charts: [...charts.values()].filter((c) => c.section === section) })).filter(
    (s) => s.charts.length > 0,
  );
}

export function SystemTab({ run }: { run: Run }) {
  const [samples, setSamples] = useState<SystemSample[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const held = useRef<SystemSample[]>([]);
  const live = isLive(run);

  useEffect(() => {
    let stale = false;
    let timer = 0;
    const load = async () => {
      const after = held.current.length ? held.current[held.current.length - 1]!.t : 0;
      try {
        const r = await api.system(run.entity, run.project, run.id, after);
        if (stale) return;
        if (r.samples.length || !held.current.length) {
          held.current = [...held.current, ...r.samples];
          setSamples(held.current);
        }
        setError(null);
      } catch (err) {
        if (!stale) setError(err);
      }
      if (!stale && live) timer = window.setTimeout(load, POLL_MS);
    };
    void load();
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [run.entity, run.project, run.id, live]);

  // each chart's columns, built once per new batch of samples; every line of the tab its own colour
  const { sections, x } = useMemo(() => {
    const list = samples ?? [];
    const keys = new Set<string>();
    for (const s of list) for (const k of Object.keys(s.values)) keys.add(k);
    let n = 0;
    const built = layout([...keys]).map(({ section, charts }) => ({
      section,
      charts: charts.map((c) => ({
        ...c,
        data: c.lines.map(
          (l): Line => ({
            label: l.label,
            color: rotationColor(n++),
            values: list.map((s) => {
              const v = s.values[l.key];
              return typeof v === "number" ? v * l.scale : null;
            }),
          }),
        ),
      })),
    }));
    return { sections: built, x: list.map((s) => s.runtime) };
  }, [samples]);

  if (error !== null && samples === null) return <ErrorBox error={error} />;
  if (samples === null) return <div class="tab-loading" aria-busy="true" />;
  if (samples.length === 0) {
    return (
      <Empty title="No system metrics">
        <p>
          {live
            ? "The first sample arrives a few seconds after the run starts (then every 15 s by default)."
            : "This run recorded no system metrics: they were turned off (disable_stats) or psutil is not installed."}
        </p>
      </Empty>
    );
  }
  return (
    <div class="system-tab" data-testid="system-tab">
      <p class="muted small">
        {samples.length} samples over the run's runtime{live ? ", updating live" : ""}. Drag to zoom, double-click to reset.
      </p>
      {sections.map(({ section, charts }) => (
        <section key={section} class="run-section" data-testid="system-section" data-section={section}>
          <div class="run-section-head">
            <h2>
              {section} <span class="count">{charts.length}</span>
            </h2>
          </div>
          <div class="sys-grid">
            {charts.map((c) => (
              <LineChart key={c.id} title={c.title} unit={c.unit} x={x} lines={c.data} yRange={yRangeFor(c.unit)} />
            ))}
          </div>
        </section>
      ))}
    </div>
  );
}
