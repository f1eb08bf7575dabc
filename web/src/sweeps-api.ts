// The REST API's sweep endpoints (docs/rest-api.md, "Sweeps").
import { request, type Json, type Run } from "./api";

export type SweepState = "RUNNING" | "PAUSED" | "FINISHED" | "CANCELED" | string;

export interface Sweep {
  entity: string;
  project: string;
  id: string;
  name: string;
  method: string;
  state: SweepState;
  config: Record<string, Json>;
  created_at: number;
  updated_at: number;
  run_count: number;
}

export interface SweepRun {
  run_id: string;
  params: Record<string, Json>;
  stopped_by_sweep: string | null;
  run: Run | null;
}

export interface Importance {
  param: string;
  correlation: number | null;
  importance: number | null;
}

export interface SweepDetail {
  sweep: Sweep;
  params: string[];
  metrics: { name: string; goal: "minimize" | "maximize" }[];
  runs: SweepRun[];
  best_run_id: string | null;
  pareto_front: string[];
  importance: Importance[];
}

const seg = encodeURIComponent;
const sweepPath = (entity: string, project: string, id: string) => `/sweeps/${seg(entity)}/${seg(project)}/${seg(id)}`;

export const sweepsApi = {
  sweeps: (entity: string, project: string) =>
    request<{ sweeps: Sweep[] }>("GET", `/projects/${seg(entity)}/${seg(project)}/sweeps`).then((r) => r.sweeps),
  sweep: (entity: string, project: string, id: string) => request<SweepDetail>("GET", sweepPath(entity, project, id)),
  control: (entity: string, project: string, id: string, action: "pause" | "resume" | "stop" | "cancel") =>
    request<Sweep>("POST", `${sweepPath(entity, project, id)}/${action}`),
};
