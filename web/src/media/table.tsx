// A logged table, paged, sorted and filtered by the server (a million rows page as fast as ten): pick the run
// and the step, click a column to sort, type to filter; media cells are drawn inline.
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, mediaApi, type Json, type MediaAtStep, type MediaRef, type TablePage } from "../api";
import { formatNumber } from "../format";
import { filesOf, kindOf } from "./refs";
import type { MediaRun } from "./steppanel";

const PAGE = 50;

export function TablePanel(p: { entity: string; project: string; runs: MediaRun[]; mediaKey: string; tick: number; height: number }) {
  const runIds = useMemo(() => p.runs.map((r) => r.id), [p.runs]);
  const [at, setAt] = useState<MediaAtStep | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stale = false;
    mediaApi.at(p.entity, p.project, p.mediaKey, runIds, null).then(
      (d) => !stale && setAt(d),
      (err: unknown) => !stale && setError(err instanceof ApiError ? err.message : String(err)),
    );
    return () => {
      stale = true;
    };
  }, [p.entity, p.project, p.mediaKey, runIds.join(","), p.tick]);
  const items = at?.items ?? [];
  const item = items.find((i) => i.run_id === runId) ?? items[0];
  const path = item && typeof item.value.path === "string" ? item.value.path : null;
  return (
    <div class="media-body table-panel">
      {error && <div class="chart-note error">{error}</div>}
      {items.length > 1 && (
        <select value={item?.run_id} onChange={(e) => setRunId((e.target as HTMLSelectElement).value)} data-testid="table-run">
          {items.map((i) => (
            <option value={i.run_id}>{p.runs.find((r) => r.id === i.run_id)?.label ?? i.run_id}</option>
          ))}
        </select>
      )}
      {item && path && <TableView entity={p.entity} project={p.project} runId={item.run_id} path={path} height={p.height - 40} />}
      {at && !items.length && <div class="chart-note">No {p.mediaKey} logged by these runs.</div>}
    </div>
  );
}

export function TableView(p: { entity: string; project: string; runId: string; path: string; height: number }) {
  const [page, setPage] = useState<TablePage | null>(null);
  const [offset, setOffset] = useState(0);
  const [sort, setSort] = useState<{ col: string; desc: boolean } | null>(null);
  const [q, setQ] = useState("");
  const [query, setQuery] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    const t = window.setTimeout(() => {
      setQuery(q);
      setOffset(0);
    }, 250);
    return () => window.clearTimeout(t);
  }, [q]);

  useEffect(() => {
    let stale = false;
    setLoading(true);
    mediaApi
      .table(p.entity, p.project, p.runId, p.path, { offset, limit: PAGE, sort: sort?.col ?? null, desc: sort?.desc ?? false, q: query })
      .then(
        (d) => {
          if (stale) return;
          setPage(d);
          setError(null);
          setLoading(false);
        },
        (err: unknown) => {
          if (stale) return;
          setError(err instanceof ApiError ? err.message : String(err));
          setLoading(false);
        },
      );
    return () => {
      stale = true;
    };
  }, [p.entity, p.project, p.runId, p.path, offset, sort?.col, sort?.desc, query]);

  const onSort = (col: string) => {
    setSort((s) => (s?.col !== col ? { col, desc: false } : s.desc ? null : { col, desc: true }));
    setOffset(0);
  };
  const total = page?.total ?? 0;
  return (
    <div class="table-view" data-testid="table-view">
      <div class="table-tools">
        <input type="search" placeholder="Filter rows…" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} data-testid="table-filter" />
        <span class="muted" data-testid="table-count">
          {page ? `${formatNumber(total)} rows` : ""}
          {loading ? " …" : ""}
        </span>
        <span class="spacer" />
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))} data-testid="table-prev">
          ‹
        </button>
        <span class="muted" data-testid="table-range">
          {total ? `${offset + 1}–${Math.min(total, offset + PAGE)}` : "0"}
        </span>
        <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)} data-testid="table-next">
          ›
        </button>
      </div>
      {error && <div class="chart-note error">{error}</div>}
      <div class="table-scroll" style={{ maxHeight: `${Math.max(120, p.height)}px` }}>
        <table class="media-table">
          <thead>
            <tr>
              {page?.columns.map((c) => (
                <th key={c} onClick={() => onSort(c)} data-testid="table-col" title="Sort">
                  {c}
                  {sort?.col === c ? (sort.desc ? " ▾" : " ▴") : ""}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {page?.rows.map((row, i) => (
              <tr key={offset + i} data-testid="table-row">
                {row.map((cell, j) => (
                  <td key={j}>
                    <Cell entity={p.entity} project={p.project} runId={p.runId} cell={cell} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Cell({ entity, project, runId, cell }: { entity: string; project: string; runId: string; cell: Json }) {
  if (cell === null) return <span class="muted">—</span>;
  if (typeof cell === "number") return <span class="num">{formatNumber(cell)}</span>;
  if (typeof cell === "string" || typeof cell === "boolean") return <>{String(cell)}</>;
  if (!Array.isArray(cell) && typeof cell._type === "string") {
    const ref = cell as MediaRef;
    const files = filesOf(entity, project, runId, ref);
    const kind = kindOf(ref._type);
    if (kind === "image" && files[0]) return <img class="cell-img" src={files[0].url} alt={files[0].caption ?? ""} loading="lazy" data-testid="cell-image" />;
    if (kind === "audio" && files[0]) return <audio controls preload="none" src={files[0].url} />;
    if (files[0])
      return (
        <a href={files[0].url} download>
          {ref._type}
        </a>
      );
    return <span class="muted">{ref._type}</span>;
  }
  const text = JSON.stringify(cell);
  return <span class="muted" title={text}>{text.length > 80 ? `${text.slice(0, 80)}…` : text}</span>;
}
