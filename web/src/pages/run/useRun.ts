// The run being shown, refreshed while it is live (state, duration and summary change without a reload).
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Run } from "../../api";

export const LIVE_STATES = new Set(["running", "preempting"]);
const POLL_MS = 2000;

export function isLive(run: Run | null | undefined): boolean {
  return !!run && LIVE_STATES.has(run.state);
}

export interface RunHandle {
  run: Run | null;
  error: unknown;
  missing: boolean;
  /** Replace the shown run with what a write returned (PATCH, stop). */
  setRun: (run: Run) => void;
  reload: () => void;
}

export function useRun(entity: string, project: string, runId: string): RunHandle {
  const [run, setRunState] = useState<Run | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const latest = useRef<Run | null>(null);

  const setRun = useCallback((r: Run) => {
    // PATCH answers carry no metadata; keep what we have.
    const merged = { ...r, metadata: r.metadata ?? latest.current?.metadata };
    latest.current = merged;
    setRunState(merged);
  }, []);

  useEffect(() => {
    let stale = false;
    let timer = 0;
    const load = async () => {
      if (document.hidden && latest.current) {
        timer = window.setTimeout(load, POLL_MS);
        return;
      }
      try {
        const r = await api.run(entity, project, runId);
        if (stale) return;
        latest.current = r;
        setRunState(r);
        setError(null);
        if (isLive(r)) timer = window.setTimeout(load, POLL_MS);
      } catch (err) {
        if (stale) return;
        setError(err);
        // A live run whose server hiccupped: keep trying; a missing run: stop.
        if (!(err instanceof ApiError && err.status === 404) && isLive(latest.current)) {
          timer = window.setTimeout(load, POLL_MS * 2);
        }
      }
    };
    load();
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [entity, project, runId, tick]);

  const missing = error instanceof ApiError && error.status === 404;
  return { run, error, missing, setRun, reload: () => setTick((n) => n + 1) };
}
