// Media panels, one per media key (and per custom chart), placed by ChartPanels in the sections of the
// line charts. Each is virtualised (./lazy.tsx): its content lives only while it is on screen.
import { useEffect, useMemo, useState } from "preact/hooks";
import { mediaApi, type MediaKey, type PlotSpec } from "../api";
import { HistogramPanel } from "./histogram";
import { Lazy } from "./lazy";
import { PlotPanel, tableKeyOf } from "./plots";
import { kindOf, type MediaFile } from "./refs";
import { StepPanel, type MediaRun } from "./steppanel";
import { TablePanel } from "./table";
import "./media.css";

export type { MediaRun } from "./steppanel";

export interface MediaIndex {
  /** Media key -> reference type. */
  types: Map<string, string>;
  /** Custom chart key -> its spec. */
  plots: Map<string, PlotSpec>;
  /** History keys shown by a panel here, never as line charts: media keys and custom charts' tables. */
  hidden: Set<string>;
}

const EMPTY: MediaIndex = { types: new Map(), plots: new Map(), hidden: new Set() };
const REFRESH_TICKS = 3;

/** The media keys and custom charts of `runs`, refreshed every few ticks while runs are live. */
export function useMediaIndex(entity: string, project: string, runIds: string[], tick: number): MediaIndex {
  const [index, setIndex] = useState<MediaIndex>(EMPTY);
  const joined = runIds.join(",");
  useEffect(() => {
    if (!runIds.length) {
      setIndex(EMPTY);
      return;
    }
    let stale = false;
    mediaApi.keys(entity, project, runIds).then(
      (r) => {
        if (stale) return;
        const next = indexOf(r.keys, r.plots);
        setIndex((old) => (sameIndex(old, next) ? old : next));
      },
      () => undefined, // a server without media reads: no media panels
    );
    return () => {
      stale = true;
    };
  }, [entity, project, joined, Math.floor(tick / REFRESH_TICKS)]);
  return index;
}

function indexOf(keys: MediaKey[], plots: PlotSpec[]): MediaIndex {
  const types = new Map(keys.map((k) => [k.key, k.type]));
  const plotMap = new Map(plots.map((p) => [p.key, p]));
  const hidden = new Set([...types.keys(), ...plots.map(tableKeyOf)]);
  for (const p of plots) types.delete(tableKeyOf(p));
  return { types, plots: plotMap, hidden };
}

function sameIndex(a: MediaIndex, b: MediaIndex): boolean {
  const key = (i: MediaIndex) => JSON.stringify([[...i.types], [...i.plots.keys()]]);
  return key(a) === key(b);
}

export interface MediaPanelProps {
  entity: string;
  project: string;
  runs: MediaRun[];
  mediaKey: string;
  /** The reference type, or "plot" for a custom chart. */
  type: string;
  plot?: PlotSpec | undefined;
  tick: number;
  height: number;
}

export function MediaPanel(p: MediaPanelProps) {
  const [zoom, setZoom] = useState<{ file: MediaFile; title: string } | null>(null);
  const kind = p.type === "plot" ? "plot" : kindOf(p.type);
  const height = kind === "table" ? Math.max(p.height, 320) : p.height;
  const runs = useMemo(() => p.runs, [p.runs.map((r) => `${r.id}:${r.color}:${r.label}`).join(",")]);
  useEffect(() => {
    if (!zoom) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setZoom(null);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [zoom]);
  return (
    <div class={`chart-panel media-panel media-kind-${kind}`} data-testid="media-panel" data-key={p.mediaKey} data-kind={kind}>
      <div class="chart-head">
        <span class="chart-title" title={p.mediaKey}>
          {p.mediaKey}
        </span>
        <span class="muted media-type">{p.type}</span>
      </div>
      <Lazy height={height}>
        {() => {
          if (kind === "plot" && p.plot)
            return <PlotPanel entity={p.entity} project={p.project} runs={runs} plot={p.plot} tick={p.tick} height={height} />;
          if (kind === "histogram") return <HistogramPanel entity={p.entity} project={p.project} runs={runs} mediaKey={p.mediaKey} tick={p.tick} height={height} />;
          if (kind === "table") return <TablePanel entity={p.entity} project={p.project} runs={runs} mediaKey={p.mediaKey} tick={p.tick} height={height} />;
          return (
            <StepPanel
              entity={p.entity}
              project={p.project}
              runs={runs}
              mediaKey={p.mediaKey}
              kind={kind === "plot" ? "file" : kind}
              tick={p.tick}
              onZoom={(file, title) => setZoom({ file, title })}
            />
          );
        }}
      </Lazy>
      {zoom && (
        <div class="chart-modal" data-testid="media-zoom" onClick={(e) => e.target === e.currentTarget && setZoom(null)}>
          <div class="chart-modal-body media-zoom-body">
            <button type="button" class="chart-modal-close" onClick={() => setZoom(null)} title="Close (Esc)" data-testid="close-zoom">
              ✕
            </button>
            <div class="chart-title">{zoom.title}</div>
            <img src={zoom.file.url} alt={zoom.file.caption ?? zoom.file.path} class="media-zoomed" />
            {zoom.file.caption && <div class="media-caption">{zoom.file.caption}</div>}
          </div>
        </div>
      )}
    </div>
  );
}
