// Per-run controls: the kebab menu (rename, stop, delete), the colour palette, and a popover that closes on
// an outside click or Escape.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { PALETTE } from "../../colors";
import { Modal } from "../../components/common";

/** A popover anchored under its trigger; closes on an outside click or Escape. */
export function Popover(props: { onClose: () => void; children: ComponentChildren; class?: string; testid?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const close = useRef(props.onClose);
  close.current = props.onClose;
  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) close.current();
    };
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && close.current();
    // next tick: the click that opened it must not close it
    const t = setTimeout(() => document.addEventListener("mousedown", onDown), 0);
    window.addEventListener("keydown", onKey);
    return () => {
      clearTimeout(t);
      document.removeEventListener("mousedown", onDown);
      window.removeEventListener("keydown", onKey);
    };
  }, []);
  return (
    <div ref={ref} class={`popover ${props.class ?? ""}`} data-testid={props.testid} onClick={(e) => e.stopPropagation()}>
      {props.children}
    </div>
  );
}

export function Palette(props: { color: string; onPick: (color: string | null) => void; onClose: () => void }) {
  return (
    <Popover onClose={props.onClose} class="palette" testid="palette">
      <div class="palette-grid">
        {PALETTE.map((c) => (
          <button
            type="button"
            class={`palette-swatch ${c === props.color ? "on" : ""}`}
            style={{ background: c }}
            title={c}
            aria-label={`colour ${c}`}
            data-testid="palette-swatch"
            data-color={c}
            onClick={() => props.onPick(c)}
          />
        ))}
      </div>
      <div class="palette-foot">
        <label>
          Custom <input type="color" value={props.color} onChange={(e) => props.onPick((e.target as HTMLInputElement).value)} data-testid="palette-custom" />
        </label>
        <button type="button" onClick={() => props.onPick(null)} data-testid="palette-reset">
          Default
        </button>
      </div>
    </Popover>
  );
}

export function RunMenu(props: {
  running: boolean;
  stopping: boolean;
  /** Offer "Mark as killed": the run's stop has not landed (see components/stop.canMarkKilled). */
  markable?: boolean;
  onRename: () => void;
  onStop: () => void;
  onMarkKilled?: () => void;
  onDelete: () => void;
  onClose: () => void;
}) {
  const item = (label: string, testid: string, fn: () => void, cls = "") => (
    <button
      type="button"
      role="menuitem"
      class={`menu-item ${cls}`}
      data-testid={testid}
      onClick={() => {
        props.onClose();
        fn();
      }}
    >
      {label}
    </button>
  );
  return (
    <Popover onClose={props.onClose} class="run-menu" testid="run-menu">
      <div role="menu">
        {item("Rename", "menu-rename", props.onRename)}
        {props.running && item(props.stopping ? "Force stop" : "Stop run", props.stopping ? "menu-force-stop" : "menu-stop", props.onStop)}
        {props.markable && props.onMarkKilled && item("Mark as killed", "menu-mark-killed", props.onMarkKilled, "danger-text")}
        {item("Delete", "menu-delete", props.onDelete, "danger-text")}
      </div>
    </Popover>
  );
}

export function RenameDialog(props: { name: string; onSave: (name: string) => Promise<void>; onClose: () => void }) {
  const [name, setName] = useState(props.name);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) return setError("A run needs a name.");
    setBusy(true);
    try {
      await props.onSave(trimmed);
      props.onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };
  return (
    <Modal title="Rename run" onClose={props.onClose} testid="rename-dialog">
      <form onSubmit={submit}>
        <input
          class="wide-input"
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
          data-testid="rename-input"
          aria-label="New name"
          ref={input}
        />
        {error && (
          <p class="inline-error" role="alert">
            {error}
          </p>
        )}
        <div class="modal-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="rename-save">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
