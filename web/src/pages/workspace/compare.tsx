// Compare runs: the config and summary of the runs the charts draw, side by side, only the keys whose values
// differ (or are missing from some runs) unless "show all" is on.
import { useMemo, useState } from "preact/hooks";
import type { Json, Run } from "../../api";
import { Modal } from "../../components/common";
import { formatValue } from "../../format";
import { flatten, sortRows } from "../run/flatten";

interface DiffRow {
  section: "config" | "summary";
  key: string;
  values: (Json | undefined)[];
  differs: boolean;
}

const same = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b);

export function diffRows(runs: Run[]): DiffRow[] {
  const out: DiffRow[] = [];
  for (const section of ["config", "summary"] as const) {
    const flat = runs.map((r) => new Map(flatten(section === "config" ? r.config : r.summary).map((row) => [row.key, row.value])));
    const keys = sortRows([...new Set(flat.flatMap((m) => [...m.keys()]))].map((key) => ({ key, value: null }))).map((r) => r.key);
    for (const key of keys) {
      if (section === "summary" && key.startsWith("_")) continue; // _step, _runtime, _timestamp always differ
      const values = flat.map((m) => m.get(key));
      out.push({ section, key, values, differs: values.some((v) => !same(v, values[0])) });
    }
  }
  return out;
}

export function CompareRuns(props: { runs: Run[]; colorOf: (id: string) => string; onClose: () => void }) {
  const [all, setAll] = useState(false);
  const rows = useMemo(() => diffRows(props.runs), [props.runs]);
  const shown = rows.filter((r) => all || r.differs);
  const differing = rows.filter((r) => r.differs).length;
  return (
    <Modal title={`Compare ${props.runs.length} runs`} onClose={props.onClose} testid="compare">
      <div class="compare-head">
        <span class="muted" data-testid="compare-count">
          {differing} of {rows.length} keys differ
        </span>
        <label>
          <input type="checkbox" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} data-testid="compare-all" /> Show
          identical keys too
        </label>
      </div>
      <div class="compare-scroll">
        <table class="compare-table">
          <thead>
            <tr>
              <th />
              {props.runs.map((r) => (
                <th data-testid="compare-run" data-run-id={r.id}>
                  <span class="swatch static" style={{ background: props.colorOf(r.id) }} /> {r.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.length === 0 && (
              <tr>
                <td colSpan={props.runs.length + 1} class="muted">
                  These runs have the same config and summary.
                </td>
              </tr>
            )}
            {shown.map((r) => (
              <tr data-testid="compare-row" data-key={`${r.section}.${r.key}`} class={r.differs ? "differs" : ""}>
                <th scope="row">
                  <span class="muted">{r.section}.</span>
                  {r.key}
                </th>
                {r.values.map((v) => (
                  <td class={v === undefined ? "missing" : typeof v === "number" ? "num" : ""}>{v === undefined ? "—" : formatValue(v, r.key)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Modal>
  );
}
