// The runs list, virtualised: fixed-height rows, only the rows in view (plus a margin) are in the DOM.
// The same component is the narrow sidebar and the full runs table (more columns, resizable, sortable headers).
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Json, ProjectKeys, Run, RunGroup } from "../../api";
import { StateBadge } from "../../components/common";
import { stoppingTitle } from "../../components/stop";
import { formatAgo, formatDuration, formatTime, formatValue } from "../../format";
import { Link, paths } from "../../router";
import { columnValue, sortKeyOf, type SortSpec } from "./settings";

export const ROW_H = 30;
const OVERSCAN = 12;

export type RowItem =
  | { kind: "run"; run: Run | undefined; index: number; member?: boolean }
  | { kind: "group"; group: RunGroup; lineId: string; label: string; expanded: boolean; index: number };

export interface Column {
  id: string;
  label: string;
  width: number;
}

/** The table's built-in columns besides the name (config and summary columns are "config.K" / "summary.K"). */
export const BASE_COLUMNS: Record<string, { label: string; width: number }> = {
  state: { label: "State", width: 96 },
  created: { label: "Created", width: 110 },
  duration: { label: "Runtime", width: 84 },
  tags: { label: "Tags", width: 140 },
  group: { label: "Group", width: 110 },
  job_type: { label: "Job type", width: 100 },
};

/** The columns a table opens with until the user picks: the basics, then the project's first config and summary
 * keys (the ones people compare runs by). */
export function defaultTableColumns(keys: ProjectKeys): string[] {
  const pick = (ks: string[], prefix: string) => ks.filter((k) => !k.startsWith("_")).slice(0, 6).map((k) => `${prefix}${k}`);
  return ["state", "created", "duration", ...pick(keys.config, "config."), ...pick(keys.summary, "summary.")];
}

/** The table's columns: the name (pinned), then the chosen ones in their order. */
export function tableColumns(ids: string[]): Column[] {
  return [
    { id: "name", label: "Name", width: 220 },
    ...ids.filter((id) => id !== "name").map((id) => ({ id, label: BASE_COLUMNS[id]?.label ?? id, width: BASE_COLUMNS[id]?.width ?? 110 })),
  ];
}

export const SIDEBAR_COLUMNS: Column[] = [
  { id: "name", label: "Name", width: 0 },
  { id: "state", label: "State", width: 84 },
];

export interface RunListProps {
  mode: "sidebar" | "table";
  count: number;
  rowAt: (i: number) => RowItem | undefined;
  onRange: (from: number, to: number) => void;
  columns: Column[];
  widths: Record<string, number>;
  onWidth: (column: string, width: number) => void;
  sort: SortSpec;
  onSort: (sort: SortSpec) => void;
  colorOf: (id: string) => string;
  isHidden: (id: string) => boolean;
  /** Whether a row is among the first N the charts draw. */
  isVisualized: (item: RowItem) => boolean;
  onToggleHide: (id: string) => void;
  onColor: (id: string, anchor: HTMLElement) => void;
  /** Open a run's actions (rename, stop, delete); absent for someone who may not change the project's runs. */
  onMenu?: ((run: Run, anchor: HTMLElement) => void) | undefined;
  onToggleGroup: (lineId: string) => void;
  /** Move a table column one place left (-1) or right (+1). */
  onMoveColumn?: (column: string, delta: number) => void;
  /** A group row's aggregate for a column (mean ± std of its runs' numbers), if it has one. */
  aggregate?: (lineId: string, column: string) => { text: string; title: string } | null;
  entity: string;
  project: string;
  selected: string | null;
  version: number;
}

const ICONS = {
  eye: "M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12zm11 4a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
  eyeOff: "M3 3l18 18M10.6 6.1A11 11 0 0 1 12 6c7 0 11 6 11 6a19 19 0 0 1-3.2 3.7M6.6 6.6C3 8.6 1 12 1 12s4 7 11 7a10 10 0 0 0 5.4-1.6M9.9 9.9a3 3 0 0 0 4.2 4.2",
  kebab: "M12 5h.01M12 12h.01M12 19h.01",
};

export function Icon({ name, size = 15 }: { name: keyof typeof ICONS; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width={name === "kebab" ? 3 : 1.8} stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d={ICONS[name]} />
    </svg>
  );
}

function cell(run: Run, id: string): ComponentChildren {
  switch (id) {
    case "state":
      return run.state === "running" && run.stop_requested_at ? (
        <span class="badge state-stopping" data-testid="state-badge" data-state="stopping" title={stoppingTitle(run)}>
          stopping…
        </span>
      ) : (
        <StateBadge state={run.state} />
      );
    case "created":
      return <span title={formatTime(run.created_at)}>{formatAgo(run.created_at)}</span>;
    case "duration":
      return formatDuration(run.duration);
    case "tags":
      return run.tags.map((t) => <span class="tag">{t}</span>);
    case "group":
      return run.group ?? "";
    case "job_type":
      return run.job_type ?? "";
  }
  const v: Json | undefined = columnValue(run, id);
  return <span class={typeof v === "number" ? "num" : ""}>{formatValue(v, id)}</span>;
}

export function RunList(p: RunListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  const frame = useRef(0);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setHeight(el.clientHeight || 600);
    if (typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const headerH = p.mode === "table" ? ROW_H : 0;
  const first = Math.max(0, Math.floor((top - headerH) / ROW_H) - OVERSCAN);
  const last = Math.min(p.count, Math.ceil((top + height) / ROW_H) + OVERSCAN);

  useEffect(() => p.onRange(first, last), [first, last, p.count, p.onRange]);

  // keep the keyboard-selected row in view
  useEffect(() => {
    const el = scroller.current;
    if (!el || !p.selected) return;
    for (let i = first; i < last; i++) {
      const item = p.rowAt(i);
      if (item?.kind === "run" && item.run?.id === p.selected) {
        const y = headerH + i * ROW_H;
        if (y < el.scrollTop + headerH) el.scrollTop = y - headerH;
        else if (y + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW_H - el.clientHeight;
      }
    }
  }, [p.selected]);

  const onScroll = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => setTop(scroller.current?.scrollTop ?? 0));
  };

  const widthOf = (c: Column) => p.widths[c.id] ?? c.width;
  const table = p.mode === "table";
  const CONTROLS = 52;
  const KEBAB = 30;
  const rowWidth = table ? CONTROLS + p.columns.reduce((a, c) => a + widthOf(c), 0) + KEBAB : undefined;
  const cellStyle = (c: Column): JSX.CSSProperties =>
    table || c.width ? { width: `${widthOf(c)}px`, flex: "none" } : { flex: "1 1 0", minWidth: 0 };

  const rows: JSX.Element[] = [];
  for (let i = first; i < last; i++) {
    const item = p.rowAt(i);
    const y = headerH + i * ROW_H;
    const style = { transform: `translateY(${y}px)`, width: rowWidth ? `${rowWidth}px` : "100%" };
    if (!item || (item.kind === "run" && !item.run)) {
      rows.push(
        <div class="run-row skeleton-row" style={style} key={`s${i}`} data-testid="run-row-loading">
          <span class="skeleton-bar" />
        </div>,
      );
      continue;
    }
    if (item.kind === "group") {
      const g = item.group;
      const hidden = p.isHidden(item.lineId);
      const groupLabel = (
        <button type="button" class="group-label" onClick={() => p.onToggleGroup(item.lineId)} data-testid="group-toggle" aria-expanded={item.expanded}>
          <span class="caret">{item.expanded ? "▾" : "▸"}</span>
          <span class="group-name">{item.label}</span>
          <span class="count" data-testid="group-count">
            {g.count}
          </span>
        </button>
      );
      const aggCell = (column: string) => {
        const a = p.aggregate?.(item.lineId, column);
        return a ? (
          <span class="num agg" title={a.title} data-testid="group-agg">
            {a.text}
          </span>
        ) : null;
      };
      rows.push(
        <div
          class={`run-row group-row ${hidden ? "is-hidden" : ""} ${p.isVisualized(item) ? "is-visual" : ""}`}
          style={style}
          key={`g${item.lineId}`}
          data-testid="group-row"
          data-group={item.label}
          data-hidden={hidden ? "true" : "false"}
        >
          <span class="row-controls">
            <button type="button" class="swatch" style={{ background: p.colorOf(item.lineId) }} title="Change colour" data-testid="run-color" onClick={(e) => p.onColor(item.lineId, e.currentTarget)} />
            <button type="button" class="icon-btn eye" title={hidden ? "Show in charts" : "Hide from charts"} aria-pressed={!hidden} data-testid="run-eye" onClick={() => p.onToggleHide(item.lineId)}>
              <Icon name={hidden ? "eyeOff" : "eye"} />
            </button>
          </span>
          {table ? (
            p.columns.map((c) =>
              c.id === "name" ? (
                <span class="cell cell-name" style={cellStyle(c)}>
                  {groupLabel}
                </span>
              ) : (
                <span class={`cell cell-${c.id.replace(/[^a-z]/gi, "")}`} style={cellStyle(c)} data-column={c.id}>
                  {aggCell(c.id)}
                </span>
              ),
            )
          ) : (
            groupLabel
          )}
        </div>,
      );
      continue;
    }
    const run = item.run!;
    const hidden = p.isHidden(run.id);
    const visual = p.isVisualized(item);
    rows.push(
      <div
        class={`run-row ${hidden ? "is-hidden" : ""} ${visual ? "is-visual" : ""} ${item.member ? "member" : ""} ${p.selected === run.id ? "selected" : ""}`}
        style={style}
        key={run.id}
        data-testid="run-row"
        data-run-id={run.id}
        data-run-name={run.name}
        data-state={run.state}
        data-hidden={hidden ? "true" : "false"}
        data-visualized={visual && !hidden ? "true" : "false"}
      >
        <span class="row-controls">
          <button type="button" class="swatch" style={{ background: p.colorOf(run.id) }} title="Change colour" data-testid="run-color" onClick={(e) => p.onColor(run.id, e.currentTarget)} />
          <button type="button" class="icon-btn eye" title={hidden ? "Show in charts" : "Hide from charts"} aria-pressed={!hidden} data-testid="run-eye" onClick={() => p.onToggleHide(run.id)}>
            <Icon name={hidden ? "eyeOff" : "eye"} />
          </button>
        </span>
        {p.columns.map((c) =>
          c.id === "name" ? (
            <span class="cell cell-name" style={cellStyle(c)}>
              <Link href={paths.run(p.entity, p.project, run.id)} data-testid="run-name" title={run.name}>
                {run.name}
              </Link>
            </span>
          ) : (
            <span class={`cell cell-${c.id.replace(/[^a-z]/gi, "")}`} style={cellStyle(c)} data-column={c.id}>
              {cell(run, c.id)}
            </span>
          ),
        )}
        {p.onMenu ? (
          <button type="button" class="icon-btn kebab" title="Run actions" data-testid="run-kebab" onClick={(e) => p.onMenu?.(run, e.currentTarget)}>
            <Icon name="kebab" />
          </button>
        ) : (
          <span class="kebab" aria-hidden="true" />
        )}
      </div>,
    );
  }

  return (
    <div class={`run-list ${p.mode}`} ref={scroller} onScroll={onScroll} data-testid="run-list" data-rows={p.count} data-version={p.version}>
      <div class="run-list-space" style={{ height: `${headerH + p.count * ROW_H}px`, width: rowWidth ? `${rowWidth}px` : "100%" }}>
        {table && <TableHeader {...p} widthOf={widthOf} width={rowWidth ?? 0} />}
        {rows}
      </div>
    </div>
  );
}

function TableHeader(p: RunListProps & { widthOf: (c: Column) => number; width: number }) {
  const startResize = (e: MouseEvent, c: Column) => {
    e.preventDefault();
    e.stopPropagation();
    const x0 = e.clientX;
    const w0 = p.widthOf(c);
    const move = (ev: MouseEvent) => p.onWidth(c.id, Math.max(48, Math.round(w0 + ev.clientX - x0)));
    const up = () => {
      window.removeEventListener("mousemove", move);
      window.removeEventListener("mouseup", up);
    };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
  };
  return (
    <div class="run-row table-head" style={{ width: `${p.width}px` }} data-testid="table-head">
      <span class="row-controls" />
      {p.columns.map((c, i) => {
        const key = sortKeyOf(c.id);
        const active = key != null && p.sort.key === key;
        return (
          <span
            class={`cell head-cell ${key ? "sortable" : ""} ${c.id === "name" ? "cell-name" : ""}`}
            style={{ width: `${p.widthOf(c)}px`, flex: "none" }}
            data-testid="column-head"
            data-column={c.id}
            title={key ? `Sort by ${c.label}` : c.label}
            onClick={() => key && p.onSort({ key, desc: active ? !p.sort.desc : key !== "display_name" })}
          >
            <span class="head-label">{c.label}</span>
            {active && <span class="sort-arrow">{p.sort.desc ? "↓" : "↑"}</span>}
            {p.onMoveColumn && c.id !== "name" && (
              <span class="move-btns">
                {i > 1 && (
                  <button type="button" class="move-btn" title="Move left" data-testid="column-left" onClick={(e) => (e.stopPropagation(), p.onMoveColumn!(c.id, -1))}>
                    ‹
                  </button>
                )}
                {i < p.columns.length - 1 && (
                  <button type="button" class="move-btn" title="Move right" data-testid="column-right" onClick={(e) => (e.stopPropagation(), p.onMoveColumn!(c.id, 1))}>
                    ›
                  </button>
                )}
              </span>
            )}
            <span class="resize-handle" onMouseDown={(e) => startResize(e, c)} onClick={(e) => e.stopPropagation()} />
          </span>
        );
      })}
    </div>
  );
}
