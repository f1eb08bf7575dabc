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
