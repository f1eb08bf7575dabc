// Media shown at one step, the runs side by side: images (with captions, zoom on click), audio and video
// players, Html in a sandboxed frame, other files as links. A slider walks the steps any of the runs logged.
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, mediaApi, type MediaAtStep } from "../api";
import { filesOf, type MediaFile, type PanelKind } from "./refs";

export interface MediaRun {
  id: string;
  label: string;
  color: string;
}

export interface StepPanelProps {
  entity: string;
  project: string;
  runs: MediaRun[];
  mediaKey: string;
  kind: PanelKind;
  tick: number;
  onZoom: (file: MediaFile, title: string) => void;
}

export function StepPanel(p: StepPanelProps) {
  const runIds = useMemo(() => p.runs.map((r) => r.id), [p.runs]);
  const [step, setStep] = useState<number | null>(null); // null: follow the last step
  const [data, setData] = useState<MediaAtStep | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stale = false;
    mediaApi.at(p.entity, p.project, p.mediaKey, runIds, step).then(
      (d) => {
        if (stale) return;
        setData(d);
        setError(null);
      },
      (err: unknown) => !stale && setError(err instanceof ApiError ? err.message : String(err)),
    );
    return () => {
      stale = true;
    };
  }, [p.entity, p.project, p.mediaKey, runIds.join(","), step, step === null ? p.tick : 0]);

  const steps = data?.steps ?? [];
  const index = data?.step == null ? -1 : steps.indexOf(data.step);
  const byRun = new Map((data?.items ?? []).map((item) => [item.run_id, item]));
  return (
    <div class="media-body">
      {error && <div class="chart-note error">{error}</div>}
      {!data && !error && <div class="media-skeleton" />}
      {data && steps.length > 1 && (
        <div class="media-slider">
          <input
            type="range"
            min={0}
            max={steps.length - 1}
            value={index}
            onInput={(e) => setStep(steps[Number((e.target as HTMLInputElement).value)] ?? null)}
            data-testid="step-slider"
            aria-label="Step"
          />
          <span class="media-step" data-testid="media-step">
            step {data.step}
          </span>
        </div>
      )}
      {data && steps.length <= 1 && data.step !== null && <div class="media-step">step {data.step}</div>}
      <div class="media-runs">
        {p.runs
          .filter((r) => byRun.has(r.id))
          .map((r) => {
            const item = byRun.get(r.id)!;
            const files = filesOf(p.entity, p.project, r.id, item.value);
            return (
              <figure class="media-run" key={r.id} data-testid="media-run" data-run={r.id}>
                <figcaption class="media-run-name">
                  <span class="tip-dot" style={{ background: r.color }} /> {r.label}
                  {item.step !== data?.step && <span class="muted"> · step {item.step}</span>}
                </figcaption>
                <div class={`media-files media-${p.kind}`}>
                  {files.map((f) => (
                    <MediaItem key={f.path} file={f} kind={p.kind} onZoom={() => p.onZoom(f, `${p.mediaKey} · ${r.label} · step ${item.step}`)} />
                  ))}
                  {files.length === 0 && <span class="muted">no file in this reference</span>}
                </div>
              </figure>
            );
          })}
        {data && data.items.length === 0 && <div class="chart-note">No {p.mediaKey} logged by these runs.</div>}
      </div>
    </div>
  );
}

function MediaItem({ file, kind, onZoom }: { file: MediaFile; kind: PanelKind; onZoom: () => void }) {
  const caption = file.caption ? <div class="media-caption">{file.caption}</div> : null;
  if (kind === "image")
    return (
      <div class="media-cell">
        <img src={file.url} alt={file.caption ?? file.path} loading="lazy" onClick={onZoom} data-testid="media-image" title="Click to zoom" />
        {caption}
      </div>
    );
  if (kind === "audio")
    return (
      <div class="media-cell">
        <audio controls preload="none" src={file.url} data-testid="media-audio" />
        {caption}
      </div>
    );
  if (kind === "video")
    return (
      <div class="media-cell">
        {/\.gif$/i.test(file.path) ? (
          <img src={file.url} alt={file.caption ?? file.path} data-testid="media-video" onClick={onZoom} />
        ) : (
          <video controls preload="metadata" src={file.url} data-testid="media-video" />
        )}
        {caption}
      </div>
    );
  if (kind === "html") return <HtmlFrame file={file} />;
  return (
    <div class="media-cell">
      <a href={file.url} download data-testid="media-file">
        {file.path.split("/").pop()}
      </a>
      {caption}
    </div>
  );
}

/** Html logged by a run, in a frame that may run its scripts but is never of this site (no allow-same-origin). */
function HtmlFrame({ file }: { file: MediaFile }) {
  const [html, setHtml] = useState<string | null>(null);
  useEffect(() => {
    let stale = false;
    fetch(file.url).then(
      (r) => r.text().then((t) => !stale && setHtml(t)),
      () => !stale && setHtml("<p>could not load the file</p>"),
    );
    return () => {
      stale = true;
    };
  }, [file.url]);
  return (
    <div class="media-cell media-html-cell">
      {html !== null && <iframe sandbox="allow-scripts" srcdoc={html} title={file.path} data-testid="media-html" />}
    </div>
  );
}
