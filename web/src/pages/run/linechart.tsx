// A small uPlot line chart over already-loaded columns: the System tab's panels (system samples do not go
// through POST /series; history charts use the shared chart panels in ../../charts/).
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { chartInk } from "../../charts/format";
import { formatDuration, formatNumber } from "../../format";

/** A runtime tick: tenths of a second while the ticks are that close, then 12s, 3m 20s, 2h 5m. */
function formatRuntime(seconds: number, increment: number): string {
  if (increment < 1 && seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  return formatDuration(seconds);
}

export interface Line {
  label: string;
  color: string;
  values: (number | null)[];
}

export function LineChart(props: {
  title: string;
  unit?: string;
  x: number[];
  lines: Line[];
  height?: number;
  testid?: string;
  /** The y axis range from the data's (uPlot's auto fit when absent). */
  yRange?: (dataMin: number, dataMax: number) => [number, number];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const height = props.height ?? 180;
  const signature = props.lines.map((l) => `${l.label}:${l.color}`).join("|");
  const data = [props.x, ...props.lines.map((l) => l.values)] as uPlot.AlignedData;

  // a new plot when the lines change; setData when only the points do (live samples)
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = (v: number | null) => (v == null ? "–" : `${formatNumber(v)}${props.unit ? ` ${props.unit}` : ""}`);
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: props.lines.length > 1, live: true },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      scales: {
        x: { time: false },
        ...(props.yRange ? { y: { range: (_u: uPlot, lo: number | null, hi: number | null) => props.yRange!(lo ?? 0, hi ?? 0) } } : {}),
      },
      hooks: {
        // what the canvas draws, readable in the page: the axes' labels and the y range
        ready: [(u: uPlot) => box.current?.parentElement?.setAttribute("data-axis-labels", u.axes.map((a) => a.label ?? "").join("|"))],
        setScale: [
          (u: uPlot, key: string) => {
            if (key !== "y" || u.scales.y!.min == null || u.scales.y!.max == null) return;
            box.current?.parentElement?.setAttribute("data-y-range", `${u.scales.y!.min},${u.scales.y!.max}`);
          },
        ],
      },
      axes: [
        {
          stroke: "#6b7280",
          grid: { stroke: chartInk().grid },
          ticks: { show: false },
          values: (_u, splits, _axis, _space, incr) => splits.map((v) => formatRuntime(v, incr)),
          label: "Runtime",
          labelSize: 18,
          labelFont: "11px system-ui, sans-serif",
        },
        {
          stroke: "#6b7280",
          grid: { stroke: chartInk().grid },
          ticks: { show: false },
          size: 56,
          values: (_u, splits) => splits.map((v) => formatNumber(v)),
          ...(props.unit ? { label: props.unit, labelSize: 18, labelFont: "11px system-ui, sans-serif" } : {}),
        },
      ],
      series: [
        { label: "Runtime", value: (_u, v) => (v == null ? "–" : formatRuntime(v, 0.1)) },
        ...props.lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: 1.5,
          spanGaps: true,
          points: { size: 5 }, // uPlot shows them only where points are sparse (a short run's few samples)
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      if (el.clientWidth > 0 && Math.abs(u.width - el.clientWidth) > 1) u.setSize({ width: el.clientWidth, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [signature, height, props.unit]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [props.x, props.lines]);

  const last = props.lines.length === 1 ? props.lines[0]!.values[props.lines[0]!.values.length - 1] : null;
  return (
    <div
      class="sys-panel"
      data-testid={props.testid ?? "sys-panel"}
      data-title={props.title}
      data-points={props.x.length}
      data-unit={props.unit ?? ""}
      data-colors={props.lines.map((l) => l.color).join(",")}
    >
      <div class="sys-panel-head">
        <span class="sys-panel-title">{props.title}</span>
        {last != null && (
          <span class="muted sys-panel-last">
            {formatNumber(last)}
            {props.unit ? ` ${props.unit}` : ""}
          </span>
        )}
      </div>
      <div ref={box} class="sys-panel-plot" title="Drag to zoom, double-click to reset" />
    </div>
  );
}
