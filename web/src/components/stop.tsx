// Stopping a live run: the confirmation before it, and what a stop in progress is doing.
//
// The run's ingester stops a runyard SDK trainer by escalating: Ctrl-C (SIGINT) first, SIGTERM if it still runs
// GRACE_S seconds later, SIGKILL after as long again; asking again sends the next signal at once (force stop).
import type { Run } from "../api";
import { Confirm } from "./common";

export const GRACE_S = 30; // the default of the SDK's stop_grace setting (runyard.sinks.stopper.GRACE_S)

/** Whether a stop was asked for and the run still runs. */
export const isStopping = (run: Run) => run.state === "running" && run.stop_requested_at != null;

/** What a stop in progress is doing, for a tooltip. */
export function stoppingTitle(run: Run, now = Date.now() / 1000): string {
  const ago = Math.max(0, Math.round(now - (run.stop_requested_at ?? now)));
  return (
    `Stop asked ${ago} s ago: the training process got Ctrl-C. If it still runs after the grace period ` +
    `(${GRACE_S} s unless RUNYARD_STOP_GRACE says otherwise) it gets SIGTERM, then SIGKILL. Force stop sends the next signal now.`
  );
}

export function StopConfirm(props: { run: Run; onConfirm: () => void; onCancel: () => void }) {
  const { run } = props;
  const force = isStopping(run);
  return (
    <Confirm
      title={force ? "Force this run to stop?" : "Stop this run?"}
      message={
        force ? (
          <>
            <strong>{run.name}</strong> was asked to stop and still runs. Force stop sends its training process the next
            signal now (SIGTERM, then SIGKILL) instead of waiting. Everything it logged is kept; the run ends killed.
          </>
        ) : (
          <>
            <strong>{run.name}</strong>'s training process gets Ctrl-C (KeyboardInterrupt) and the run ends killed. If it is
            still running {GRACE_S} s later (the default grace period), it is terminated (SIGTERM), then killed (SIGKILL).
            Everything it logged is kept.
          </>
        )
      }
      confirmLabel={force ? "Force stop" : "Stop run"}
      danger
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    />
  );
}

// --- Mark as killed: when even a force stop does not land ---
//
// A stop lands only through the run's own ingester process. When that is gone (killed, on a host that went
// away: no heartbeat), nothing ends the run; the user can then end it by hand. The offer comes after a force
// stop from this page that has not landed within MARK_AFTER_FORCE_S, after the whole signal ladder would
// have landed (2 grace periods and some), or when the heartbeat is stale.

/** Seconds after a force stop before "Mark as killed" is offered. */
export const MARK_AFTER_FORCE_S = 10;
/** A heartbeat older than this (the ingester beats every 30 s while nothing new arrives) is stale. */
export const STALE_HEARTBEAT_S = 75;

const forcedAt = new Map<string, number>(); // runs force-stopped from this tab, shared by all its pages
const runKey = (run: Run) => `${run.entity}/${run.project}/${run.id}`;

/** Call after a stop request was accepted; ``before`` is the run as it was when the user asked. */
export function noteStopRequest(before: Run, now = Date.now() / 1000): void {
  if (isStopping(before)) forcedAt.set(runKey(before), now);
}

/** Whether to offer "Mark as killed": the run's stop does not land, or its process is out of reach. */
export function canMarkKilled(run: Run, now = Date.now() / 1000): boolean {
  const staleBeat = now - run.heartbeat_at > STALE_HEARTBEAT_S;
  if (run.state === "crashed") return run.stop_requested_at != null && run.finished_at == null;
  if (run.state !== "running") return false;
  if (staleBeat) return true;
  if (!isStopping(run)) return false;
  const forced = forcedAt.get(runKey(run));
  if (forced != null && now - forced > MARK_AFTER_FORCE_S) return true;
  return now - (run.stop_requested_at ?? now) > 2 * GRACE_S + MARK_AFTER_FORCE_S;
}

export function MarkKilledConfirm(props: { run: Run; onConfirm: () => void; onCancel: () => void }) {
  const { run } = props;
  const ago = Math.max(0, Math.round(Date.now() / 1000 - run.heartbeat_at));
  return (
    <Confirm
      title="Mark this run as killed?"
      message={
        <>
          The stop of <strong>{run.name}</strong> has not landed (last heartbeat {ago} s ago): its training process may be
          gone, or out of this server's reach. Marking it killed ends the run now (state killed, exit code 255); your name
          and the time are kept in its metadata. Nothing is sent to the process. If it is alive after all and sends data
          again, the run reads running again and the mark stays.
        </>
      }
      confirmLabel="Mark as killed"
      danger
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    />
  );
}
