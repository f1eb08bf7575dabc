// The view (search, filters, grouping, sort, hidden runs) in the URL's query, so that Back undoes a change and a
// link shares the view. The URL's view wins over the saved one when the page opens.
import type { Json } from "../../api";
import { type FilterCond, FILTER_OPS, type FilterOp, orderOf, type WorkspaceSettings } from "./settings";

export type View = Pick<WorkspaceSettings, "search" | "filters" | "groupBy" | "sort" | "hidden">;

const VIEW_PARAMS = ["q", "f", "g", "s", "h"];

export function viewOf(s: WorkspaceSettings): View {
  return { search: s.search, filters: s.filters, groupBy: s.groupBy, sort: s.sort, hidden: s.hidden };
}

/** The view as a query string ("" for none), other parameters of `current` kept. */
export function viewToQuery(v: View, current = ""): string {
  const p = new URLSearchParams(current);
  for (const k of VIEW_PARAMS) p.delete(k);
  if (v.search) p.set("q", v.search);
  if (v.filters.length) p.set("f", JSON.stringify(v.filters.map((c) => [c.field, c.op, c.value])));
  if (v.groupBy) p.set("g", v.groupBy);
  p.set("s", orderOf(v.sort));
  if (v.hidden.length) p.set("h", v.hidden.join(","));
  const text = p.toString();
  return text ? `?${text}` : "";
}

/** The view a query string holds; null when it holds none (a plain link to the workspace). */
export function viewFromQuery(search: string): View | null {
  const p = new URLSearchParams(search);
  if (!VIEW_PARAMS.some((k) => p.has(k))) return null;
  let filters: FilterCond[] = [];
  try {
    const raw = JSON.parse(p.get("f") ?? "[]") as Json;
    if (Array.isArray(raw))
      filters = raw.flatMap((c) =>
        Array.isArray(c) && typeof c[0] === "string" && typeof c[1] === "string" && FILTER_OPS.includes(c[1] as FilterOp)
          ? [{ field: c[0], op: c[1] as FilterOp, value: typeof c[2] === "string" ? c[2] : "" }]
          : [],
      );
  } catch {
    filters = []; // a mangled link: its filters are dropped, the rest of the view kept
  }
  const order = p.get("s") ?? "-created_at";
  return {
    search: p.get("q") ?? "",
    filters,
    groupBy: p.get("g") || null,
    sort: { key: order.replace(/^-/, ""), desc: order.startsWith("-") },
    hidden: (p.get("h") ?? "").split(",").filter(Boolean),
  };
}
