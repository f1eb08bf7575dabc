// The workspace's settings (saved per project on the server) and how they turn into runs queries.
import type { Json, Run, RunsQuery } from "../../api";
import { type ChartSettings, DEFAULT_CHART_SETTINGS, readChartSettings } from "../../charts/panels";
import { lookup } from "../../format";

export type FilterOp = "=" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in" | "exists" | "not exists" | "regex";
export const FILTER_OPS: FilterOp[] = ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "regex", "exists", "not exists"];

export interface FilterCond {
  field: string;
  op: FilterOp;
  value: string;
}

export interface SortSpec {
  /** A store order field: created_at, display_name, state, duration, group, job_type, config.K, summary_metrics.K */
  key: string;
  desc: boolean;
}

export interface WorkspaceSettings {
  hidden: string[];
  /** Colours the user picked, by run id (or group line id). */
  colors: Record<string, string>;
  /** Colours given once to each run (or group) when first shown: kept by every view and the run page. */
  runColors: Record<string, string>;
  /** How many colours the rotation has given (the next run takes the next one). */
  colorSeq: number;
  /** "group", "job_type", "tags" or "config.K"; null: no grouping. */
  groupBy: string | null;
  sort: SortSpec;
  filters: FilterCond[];
  search: string;
  /** How many runs (or groups) of the sorted list the charts draw. */
  maxRuns: number;
  /** The table's columns after the pinned name, in order ("state", "created", …, "config.K", "summary.K");
   * null until the user picks: then the table opens with the basics and the project's config and summary keys. */
  tableColumns: string[] | null;
  widths: Record<string, number>;
  /** The runs pane expanded into the full table. */
  expanded: boolean;
  chart: ChartSettings;
}

export const DEFAULT_SETTINGS: WorkspaceSettings = {
  hidden: [],
  colors: {},
  runColors: {},
  colorSeq: 0,
  groupBy: null,
  sort: { key: "created_at", desc: true },
  filters: [],
  search: "",
  maxRuns: 10,
  tableColumns: null,
  widths: {},
  expanded: false,
  chart: DEFAULT_CHART_SETTINGS,
};

/** The columns a table had before columns could be reordered, before its extra ones. */
const OLD_BASE = ["state", "created", "duration", "tags", "group"];

const isObj = (v: Json | undefined): v is Record<string, Json> => !!v && typeof v === "object" && !Array.isArray(v);
const strings = (v: Json | undefined) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);

/** Read saved settings defensively: anything missing or malformed keeps its default. */
export function readSettings(saved: Record<string, Json> | null | undefined): WorkspaceSettings {
  const d = DEFAULT_SETTINGS;
  if (!saved) return d;
  const colors: Record<string, string> = {};
  if (isObj(saved.colors)) for (const [k, v] of Object.entries(saved.colors)) if (typeof v === "string") colors[k] = v;
  const runColors: Record<string, string> = {};
  if (isObj(saved.runColors)) for (const [k, v] of Object.entries(saved.runColors)) if (typeof v === "string") runColors[k] = v;
  const widths: Record<string, number> = {};
  if (isObj(saved.widths)) for (const [k, v] of Object.entries(saved.widths)) if (typeof v === "number") widths[k] = v;
  const sort = isObj(saved.sort) && typeof saved.sort.key === "string" ? { key: saved.sort.key, desc: saved.sort.desc === true } : d.sort;
  const filters: FilterCond[] = Array.isArray(saved.filters)
    ? saved.filters.filter(isObj).flatMap((f) =>
        typeof f.field === "string" && typeof f.op === "string" && FILTER_OPS.includes(f.op as FilterOp)
          ? [{ field: f.field, op: f.op as FilterOp, value: typeof f.value === "string" ? f.value : "" }]
          : [],
      )
    : [];
  return {
    hidden: strings(saved.hidden),
    colors,
    runColors,
    colorSeq: typeof saved.colorSeq === "number" && saved.colorSeq >= 0 ? Math.floor(saved.colorSeq) : 0,
    groupBy: typeof saved.groupBy === "string" && saved.groupBy ? saved.groupBy : null,
    sort,
    filters,
    search: typeof saved.search === "string" ? saved.search : "",
    maxRuns: typeof saved.maxRuns === "number" && saved.maxRuns >= 1 ? Math.min(1000, Math.round(saved.maxRuns)) : d.maxRuns,
    // settings saved before columns could be reordered kept only the extra columns, after fixed ones
    tableColumns: Array.isArray(saved.tableColumns)
      ? strings(saved.tableColumns)
      : strings(saved.columns).length
        ? [...OLD_BASE, ...strings(saved.columns)]
        : null,
    widths,
    expanded: saved.expanded === true,
    chart: readChartSettings(saved.chart),
  };
}

export function toJson(s: WorkspaceSettings): Record<string, Json> {
  return JSON.parse(JSON.stringify(s)) as Record<string, Json>;
}

/** A typed value from the filter builder's text: numbers, booleans and null as JSON, anything else a string. */
export function parseValue(field: string, text: string): Json {
  const t = text.trim();
  if (field === "created_at") {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? t : ms / 1000;
  }
  if (field.startsWith("config.") || field.startsWith("summary_metrics.") || field === "duration") {
    if (t !== "" && !Number.isNaN(Number(t))) return Number(t);
    if (t === "true" || t === "false" || t === "null") return JSON.parse(t) as Json;
  }
  return t;
}

export function condToMongo(c: FilterCond): Record<string, Json> | null {
  if (c.op === "exists") return { [c.field]: { $exists: true } };
  if (c.op === "not exists") return { [c.field]: { $exists: false } };
  if (c.value.trim() === "") return null;
  if (c.op === "in" || c.op === "not in") {
    const items = c.value.split(",").map((v) => parseValue(c.field, v)).filter((v) => v !== "");
    return { [c.field]: { [c.op === "in" ? "$in" : "$nin"]: items } };
  }
  if (c.op === "regex") return { [c.field]: { $regex: c.value } };
  const ops: Record<string, string> = { "=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte" };
  return { [c.field]: { [ops[c.op]!]: parseValue(c.field, c.value) } };
}

/** The builder's conditions as one W&B (MongoDB-style) filter, AND-joined; null when there are none. */
export function toMongo(conds: FilterCond[], extra: Record<string, Json>[] = []): Json | null {
  const parts = [...conds.map(condToMongo).filter((c): c is Record<string, Json> => c !== null), ...extra];
  if (!parts.length) return null;
  return parts.length === 1 ? parts[0]! : { $and: parts };
}

/** The search box's text as the server's regex: "/…/" is stripped to its pattern. */
export function searchPattern(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  const m = /^\/(.*)\/i?$/.exec(t);
  return m ? m[1]! || null : t;
}

export function orderOf(sort: SortSpec): string {
  return `${sort.desc ? "-" : ""}${sort.key}`;
}

export function baseQuery(s: WorkspaceSettings): RunsQuery {
  return { filters: toMongo(s.filters), search: searchPattern(s.search), order: orderOf(s.sort) };
}

/** The filter that selects one group's runs (for expanding a group row). */
export function groupFilter(groupBy: string, value: Json): Record<string, Json> {
  if (value === null) return { [groupBy]: { $exists: false } };
  return { [groupBy]: value };
}

export const GROUP_PREFIX = "group:";
export const groupLineId = (value: Json) => `${GROUP_PREFIX}${JSON.stringify(value)}`;

/** The column id's label and value on a run. Column ids: name, state, created, duration, tags, group, config.K, summary.K. */
export function columnValue(run: Run, column: string): Json | undefined {
  if (column.startsWith("config.")) return lookup(run.config, column.slice(7));
  if (column.startsWith("summary.")) return lookup(run.summary, column.slice(8));
  return undefined;
}

/** The store order field a column sorts by. */
export function sortKeyOf(column: string): string | null {
  switch (column) {
    case "name":
      return "display_name";
    case "state":
      return "state";
    case "created":
      return "created_at";
    case "duration":
      return "duration";
    case "group":
      return "group";
    case "job_type":
      return "job_type";
    case "tags":
      return null;
  }
  if (column.startsWith("config.")) return column;
  if (column.startsWith("summary.")) return `summary_metrics.${column.slice(8)}`;
  return null;
}

export function sortLabel(key: string): string {
  const labels: Record<string, string> = {
    created_at: "Created",
    display_name: "Name",
    state: "State",
    duration: "Runtime",
    group: "Group",
    job_type: "Job type",
  };
  if (labels[key]) return labels[key]!;
  if (key.startsWith("summary_metrics.")) return key.slice(16);
  return key;
}

export function groupLabel(groupBy: string): string {
  if (groupBy === "job_type") return "Job type";
  if (groupBy === "group") return "Group";
  if (groupBy === "tags") return "Tags";
  return groupBy;
}
