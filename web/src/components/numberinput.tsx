// A number box that live refreshes never overwrite: while it has the focus it shows what the user typed, and the
// value it was given is shown again only once the user leaves it (or commits with Enter).
import { useState } from "preact/hooks";

export function NumberInput(props: {
  value: number;
  min: number;
  max: number;
  /** Called with a valid number when the user commits (Enter, leaving the box, the spinner). */
  onCommit: (n: number) => void;
  class?: string;
  title?: string;
  testid?: string;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const commit = (text: string) => {
    const n = Math.round(Number(text));
    if (text.trim() !== "" && Number.isFinite(n) && n >= props.min) props.onCommit(Math.min(props.max, n));
  };
  return (
    <input
      type="number"
      min={props.min}
      max={props.max}
      class={props.class}
      title={props.title}
      value={draft ?? String(props.value)}
      onFocus={(e) => setDraft((e.target as HTMLInputElement).value)}
      onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
      onChange={(e) => commit((e.target as HTMLInputElement).value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") commit((e.target as HTMLInputElement).value);
        if (e.key === "Escape") {
          setDraft(null);
          (e.target as HTMLInputElement).blur();
        }
      }}
      onBlur={() => setDraft(null)}
      data-testid={props.testid}
      data-editing={draft !== null ? "true" : "false"}
    />
  );
}
