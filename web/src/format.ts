// How numbers, times and durations read in the app.
import type { Json } from "./api";

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatAgo(t: number | null | undefined, now = Date.now() / 1000): string {
  if (t == null) return "–";
  const d = now - t;
  if (d < 45) return "just now";
  if (d < 3600) return `${Math.round(d / 60)}m ago`;
  if (d < 86400) return `${Math.round(d / 3600)}h ago`;
  if (d < 86400 * 30) return `${Math.round(d / 86400)}d ago`;
  return formatTime(t);
}

export function formatTime(t: number | null | undefined): string {
  if (t == null) return "–";
  const date = new Date(t * 1000);
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** "1.500e-7" as "1.5e-7". */
const trimExponent = (text: string) => text.replace(/\.?0+e/, "e");

/** A number as people read it: plain decimals (0.0003, 1,796,000,000.5) while they stay readable, exponents only
 * for the very small and the very large. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString("en-US");
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-6 || a >= 1e15)) return trimExponent(v.toExponential(3));
  if (a >= 1e6) return v.toLocaleString("en-US", { maximumFractionDigits: 2 });
  return String(Number(v.toPrecision(5)));
}

/** Keys whose numbers are Unix times (seconds) and durations, by name: `_timestamp`, `started_at`, `_runtime`. */
const TIME_KEY = /(timestamp|(^|[._/])\w*_at|(^|[._/])_?(start|end)_?time)$/i;
const DURATION_KEY = /(^|[._/])_?runtime$/i;

/** A config or summary value as a table cell shows it; `key` (when known) lets times read as dates. */
export function formatValue(value: Json | undefined, key?: string): string {
  if (value === undefined) return "";
  if (value === null) return "null";
  if (typeof value === "number") {
    if (key && TIME_KEY.test(key) && value >= 1e9 && value < 1e11) return formatTime(value);
    if (key && DURATION_KEY.test(key) && value >= 0) return formatDuration(value);
    return formatNumber(value);
  }
  if (value === "NaN" || value === "Infinity" || value === "-Infinity") return value === "NaN" ? "NaN" : value === "Infinity" ? "∞" : "-∞";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  return JSON.stringify(value);
}

/** Look a dotted key up in a nested dict ("optimizer.lr"), falling back to a flat key that holds the dot. */
export function lookup(obj: Record<string, Json> | undefined, key: string): Json | undefined {
  if (!obj) return undefined;
  if (key in obj) return obj[key];
  let cur: Json | undefined = obj;
  for (const part of key.split(".")) {
    if (cur && typeof cur === "object" && !Array.isArray(cur) && part in cur) cur = (cur as Record<string, Json>)[part];
    else return undefined;
  }
  return cur;
}
