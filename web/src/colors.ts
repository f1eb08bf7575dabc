// Run colours. A run gets its colour once, the first time the app shows it, from a rotation over the strong
// colours (consecutive runs differ); the colour is saved with the project's workspace (`runColors`), so every view
// (search, filters, grouping, new runs starting) and the run page show the same one until the user picks another
// (`colors`, which wins).
import { useEffect, useState } from "preact/hooks";
import { api, type Json } from "./api";
import { currentMe, signedIn } from "./session";

export const PALETTE = [
  "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
  "#469990", "#800000", "#808000", "#000075", "#bfef45", "#dcbeff", "#ffd8b1", "#a9a9a9",
];

const luminance = (hex: string) => {
  const n = parseInt(hex.slice(1), 16);
  return (0.2126 * ((n >> 16) & 255) + 0.7152 * ((n >> 8) & 255) + 0.0722 * (n & 255)) / 255;
};
/** The palette's colours that read well as thin lines (no pastels): the rotation new runs take theirs from. */
export const STRONG = PALETTE.filter((c) => luminance(c) < 0.62);

/** The n-th colour of the rotation. */
export const rotationColor = (n: number): string => STRONG[((n % STRONG.length) + STRONG.length) % STRONG.length]!;

/** A colour from the run id alone: only for a run whose project's workspace cannot be read. */
export function defaultColor(runId: string): string {
  let h = 2166136261;
  for (let i = 0; i < runId.length; i++) {
    h ^= runId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return STRONG[(h >>> 0) % STRONG.length]!;
}

const isObj = (v: Json | undefined): v is Record<string, Json> => !!v && typeof v === "object" && !Array.isArray(v);

/** The colour a run has in its project's saved workspace settings, if any: the user's pick, then the assigned. */
export function savedColor(settings: Record<string, Json>, id: string): string | null {
  for (const map of [settings.colors, settings.runColors]) {
    if (isObj(map) && typeof map[id] === "string") return map[id] as string;
  }
  return null;
}

/** The run page's colour for a run: the workspace's; a run no workspace showed yet gets its colour here, saved. */
export function useRunColor(entity: string, project: string, runId: string): string | null {
  const [color, setColor] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.workspace(entity, project).then(
      (ws) => {
        const s = ws.settings ?? {};
        let c = savedColor(s, runId);
        if (!c) {
          const seq = typeof s.colorSeq === "number" ? s.colorSeq : 0;
          c = rotationColor(seq);
          const runColors = { ...(isObj(s.runColors) ? s.runColors : {}), [runId]: c };
          if (signedIn(currentMe())) void api.saveWorkspace(entity, project, { ...s, runColors, colorSeq: seq + 1 }).catch(() => undefined);
        }
        if (live) setColor(c);
      },
      () => live && setColor(defaultColor(runId)),
    );
    return () => {
      live = false;
    };
  }, [entity, project, runId]);
  return color;
}
