// Edit-in-place fields of the run page: a line of text (the name), a paragraph (the description), tags.
import { useEffect, useRef, useState } from "preact/hooks";

interface EditableProps {
  value: string;
  placeholder: string;
  /** Save the new value; a rejected promise keeps the editor open and shows why. */
  onSave: (value: string) => Promise<void>;
  multiline?: boolean;
  required?: boolean;
  testid: string;
  class?: string;
  /** Shown but not editable (a viewer or an anonymous visitor); the title says why. */
  readOnly?: string | null;
}

/** Shows the value; a click (or Enter on focus) edits it. Enter saves (Shift+Enter: new line), Esc cancels. */
export function EditableText(props: EditableProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(props.value);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const field = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const busy = useRef(false); // Enter saves, then the blur of the closing field must not save again
  const open = useRef(false);
  open.current = editing;

  useEffect(() => {
    if (!editing) setDraft(props.value);
  }, [props.value, editing]);

  useEffect(() => {
    if (editing) {
      field.current?.focus();
      field.current?.select();
    }
  }, [editing]);

  const save = async () => {
    if (busy.current || !open.current) return;
    const value = props.multiline ? draft.replace(/\s+$/, "") : draft.trim();
    if (value === props.value) {
      open.current = false;
      setEditing(false);
      setError(null);
      return;
    }
    if (props.required && !value) {
      setError("It cannot be empty.");
      return;
    }
    busy.current = true;
    setSaving(true);
    try {
      await props.onSave(value);
      open.current = false;
      setEditing(false);
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setSaving(false);
      busy.current = false;
    }
  };
  const cancel = () => {
    open.current = false;
    setDraft(props.value);
    setEditing(false);
    setError(null);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      cancel();
    } else if (e.key === "Enter" && !(props.multiline && e.shiftKey)) {
      e.preventDefault();
      void save();
    }
  };

  if (props.readOnly) {
    return (
      <div class={`editable read-only ${props.class ?? ""} ${props.value ? "" : "is-empty"}`} title={props.readOnly} data-testid={props.testid} data-readonly="true">
        {props.value || <span class="muted">{props.multiline ? "No description." : props.placeholder}</span>}
      </div>
    );
  }
  if (!editing) {
    return (
      <div
        class={`editable ${props.class ?? ""} ${props.value ? "" : "is-empty"}`}
        role="button"
        tabIndex={0}
        title="Click to edit"
        data-testid={props.testid}
        onClick={() => setEditing(true)}
        onKeyDown={(e) => e.key === "Enter" && setEditing(true)}
      >
        {props.value || props.placeholder}
      </div>
    );
  }
  const common = {
    ref: field,
    value: draft,
    disabled: saving,
    "data-testid": `${props.testid}-input`,
    class: `editable-input ${props.class ?? ""}`,
    onInput: (e: Event) => setDraft((e.currentTarget as HTMLInputElement).value),
    onKeyDown,
    onBlur: () => {
      void save();
    },
  };
  return (
    <div class="editable-editing">
      {props.multiline ? <textarea rows={Math.min(10, Math.max(3, draft.split("\n").length + 1))} {...common} /> : <input {...common} />}
      <div class="editable-help">
        {error ? (
          <span class="editable-error" role="alert">
            {error}
          </span>
        ) : (
          <span>{props.multiline ? "Enter to save · Shift+Enter for a new line · Esc to cancel" : "Enter to save · Esc to cancel"}</span>
        )}
      </div>
    </div>
  );
}

/** Tags as chips: × removes one, the input adds (Enter or comma). */
export function TagEditor(props: { tags: string[]; onChange: (tags: string[]) => Promise<void>; readOnly?: string | null }) {
  const [draft, setDraft] = useState("");
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (adding) input.current?.focus();
  }, [adding]);

  const change = async (tags: string[]) => {
    try {
      await props.onChange(tags);
      setError(null);
      return true;
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return false;
    }
  };
  const add = async () => {
    const fresh = draft
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t && !props.tags.includes(t));
    if (fresh.length === 0) {
      setDraft("");
      return;
    }
    if (await change([...props.tags, ...new Set(fresh)])) setDraft("");
  };

  if (props.readOnly) {
    return (
      <div class="tag-editor" data-testid="tags" data-readonly="true" title={props.readOnly}>
        {props.tags.map((tag) => (
          <span class="tag-chip" key={tag} data-testid="tag" data-tag={tag}>
            {tag}
          </span>
        ))}
        {props.tags.length === 0 && <span class="muted">none</span>}
      </div>
    );
  }
  return (
    <div class="tag-editor" data-testid="tags">
      {props.tags.map((tag) => (
        <span class="tag-chip" key={tag} data-testid="tag" data-tag={tag}>
          {tag}
          <button
            type="button"
            class="tag-remove"
            aria-label={`Remove tag ${tag}`}
            data-testid="tag-remove"
            onClick={() => void change(props.tags.filter((t) => t !== tag))}
          >
            ×
          </button>
        </span>
      ))}
      {adding ? (
        <input
          ref={input}
          class="tag-input"
          placeholder="new tag"
          data-testid="tag-input"
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" || e.key === ",") {
              e.preventDefault();
              void add();
            } else if (e.key === "Escape") {
              setDraft("");
              setAdding(false);
            } else if (e.key === "Backspace" && !draft && props.tags.length) {
              void change(props.tags.slice(0, -1));
            }
          }}
          onBlur={() => {
            void add().then(() => setAdding(false));
          }}
        />
      ) : (
        <button type="button" class="tag-add" data-testid="tag-add" onClick={() => setAdding(true)}>
          + tag
        </button>
      )}
      {error && (
        <span class="editable-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
