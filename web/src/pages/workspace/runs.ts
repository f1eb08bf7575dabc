// The runs list as pages of POST runs/query: fetched as the user scrolls, refreshed while runs are live.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, type Run, type RunsQuery } from "../../api";

export const PAGE = 100;

export interface RunPages {
  total: number | null;
  /** The run at a row, or undefined while its page loads. */
  at: (row: number) => Run | undefined;
  /** Load the pages covering rows [from, to). */
  ensure: (from: number, to: number) => void;
  /** Refetch the pages covering rows [from, to) (live updates). */
  refresh: (from: number, to: number) => Promise<void>;
  /** Replace a run everywhere it shows (after a rename or a stop), or drop it (after a delete). */
  patch: (run: Run) => void;
  remove: (runId: string) => void;
  error: ApiError | null;
  version: number;
}

export function useRunPages(entity: string, project: string, query: RunsQuery, enabled = true): RunPages {
  const key = JSON.stringify(query);
  const pages = useRef(new Map<number, Run[]>());
  const loading = useRef(new Set<number>());
  const generation = useRef(0);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [version, setVersion] = useState(0);
  const bump = () => setVersion((v) => v + 1);

  const load = async (page: number, gen: number) => {
    loading.current.add(page);
    try {
      const r = await api.queryRuns(entity, project, { ...query, offset: page * PAGE, limit: PAGE });
      if (gen !== generation.current) return;
      pages.current.set(page, r.runs);
      setTotal(r.total);
      setError(null);
      bump();
    } catch (err) {
      if (gen !== generation.current) return;
      setError(err instanceof ApiError ? err : new ApiError(0, "error", String(err)));
      setTotal((t) => t ?? 0);
    } finally {
      loading.current.delete(page);
    }
  };

  useEffect(() => {
    generation.current++;
    pages.current = new Map();
    loading.current = new Set();
    setError(null);
    if (enabled) void load(0, generation.current);
    bump();
  }, [key, enabled]);

  return useMemo<RunPages>(
    () => ({
      total,
      error,
      version,
      at: (row) => pages.current.get(Math.floor(row / PAGE))?.[row % PAGE],
      ensure: (from, to) => {
        if (!enabled) return;
        for (let p = Math.floor(Math.max(0, from) / PAGE); p * PAGE < to; p++)
          if (!pages.current.has(p) && !loading.current.has(p)) void load(p, generation.current);
      },
      refresh: async (from, to) => {
        const gen = generation.current;
        const jobs: Promise<void>[] = [];
        for (let p = Math.floor(Math.max(0, from) / PAGE); p * PAGE < Math.max(to, 1); p++) jobs.push(load(p, gen));
        await Promise.all(jobs);
      },
      patch: (run) => {
        for (const rows of pages.current.values()) {
          const i = rows.findIndex((r) => r.id === run.id);
          if (i >= 0) rows[i] = run;
        }
        bump();
      },
      remove: (runId) => {
        // shift rows up locally at once; the next refresh brings the server's view
        const all: Run[] = [];
        const sorted = [...pages.current.entries()].sort(([a], [b]) => a - b);
        let contiguous = true;
        sorted.forEach(([p], i) => (contiguous &&= p === i));
        if (contiguous) {
          for (const [, rows] of sorted) all.push(...rows);
          const kept = all.filter((r) => r.id !== runId);
          const next = new Map<number, Run[]>();
          for (let p = 0; p * PAGE < kept.length; p++) next.set(p, kept.slice(p * PAGE, (p + 1) * PAGE));
          if (kept.length < all.length) setTotal((t) => (t == null ? t : t - 1));
          pages.current = next;
        } else {
          pages.current = new Map();
          generation.current++;
          void load(0, generation.current);
        }
        bump();
      },
    }),
    [total, error, version, key, enabled],
  );
}
