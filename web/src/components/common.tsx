// Small pieces every page uses: state badges, errors, empty states, a confirm dialog.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function StateBadge({ state }: { state: string }) {
  return (
    <span class={`badge state-${state}`} data-testid="state-badge" data-state={state}>
      {state}
    </span>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="error-box" role="alert" data-testid="error">
      <strong>Something went wrong.</strong> {message}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/** The three lines that log a first run: what an empty project or store shows. */
export function FirstRunHint({ project = "my-project" }: { project?: string }) {
  return (
    <pre class="code" data-testid="first-run-hint">{`import runyard as wandb
run = wandb.init(project="${project}", config={"lr": 0.01})
run.log({"loss": 0.5}); run.finish()`}</pre>
  );
}

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; testid?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && props.onClose();
    window.addEventListener("keydown", onKey);
    ref.current?.querySelector<HTMLElement>("input, button")?.focus();
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" role="dialog" aria-label={props.title} ref={ref} data-testid={props.testid ?? "modal"}>
        <h3>{props.title}</h3>
        {props.children}
      </div>
    </div>
  );
}

export function Confirm(props: {
  title: string;
  message: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <Modal title={props.title} onClose={props.onCancel} testid="confirm">
      <p>{props.message}</p>
      <div class="modal-actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class={props.danger ? "danger" : "primary"} onClick={props.onConfirm} data-testid="confirm-ok">
          {props.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
