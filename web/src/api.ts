// The REST API's client (docs/rest-api.md): one typed function per endpoint, one error type.

import { readMe, type Me } from "./session";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Project {
  entity: string;
  name: string;
  /** Private (members of the entity) or public (anyone); a server without accounts may leave it out. */
  visibility?: "private" | "public";
  run_count: number;
  created_at: number;
  last_activity: number;
}

export type RunState = "running" | "finished" | "failed" | "crashed" | "killed" | "preempting" | string;

export interface Run {
  entity: string;
  project: string;
  id: string;
  name: string;
  state: RunState;
  exit_code: number | null;
  notes: string | null;
  tags: string[];
  group: string | null;
  job_type: string | null;
  created_at: number;
  heartbeat_at: number;
  finished_at: number | null;
  duration: number;
  last_step: number;
  username: string;
  host: string;
  visibility: "private" | "public";
  stop_requested_at: number | null;
  preempting_at?: number | null;
  config: Record<string, Json>;
  summary: Record<string, Json>;
  metrics: Record<string, Record<string, Json>>;
  metadata?: Record<string, Json>;
}

export interface RunsQuery {
  filters?: Json | null;
  search?: string | null;
  order?: string;
  offset?: number;
  limit?: number;
}

export interface RunsPage {
  total: number;
  runs: Run[];
}

export interface RunGroup {
  value: Json;
  count: number;
  run_ids: string[];
}

export interface ProjectKeys {
  config: string[];
  summary: string[];
  history: string[];
  system: string[];
}

export interface SeriesQuery {
  runs: string[];
  keys: string[];
  x?: string;
  x_min?: number | null;
  x_max?: number | null;
  buckets?: number;
}

/** One (run, key) series: columnar buckets in x order (see docs/rest-api.md). */
export interface Series {
  run: string;
  key: string;
  x: number[];
  x_first: number;
  x_last: number;
  min: (number | null)[];
  max: (number | null)[];
  last: (number | null)[];
  count: number[];
}

export interface ConsoleLine {
  line_no: number;
  t: number;
  stream: "stdout" | "stderr";
  text: string;
}

export interface SystemSample {
  t: number;
  runtime: number;
  values: Record<string, number>;
}

export interface RunFile {
  name: string;
  size: number;
  updated_at: number;
}

export interface ArtifactVersion {
  id: number;
  entity: string;
  project: string;
  type: string;
  name: string;
  version: string;
  qualified_name: string;
  digest: string;
  aliases: string[];
  description: string | null;
  metadata: Record<string, Json>;
  size: number;
  file_count: number;
  created_at: number;
  logged_by: string | null;
}

export interface ArtifactTypeInfo {
  name: string;
  collections: { name: string; description: string | null; versions: number; keep_last: number | null }[];
}

export interface ArtifactFile {
  path: string;
  digest: string;
  size: number;
  ref: string | null;
  url: string | null;
}

export interface ArtifactDetail extends ArtifactVersion {
  files: ArtifactFile[];
  used_by: { entity: string; project: string; run_id: string }[];
}

export interface Workspace {
  settings: Record<string, Json>;
  updated_at: number | null;
}

/** An error the server reported, with its stable code and a message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds the server asked to wait before trying again (429's Retry-After), when it said. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** The value of a cookie the page may read (the session cookie itself is HttpOnly and never visible here). */
export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Headers every state-changing request of a signed-in browser carries: the CSRF token the server set in the
 * readable `runyard_csrf` cookie, echoed back (a page of another site can send the cookie, never read it). */
export function csrfHeaders(method: string): Record<string, string> {
  if (SAFE_METHODS.has(method.toUpperCase())) return {};
  const token = readCookie("runyard_csrf");
  return token ? { "X-CSRF-Token": token } : {};
}

type UnauthorizedHandler = (path: string, err: ApiError) => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/** Who is told when the server answers 401 (not signed in, or the session ended): the app sends the user to the
 * login page when the page needs it. Sign-in endpoints answer 401 for a wrong password and are left out. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler;
}

const BASE = "/api/v1";

// The server sends numbers JSON cannot carry as strings; history values, summary and config get them back.
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

export function num(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value in NON_FINITE) return NON_FINITE[value] ?? null;
  return null;
}

function numbers(values: unknown[]): (number | null)[] {
  return values.map(num);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...csrfHeaders(method) };
  const init: RequestInit = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(BASE + path, init);
  } catch (err) {
    throw new ApiError(0, "network", `Cannot reach the runyard server (${String(err)}). Is it still running?`);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    const retry = Number(response.headers.get("Retry-After"));
    const failure = new ApiError(
      response.status,
      err?.code ?? "error",
      err?.message ?? `${response.status} ${response.statusText}`,
      response.headers.has("Retry-After") && Number.isFinite(retry) ? retry : null,
    );
    if (response.status === 401 && onUnauthorized && !path.startsWith("/auth/") && !path.startsWith("/invites/")) {
      onUnauthorized(path, failure);
    }
    throw failure;
  }
  return data as T;
}

const seg = encodeURIComponent;
const projectPath = (entity: string, project: string) => `/projects/${seg(entity)}/${seg(project)}`;
const runPath = (entity: string, project: string, runId: string) => `/runs/${seg(entity)}/${seg(project)}/${seg(runId)}`;

export const api = {
  me: () => request<Partial<Me>>("GET", "/me").then(readMe),
  projects: (search = "") =>
    request<{ projects: Project[] }>("GET", `/projects${search ? `?search=${seg(search)}` : ""}`).then((r) => r.projects),
  project: (entity: string, project: string) => request<Project>("GET", projectPath(entity, project)),
  projectKeys: (entity: string, project: string) => request<ProjectKeys>("GET", `${projectPath(entity, project)}/keys`),
  workspace: (entity: string, project: string) => request<Workspace>("GET", `${projectPath(entity, project)}/workspace`),
  saveWorkspace: (entity: string, project: string, settings: Record<string, Json>) =>
    request<Workspace>("PUT", `${projectPath(entity, project)}/workspace`, { settings }),
  queryRuns: (entity: string, project: string, query: RunsQuery) =>
    request<RunsPage>("POST", `${projectPath(entity, project)}/runs/query`, query),
  groupRuns: (entity: string, project: string, query: RunsQuery & { group_by: string }) =>
    request<{ groups: RunGroup[] }>("POST", `${projectPath(entity, project)}/runs/groups`, query).then((r) => r.groups),
  series: async (entity: string, project: string, query: SeriesQuery) => {
    const r = await request<{ x: string; series: Series[] }>("POST", `${projectPath(entity, project)}/series`, query);
    for (const s of r.series) {
      s.min = numbers(s.min);
      s.max = numbers(s.max);
      s.last = numbers(s.last);
    }
    return r;
  },
  run: (entity: string, project: string, runId: string) => request<Run>("GET", runPath(entity, project, runId)),
  updateRun: (
    entity: string,
    project: string,
    runId: string,
    patch: Partial<Pick<Run, "name" | "notes" | "tags" | "visibility">>,
  ) => request<Run>("PATCH", runPath(entity, project, runId), patch),
  deleteRun: (entity: string, project: string, runId: string) =>
    request<void>("DELETE", runPath(entity, project, runId)),
  stopRun: (entity: string, project: string, runId: string) =>
    request<Run>("POST", `${runPath(entity, project, runId)}/stop`),
  markKilled: (entity: string, project: string, runId: string, reason: string | null = null) =>
    request<Run>("POST", `${runPath(entity, project, runId)}/mark-killed`, { reason }),
  runKeys: (entity: string, project: string, runId: string) =>
    request<{ history: string[]; system: string[] }>("GET", `${runPath(entity, project, runId)}/keys`),
  console: (entity: string, project: string, runId: string, after = -1, limit = 1000, search = "") =>
    request<{ lines: ConsoleLine[]; total: number; next_after: number }>(
      "GET",
      `${runPath(entity, project, runId)}/console?after=${after}&limit=${limit}${search ? `&search=${seg(search)}` : ""}`,
    ),
  system: (entity: string, project: string, runId: string, after = 0) =>
    request<{ samples: SystemSample[] }>("GET", `${runPath(entity, project, runId)}/system?after=${after}`),
  files: (entity: string, project: string, runId: string) =>
    request<{ files: RunFile[] }>("GET", `${runPath(entity, project, runId)}/files`).then((r) => r.files),
  runArtifacts: (entity: string, project: string, runId: string) =>
    request<{ logged: ArtifactVersion[]; used: ArtifactVersion[] }>("GET", `${runPath(entity, project, runId)}/artifacts`),
  projectArtifacts: (entity: string, project: string) =>
    request<{ types: ArtifactTypeInfo[] }>("GET", `/projects/${seg(entity)}/${seg(project)}/artifacts`).then((r) => r.types),
  collection: (entity: string, project: string, name: string) =>
    request<{ name: string; type: string; description: string | null; versions: ArtifactVersion[] }>(
      "GET",
      `/projects/${seg(entity)}/${seg(project)}/artifacts/${seg(name)}`,
    ),
  artifact: (entity: string, project: string, name: string, version: string) =>
    request<ArtifactDetail>("GET", `/projects/${seg(entity)}/${seg(project)}/artifacts/${seg(name)}/${seg(version)}`),
  fileUrl: (entity: string, project: string, runId: string, name: string) =>
    `${BASE}${runPath(entity, project, runId)}/files/${name.split("/").map(seg).join("/")}`,
};

// -- media (docs/rest-api.md, "Media") ----------------------------------------------------------------------

/** A W&B-shaped media reference as history holds it: {"_type": "image-file", "path": ..., ...}. */
export type MediaRef = { _type: string } & Record<string, Json>;

export interface MediaKey {
  key: string;
  type: string;
}

/** A custom chart (wandb.plot.*): its config spec `_wandb.visualize.<key>`, read from run `run_id`. */
export interface PlotSpec {
  key: string;
  run_id: string;
  spec: {
    panel_type?: string;
    panel_config?: { panelDefId?: string; fieldSettings?: Record<string, string>; stringSettings?: Record<string, string> };
  };
}

export interface MediaAtStep {
  steps: number[];
  step: number | null;
  items: { run_id: string; step: number; value: MediaRef }[];
}

export interface HistogramMatrix {
  steps: number[];
  steps_last: number[];
  counts: number[];
  edges: number[];
  values: number[];
  bins: number;
  max: number;
}

export interface TablePage {
  columns: string[];
  rows: Json[][];
  total: number;
  offset: number;
}

export interface TableQuery {
  offset?: number;
  limit?: number;
  sort?: string | null;
  desc?: boolean;
  q?: string;
}

const qs = (params: Record<string, string | number | boolean | null | undefined>) =>
  Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${seg(String(v))}`)
    .join("&");

export const mediaApi = {
  keys: (entity: string, project: string, runs: string[]) =>
    request<{ keys: MediaKey[]; plots: PlotSpec[] }>("GET", `${projectPath(entity, project)}/media/keys?${qs({ runs: runs.join(",") })}`),
  at: (entity: string, project: string, key: string, runs: string[], step: number | null) =>
    request<MediaAtStep>("GET", `${projectPath(entity, project)}/media/at?${qs({ key, runs: runs.join(","), step })}`),
  histogram: (entity: string, project: string, runId: string, key: string, buckets: number) =>
    request<HistogramMatrix>("GET", `${runPath(entity, project, runId)}/media/histogram?${qs({ key, buckets })}`),
  table: (entity: string, project: string, runId: string, path: string, query: TableQuery) =>
    request<TablePage>(
      "GET",
      `${runPath(entity, project, runId)}/media/table?${qs({ path, offset: query.offset, limit: query.limit, sort: query.sort, desc: query.desc, q: query.q })}`,
    ),
};
