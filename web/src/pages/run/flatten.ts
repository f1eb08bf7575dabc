// Nested config and summary dicts as flat, dotted rows ("optimizer.lr"), the way the tables show them.
import type { Json } from "../../api";

export interface FlatRow {
  key: string;
  value: Json;
}

/** A summary value that stands for a logged object (histogram, table, image…), not a dict to open up. */
function isMedia(value: { [key: string]: Json }): boolean {
  return typeof value["_type"] === "string";
}

export function flatten(obj: Record<string, Json> | null | undefined, prefix = "", out: FlatRow[] = []): FlatRow[] {
  if (!obj) return out;
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !isMedia(v) && Object.keys(v).length > 0) {
      flatten(v, key, out);
    } else {
      out.push({ key, value: v });
    }
  }
  return out;
}

/** Keys people logged first, alphabetically; the bookkeeping keys (`_step`, `_runtime`…) after them. */
export function sortRows(rows: FlatRow[]): FlatRow[] {
  return rows.sort((a, b) => {
    const ua = a.key.startsWith("_") ? 1 : 0;
    const ub = b.key.startsWith("_") ? 1 : 0;
    return ua - ub || a.key.localeCompare(b.key, undefined, { numeric: true });
  });
}
