// The Charts tab: this run's history metrics, drawn by the shared chart panels (../../charts/panels.tsx).
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type Json, type Run } from "../../api";
import { ChartPanels, DEFAULT_CHART_SETTINGS, readChartSettings, type ChartLine, type ChartSettings } from "../../charts/panels";
import { ErrorBox } from "../../components/common";
import { isLive } from "./useRun";

const TICK_MS = 2000;
const KEYS_MS = 5000;

// The run page's chart settings (x axis, smoothing, log panels) are kept per project in this browser.
const storageKey = (entity: string, project: string) => `runyard:run-charts:${entity}/${project}`;

function loadSettings(entity: string, project: string): ChartSettings {
  try {
    const raw = localStorage.getItem(storageKey(entity, project));
    return raw ? readChartSettings(JSON.parse(raw) as Json) : DEFAULT_CHART_SETTINGS;
  } catch {
    return DEFAULT_CHART_SETTINGS;
  }
}

export function ChartsTab({ run, color }: { run: Run; color: string | null }) {
  const live = isLive(run);
  const [keys, setKeys] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [settings, setSettings] = useState(() => loadSettings(run.entity, run.project));
  const [tick, setTick] = useState(0);

  // the run's history keys; new ones show up while it runs
  useEffect(() => {
    let stale = false;
    let timer = 0;
    const load = async () => {
      try {
        const r = await api.runKeys(run.entity, run.project, run.id);
        if (stale) return;
        setKeys((old) => (old && old.join("\n") === r.history.join("\n") ? old : r.history));
        setError(null);
      } catch (err) {
        if (!stale) setError(err);
      }
      if (!stale && live) timer = window.setTimeout(load, KEYS_MS);
    };
    void load();
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [run.entity, run.project, run.id, live]);

  // live: every tick the panels fetch the points after the last x they hold
  useEffect(() => {
    if (!live) {
      setTick((t) => t + 1); // one last fetch for the points logged before the run ended
      return;
    }
    const timer = window.setInterval(() => setTick((t) => t + 1), TICK_MS);
    return () => window.clearInterval(timer);
  }, [live]);

  const lines: ChartLine[] = useMemo(
    () => [{ id: run.id, label: run.name, color: color ?? "#888888", runIds: [run.id] }],
    [run.id, run.name, color],
  );
  const metrics = useMemo(() => [run.metrics ?? {}], [run.metrics]);
  const liveIds = useMemo(() => (live ? [run.id] : []), [live, run.id]);

  const onSettings = (next: ChartSettings) => {
    setSettings(next);
    try {
      localStorage.setItem(storageKey(run.entity, run.project), JSON.stringify(next));
    } catch {
      // storage full or off: the settings last as long as the page
    }
  };

  if (error !== null && keys === null) return <ErrorBox error={error} />;
  if (keys === null) return <div class="tab-loading" aria-busy="true" />;
  return (
    <div class="charts-tab" data-testid="charts-tab">
      <ChartPanels
        entity={run.entity}
        project={run.project}
        lines={lines}
        grouped={false}
        keys={keys}
        metrics={metrics}
        settings={settings}
        onSettings={onSettings}
        liveIds={liveIds}
        tick={tick}
      />
    </div>
  );
}
