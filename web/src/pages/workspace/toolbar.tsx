// The runs pane's controls: regex search, the filter builder, group by, sort, and the column picker.
import { useState } from "preact/hooks";
import type { ProjectKeys } from "../../api";
import { regexProblem } from "../../regex";
import { Popover } from "./menus";
import { BASE_COLUMNS } from "./runlist";
import { type FilterCond, FILTER_OPS, type FilterOp, groupLabel, type SortSpec, sortLabel } from "./settings";

const STATES = ["running", "finished", "failed", "crashed", "killed", "preempting"];

export function filterFields(keys: ProjectKeys): string[] {
  return [
    "state",
    "tags",
    "group",
    "job_type",
    "display_name",
    "created_at",
    "host",
    "username",
    ...keys.config.map((k) => `config.${k}`),
    ...keys.summary.map((k) => `summary_metrics.${k}`),
  ];
}

export function FilterBuilder(props: {
  filters: FilterCond[];
  fields: string[];
  onApply: (filters: FilterCond[]) => void;
  onClose: () => void;
}) {
  const [draft, setDraft] = useState<FilterCond[]>(props.filters.length ? props.filters : [{ field: "state", op: "=", value: "" }]);
  const [problem, setProblem] = useState<string | null>(null);
  const update = (i: number, patch: Partial<FilterCond>) => {
    setProblem(null);
    setDraft(draft.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  };
  const apply = () => {
    const kept = draft.filter((c) => c.op === "exists" || c.op === "not exists" || c.value.trim() !== "");
    // A pattern the server cannot take is reported here, never applied (the live refresh would resend it).
    for (const c of kept) {
      const why = c.op === "regex" ? regexProblem(c.value, `filter ${c.field}`) : null;
      if (why) return setProblem(why);
    }
    props.onApply(kept);
    props.onClose();
  };
  return (
    <Popover onClose={props.onClose} class="filter-builder" testid="filter-builder">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          apply();
        }}
      >
        <div class="filter-rows">
          {draft.map((c, i) => (
            <div class="filter-row" data-testid="filter-row">
              <span class="filter-join">{i === 0 ? "Where" : "and"}</span>
              <select value={c.field} onChange={(e) => update(i, { field: (e.target as HTMLSelectElement).value, value: "" })} data-testid="filter-field">
                {props.fields.map((f) => (
                  <option value={f}>{f}</option>
                ))}
              </select>
              <select value={c.op} onChange={(e) => update(i, { op: (e.target as HTMLSelectElement).value as FilterOp })} data-testid="filter-op">
                {FILTER_OPS.map((op) => (
                  <option value={op}>{op}</option>
                ))}
              </select>
              {c.op === "exists" || c.op === "not exists" ? (
                <span class="filter-value" />
              ) : c.field === "state" && (c.op === "=" || c.op === "!=") ? (
                <select class="filter-value" value={c.value} onChange={(e) => update(i, { value: (e.target as HTMLSelectElement).value })} data-testid="filter-value">
                  <option value="">choose…</option>
                  {STATES.map((s) => (
                    <option value={s}>{s}</option>
                  ))}
                </select>
              ) : (
                <input
                  class="filter-value"
                  type={c.field === "created_at" ? "datetime-local" : "text"}
                  value={c.value}
                  placeholder={c.op === "in" || c.op === "not in" ? "a, b, c" : "value"}
                  onInput={(e) => update(i, { value: (e.target as HTMLInputElement).value })}
                  data-testid="filter-value"
                />
              )}
              <button type="button" class="icon-btn" title="Remove" onClick={() => setDraft(draft.filter((_, j) => j !== i))} data-testid="filter-remove">
                ✕
              </button>
            </div>
          ))}
        </div>
        {problem && (
          <div class="inline-error" role="alert" data-testid="filter-error">
            {problem}
          </div>
        )}
        <div class="filter-actions">
          <button type="button" onClick={() => setDraft([...draft, { field: "state", op: "=", value: "" }])} data-testid="filter-add">
            + Add filter
          </button>
          <span class="spacer" />
          <button
            type="button"
            onClick={() => {
              props.onApply([]);
              props.onClose();
            }}
            data-testid="filter-clear"
          >
            Clear
          </button>
          <button type="submit" class="primary" data-testid="filter-apply">
            Apply
          </button>
        </div>
      </form>
    </Popover>
  );
}

export function groupOptions(keys: ProjectKeys): string[] {
  return ["group", "job_type", "tags", ...keys.config.map((k) => `config.${k}`)];
}

export function GroupSelect(props: { value: string | null; options: string[]; onChange: (v: string | null) => void }) {
  return (
    <select
      class={`tool-select ${props.value ? "on" : ""}`}
      value={props.value ?? ""}
      title="Group runs"
      onChange={(e) => props.onChange((e.target as HTMLSelectElement).value || null)}
      data-testid="group-by"
    >
      <option value="">No grouping</option>
      {props.options.map((o) => (
        <option value={o}>Group: {groupLabel(o)}</option>
      ))}
    </select>
  );
}

export function sortOptions(keys: ProjectKeys): string[] {
  return [
    "created_at",
    "display_name",
    "state",
    "duration",
    "group",
    "job_type",
    ...keys.summary.map((k) => `summary_metrics.${k}`),
    ...keys.config.map((k) => `config.${k}`),
  ];
}

export function SortSelect(props: { sort: SortSpec; options: string[]; onChange: (s: SortSpec) => void }) {
  const options = props.options.includes(props.sort.key) ? props.options : [props.sort.key, ...props.options];
  return (
    <span class="sort-select">
      <select
        class="tool-select"
        value={props.sort.key}
        title="Sort runs"
        onChange={(e) => props.onChange({ ...props.sort, key: (e.target as HTMLSelectElement).value })}
        data-testid="sort-key"
      >
        {options.map((o) => (
          <option value={o}>Sort: {sortLabel(o)}</option>
        ))}
      </select>
      <button
        type="button"
        class="icon-btn"
        title={props.sort.desc ? "Descending (click for ascending)" : "Ascending (click for descending)"}
        onClick={() => props.onChange({ ...props.sort, desc: !props.sort.desc })}
        data-testid="sort-dir"
        data-desc={props.sort.desc ? "true" : "false"}
      >
        {props.sort.desc ? "↓" : "↑"}
      </button>
    </span>
  );
}

export function ColumnPicker(props: { keys: ProjectKeys; columns: string[]; onChange: (c: string[]) => void; onClose: () => void }) {
  const [q, setQ] = useState("");
  const all = [...Object.keys(BASE_COLUMNS), ...props.keys.config.map((k) => `config.${k}`), ...props.keys.summary.map((k) => `summary.${k}`)];
  const shown = all.filter((c) => c.toLowerCase().includes(q.toLowerCase()));
  const toggle = (c: string, on: boolean) => props.onChange(on ? [...props.columns, c] : props.columns.filter((x) => x !== c));
  return (
    <Popover onClose={props.onClose} class="column-picker" testid="column-picker">
      <input type="search" placeholder="Search columns…" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} autoFocus />
      <div class="column-list">
        {shown.length === 0 && <div class="muted">No config or summary keys{q ? " match" : " yet"}.</div>}
        {shown.map((c) => (
          <label class="column-option">
            <input
              type="checkbox"
              checked={props.columns.includes(c)}
              onChange={(e) => toggle(c, (e.target as HTMLInputElement).checked)}
              data-testid="column-option"
              data-column={c}
            />
            {BASE_COLUMNS[c]?.label ?? c}
          </label>
        ))}
      </div>
    </Popover>
  );
}
