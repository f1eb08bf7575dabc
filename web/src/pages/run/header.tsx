// The run page's header: the name (editable) and state, the live duration, Stop and Delete, and the tabs.
import { useState } from "preact/hooks";
import { api, type Run } from "../../api";
import { Confirm, StateBadge } from "../../components/common";
import { canMarkKilled, isStopping, MarkKilledConfirm, noteStopRequest, StopConfirm, stoppingTitle } from "../../components/stop";
import { formatDuration } from "../../format";
import { Link, navigate, paths } from "../../router";
import { EditableText } from "./editable";
import { canWrite, readOnlyReason, useMe } from "../../session";
import { isLive } from "./useRun";

export type RunPatch = Partial<Pick<Run, "name" | "notes" | "tags" | "visibility">>;

export const TABS = [
  { id: "overview", label: "Overview" },
  { id: "charts", label: "Charts" },
  { id: "system", label: "System" },
  { id: "logs", label: "Logs" },
  { id: "files", label: "Files" },
  { id: "artifacts", label: "Artifacts" },
] as const;

export function RunHeader(props: {
  run: Run;
  tab: string;
  onPatch: (patch: RunPatch) => Promise<void>;
  onRunChanged: (run: Run) => void;
  /** The run's colour in its project (null while it loads). */
  color: string | null;
}) {
  const { run, color } = props;
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [confirmStop, setConfirmStop] = useState(false);
  const [confirmMarkKilled, setConfirmMarkKilled] = useState(false);
  const [busy, setBusy] = useState<"stop" | "mark" | "delete" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const live = isLive(run);
  const me = useMe();
  const writable = canWrite(me, run.entity);
  const readOnly = writable ? null : readOnlyReason(me, run.entity);

  const stopping = isStopping(run);
  const stop = async () => {
    setConfirmStop(false);
    setBusy("stop");
    setError(null);
    try {
      const stopped = await api.stopRun(run.entity, run.project, run.id);
      noteStopRequest(run);
      props.onRunChanged(stopped);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(null);
    }
  };
  const markKilled = async () => {
    setConfirmMarkKilled(false);
    setBusy("mark");
    setError(null);
    try {
      props.onRunChanged(await api.markKilled(run.entity, run.project, run.id));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(null);
    }
  };
  const remove = async () => {
    setConfirmDelete(false);
    setBusy("delete");
    setError(null);
    try {
      await api.deleteRun(run.entity, run.project, run.id);
      navigate(paths.workspace(run.entity, run.project), true);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(null);
    }
  };

  return (
    <div class="run-header">
      <div class="run-title-row">
        {color && <span class="run-color-dot" aria-hidden="true" data-testid="run-color-dot" data-color={color} style={{ background: color }} />}
        <EditableText
          value={run.name}
          placeholder="Name this run"
          required
          testid="run-name"
          class="run-name"
          readOnly={readOnly}
          onSave={(name) => props.onPatch({ name })}
        />
        <StateBadge state={run.state} />
        {run.preempting_at != null && (
          <span class="badge state-crashed" title="The training process said it is about to be preempted">
            preempting
          </span>
        )}
        <span class="run-duration muted" title="Duration" data-testid="header-duration">
          {formatDuration(run.duration)}
        </span>
        <span class="run-id muted" title="Run id">
          {run.id}
        </span>
        {writable && <div class="run-actions">
          {live && (
            <button
              type="button"
              onClick={() => setConfirmStop(true)}
              disabled={busy !== null}
              data-testid="run-stop"
              data-stopping={stopping ? "true" : "false"}
              title={stopping ? stoppingTitle(run) : "The training process receives KeyboardInterrupt and the run ends killed"}
            >
              {stopping ? "Stopping… Force stop" : "■ Stop"}
            </button>
          )}
          {canMarkKilled(run) && (
            <button
              type="button"
              class="danger-outline"
              onClick={() => setConfirmMarkKilled(true)}
              disabled={busy !== null}
              data-testid="run-mark-killed"
              title="The stop has not landed: end the run as killed by hand"
            >
              Mark as killed
            </button>
          )}
          <button type="button" class="danger-outline" onClick={() => setConfirmDelete(true)} disabled={busy !== null} data-testid="run-delete">
            Delete
          </button>
        </div>}
      </div>
      {error && (
        <div class="run-header-error" role="alert" data-testid="run-action-error">
          {error}
        </div>
      )}
      <nav class="run-tabs" role="tablist" aria-label="Run page sections">
        {TABS.map((t) => (
          <Link
            key={t.id}
            href={paths.run(run.entity, run.project, run.id, t.id)}
            role="tab"
            aria-selected={props.tab === t.id}
            class={`run-tab ${props.tab === t.id ? "active" : ""}`}
            data-testid={`tab-${t.id}`}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {confirmMarkKilled && (
        <MarkKilledConfirm run={run} onConfirm={() => void markKilled()} onCancel={() => setConfirmMarkKilled(false)} />
      )}
      {confirmStop && <StopConfirm run={run} onConfirm={() => void stop()} onCancel={() => setConfirmStop(false)} />}
      {confirmDelete && (
        <Confirm
          title="Delete this run?"
          message={
            <>
              <strong>{run.name}</strong> and all its data (history, console output, files) will be deleted. This cannot be undone.
            </>
          }
          confirmLabel="Delete run"
          danger
          onConfirm={remove}
          onCancel={() => setConfirmDelete(false)}
        />
      )}
    </div>
  );
}
