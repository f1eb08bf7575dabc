// Config and summary as key/value tables: nested keys flattened with dots, searchable when long.
import { useMemo, useState } from "preact/hooks";
import type { Json } from "../../api";
import { formatValue } from "../../format";
import { flatten, sortRows } from "./flatten";

const SEARCH_FROM = 6; // rows from which a search box is offered

function describe(value: Json, key: string): string {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && typeof value["_type"] === "string") {
    const kind = value["_type"];
    return kind === "histogram" ? "histogram" : `${kind}`;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) return "{}";
  return formatValue(value, key);
}

export function KeyValueTable(props: { title: string; data: Record<string, Json> | null | undefined; testid: string; empty: string }) {
  const rows = useMemo(() => sortRows(flatten(props.data)), [props.data]);
  const [query, setQuery] = useState("");
  const q = query.trim().toLowerCase();
  const shown = q ? rows.filter((r) => r.key.toLowerCase().includes(q) || describe(r.value, r.key).toLowerCase().includes(q)) : rows;
  return (
    <section class="run-section" data-testid={props.testid}>
      <div class="run-section-head">
        <h2>
          {props.title} <span class="count">{rows.length}</span>
        </h2>
        {rows.length >= SEARCH_FROM && (
          <input
            type="search"
            class="kv-search"
            placeholder={`Search ${props.title.toLowerCase()}…`}
            aria-label={`Search ${props.title.toLowerCase()}`}
            data-testid={`${props.testid}-search`}
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        )}
      </div>
      {rows.length === 0 ? (
        <p class="muted">{props.empty}</p>
      ) : (
        <table class="kv-table">
          <tbody>
            {shown.map((r) => {
              const text = describe(r.value, r.key);
              return (
                <tr key={r.key} data-testid={`${props.testid}-row`} data-key={r.key} class={r.key.startsWith("_") ? "kv-internal" : ""}>
                  <th scope="row">{r.key}</th>
                  <td class={typeof r.value === "number" ? "kv-num" : ""} title={text.length > 60 ? text : undefined}>
                    {text}
                  </td>
                </tr>
              );
            })}
            {shown.length === 0 && (
              <tr>
                <td colSpan={2} class="muted">
                  No key or value contains “{query.trim()}”.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
