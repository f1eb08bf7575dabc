// Axis and tooltip formatting for chart panels; colour helpers.
import { formatDuration, formatNumber } from "../format";

export const X_STEP = "_step";
export const X_WALL = "_timestamp";
export const X_RELATIVE = "_runtime";

export function xLabel(x: string): string {
  if (x === X_STEP) return "Step";
  if (x === X_WALL) return "Wall time";
  if (x === X_RELATIVE) return "Relative time";
  return x;
}

/** A compact tick label: 1.2k, 3.4M, 0.0012 ... */
export function compact(v: number): string {
  if (!Number.isFinite(v)) return formatNumber(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a !== 0 && a < 1e-6) return v.toExponential(1);
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(4)));
}

export function formatX(x: string, v: number): string {
  if (x === X_WALL) return new Date(v * 1000).toLocaleString();
  if (x === X_RELATIVE) return formatDuration(v);
  return formatNumber(v);
}

export function alpha(color: string, a: number): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(color.trim());
  if (!m) return color;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** Whether a metric name matches a define_metric pattern ("train/*" globs). */
export function globMatch(pattern: string, name: string): boolean {
  if (!pattern.includes("*")) return pattern === name;
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return re.test(name);
}

/** Grid and tick colours for the current theme (data-theme on <html>). */
export function chartInk(): { grid: string; tick: string; axis: string } {
  const dark = typeof document !== "undefined" && document.documentElement.getAttribute("data-theme") === "dark";
  return dark ? { grid: "#262b35", tick: "#323845", axis: "#9aa3b2" } : { grid: "#eef0f3", tick: "#e2e4e8", axis: "#6b7280" };
}
