// The Overview tab: description, the facts of where and how the run ran, artifact outputs, config and summary.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { Json, Run } from "../../api";
import { StateBadge } from "../../components/common";
import { formatDuration } from "../../format";
import { EditableText, TagEditor } from "./editable";
import { KeyValueTable } from "./kvtable";
import { commitWebUrl, formatBytes, remoteWebUrl } from "./units";
import type { RunPatch } from "./header";
import { canWrite, readOnlyReason, useMe } from "../../session";

type Meta = Record<string, Json>;

function str(meta: Meta, key: string): string | null {
  const v = meta[key];
  return typeof v === "string" && v ? v : typeof v === "number" ? String(v) : null;
}

function numberOf(meta: Meta, key: string): number | null {
  const v = meta[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function formatDateTime(t: number | null | undefined): string {
  if (t == null) return "–";
  return new Date(t * 1000).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

function Fact(props: { label: string; id: string; children: ComponentChildren; hint?: string }) {
  return (
    <div class="fact" data-testid={`field-${props.id}`}>
      <dt title={props.hint}>{props.label}</dt>
      <dd data-testid={`value-${props.id}`}>{props.children}</dd>
    </div>
  );
}

function Missing({ what }: { what: string }) {
  return <span class="muted">{what}</span>;
}

function CopyIcon() {
  return (
    <svg width="12" height="12" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.5">
      <rect x="5.5" y="5.5" width="8" height="8" rx="1.5" />
      <path d="M10.5 3.5v-1a1 1 0 0 0-1-1h-7a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1h1" />
    </svg>
  );
}

function Copyable({ text, testid }: { text: string; testid: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 1200);
    } catch {
      // No clipboard (an insecure origin): the text is selectable all the same.
    }
  };
  return (
    <span class="copyable">
      <code class="mono" data-testid={testid} title={text}>
        {text}
      </code>
      <button type="button" class="copy-btn" onClick={copy} title="Copy" aria-label="Copy">
        {copied ? "✓" : <CopyIcon />}
      </button>
    </span>
  );
}

function Hardware({ meta }: { meta: Meta }) {
  const cpuModel = str(meta, "cpu_model");
  const cores = numberOf(meta, "cpu_count");
  const logical = numberOf(meta, "cpu_count_logical");
  const gpu = str(meta, "gpu");
  const gpuCount = numberOf(meta, "gpu_count");
  const memory = numberOf(meta, "memory_total");
  const cuda = str(meta, "cuda");
  const cpuParts: string[] = [];
  if (cores != null) cpuParts.push(`${cores} ${cores === 1 ? "core" : "cores"}`);
  if (logical != null && logical !== cores) cpuParts.push(`${logical} logical`);
  if (cpuParts.length === 0 && !cpuModel) return <Missing what="not recorded" />;
  return (
    <div class="hardware">
      <div data-testid="hw-cpu">
        <span class="hw-label">CPU</span> {cpuModel ?? "unknown model"}
        {cpuParts.length > 0 && <span class="muted"> · {cpuParts.join(", ")}</span>}
      </div>
      <div data-testid="hw-gpu">
        <span class="hw-label">GPU</span>{" "}
        {gpu && gpuCount ? `${gpuCount} × ${gpu}` : gpuCount ? `${gpuCount}` : <span class="muted">none detected</span>}
        {cuda && <span class="muted"> · CUDA {cuda}</span>}
      </div>
      <div data-testid="hw-memory">
        <span class="hw-label">Memory</span> {memory != null ? formatBytes(memory) : <span class="muted">unknown</span>}
      </div>
    </div>
  );
}

function Git({ git }: { git: Json | undefined }) {
  if (!git || typeof git !== "object" || Array.isArray(git)) return <Missing what="not in a git repository" />;
  const remote = typeof git["remote"] === "string" ? git["remote"] : null;
  const commit = typeof git["commit"] === "string" ? git["commit"] : null;
  const branch = typeof git["branch"] === "string" ? git["branch"] : null;
  const dirty = git["dirty"] === true;
  const remoteUrl = remote ? remoteWebUrl(remote) : null;
  const commitUrl = commit ? commitWebUrl(remote, commit) : null;
  return (
    <div class="git">
      <div data-testid="git-remote">
        <span class="hw-label">Remote</span>{" "}
        {remote ? (
          remoteUrl ? (
            <a href={remoteUrl} target="_blank" rel="noreferrer" class="mono">
              {remote}
            </a>
          ) : (
            <code class="mono">{remote}</code>
          )
        ) : (
          <span class="muted">none</span>
        )}
      </div>
      <div data-testid="git-commit">
        <span class="hw-label">Commit</span>{" "}
        {commit ? (
          commitUrl ? (
            <a href={commitUrl} target="_blank" rel="noreferrer" class="mono" title={commit}>
              {commit}
            </a>
          ) : (
            <code class="mono">{commit}</code>
          )
        ) : (
          <span class="muted">no commit yet</span>
        )}
        {branch && <span class="muted"> on {branch}</span>}
        {dirty && (
          <span class="badge dirty" title="Tracked files had uncommitted changes when the run started">
            uncommitted changes
          </span>
        )}
      </div>
    </div>
  );
}

export function Overview(props: { run: Run; onPatch: (patch: RunPatch) => Promise<void> }) {
  const { run } = props;
  const meta: Meta = (run.metadata as Meta | undefined) ?? {};
  const python = str(meta, "python");
  const executable = str(meta, "executable");
  const command = str(meta, "command");
  const program = str(meta, "program");
  const cwd = str(meta, "cwd");
  const os = str(meta, "os");
  const version = str(meta, "runyard_version");
  const host = run.host || str(meta, "host");
  const author = run.username || str(meta, "username");
  const live = run.state === "running" || run.state === "preempting";
  const [privacyError, setPrivacyError] = useState<string | null>(null);
  const me = useMe();
  const writable = canWrite(me, run.entity);
  const readOnly = writable ? null : readOnlyReason(me, run.entity);
  const server = !!me && !me.local;

  return (
    <div class="overview" data-testid="overview">
      <section class="run-section">
        <EditableText
          value={run.notes ?? ""}
          placeholder="Add a description of this run…"
          multiline
          testid="run-description"
          class="run-description"
          readOnly={readOnly}
          onSave={(notes) => props.onPatch({ notes })}
        />
      </section>

      <section class="run-section">
        <dl class="facts">
          <Fact
            label="Privacy"
            id="privacy"
            hint={
              server
                ? `Private: members of ${run.entity} (and its viewers) can see the run. Public: anyone who can reach this server, signed in or not, can read it.`
                : "Private: only you can see the run. Public: anyone who can reach this server."
            }
          >
            <div class="segmented" role="radiogroup" aria-label="Privacy" aria-disabled={!writable} data-writable={writable ? "true" : "false"}>
              {(["private", "public"] as const).map((v) => (
                <button
                  type="button"
                  key={v}
                  role="radio"
                  aria-checked={run.visibility === v}
                  class={run.visibility === v ? "on" : ""}
                  data-testid={`privacy-${v}`}
                  disabled={!writable}
                  title={readOnly ?? undefined}
                  onClick={() => {
                    if (run.visibility === v) return;
                    setPrivacyError(null);
                    props.onPatch({ visibility: v }).catch((err: unknown) => setPrivacyError(err instanceof Error ? err.message : String(err)));
                  }}
                >
                  {v === "private" ? "Private" : "Public"}
                </button>
              ))}
            </div>
            {readOnly && me && (
              <div class="privacy-hint" data-testid="privacy-readonly">
                {readOnly}
              </div>
            )}
            {privacyError && (
              <div class="editable-error" role="alert">
                {privacyError}
              </div>
            )}
          </Fact>
          <Fact label="Tags" id="tags">
            <TagEditor tags={run.tags} onChange={(tags) => props.onPatch({ tags })} readOnly={readOnly} />
          </Fact>
          <Fact label="Author" id="author">
            {author || <Missing what="unknown" />}
          </Fact>
          <Fact label="State" id="state">
            <StateBadge state={run.state} />
            {run.exit_code != null && run.exit_code !== 0 && <span class="muted"> exit code {run.exit_code}</span>}
            {run.stop_requested_at != null && live && <span class="muted"> · stop requested</span>}
            {run.preempting_at != null && (
              <span class="badge state-crashed" data-testid="preempting" title="The training process said it is about to be preempted">
                {" "}
                preempting since {formatDateTime(run.preempting_at)}
              </span>
            )}
          </Fact>
          <Fact label="Start time" id="start">
            <time dateTime={new Date(run.created_at * 1000).toISOString()} title={new Date(run.created_at * 1000).toISOString()}>
              {formatDateTime(run.created_at)}
            </time>
          </Fact>
          <Fact label="Duration" id="duration" hint="How long the run ran (across resumes); still counting while it runs.">
            {formatDuration(run.duration)}
            {live && <span class="muted"> so far</span>}
          </Fact>
          <Fact label="Run path" id="path">
            <Copyable text={`${run.entity}/${run.project}/${run.id}`} testid="run-path" />
          </Fact>
          {run.group && (
            <Fact label="Group" id="group">
              {run.group}
            </Fact>
          )}
          {run.job_type && (
            <Fact label="Job type" id="job-type">
              {run.job_type}
            </Fact>
          )}
          <Fact label="Host name" id="host">
            {host || <Missing what="unknown" />}
          </Fact>
          <Fact label="OS" id="os">
            {os ?? <Missing what="not recorded" />}
          </Fact>
          <Fact label="Python version" id="python">
            {python ?? <Missing what="not recorded" />}
          </Fact>
          <Fact label="Python executable" id="executable">
            {executable ? <Copyable text={executable} testid="executable" /> : <Missing what="not recorded" />}
          </Fact>
          <Fact label="Command" id="command">
            {command ? <Copyable text={command} testid="command" /> : <Missing what="not recorded" />}
            {program && !program.startsWith("<") && <div class="muted small">program {program}</div>}
            {cwd && <div class="muted small">in {cwd}</div>}
          </Fact>
          <Fact label="System hardware" id="hardware">
            <Hardware meta={meta} />
          </Fact>
          <Fact label="runyard version" id="runyard-version">
            {version ?? <Missing what="not recorded" />}
          </Fact>
          <Fact label="Git" id="git">
            <Git git={meta["git"]} />
          </Fact>
        </dl>
      </section>

      <section class="run-section" data-testid="artifact-outputs">
        <div class="run-section-head">
          <h2>Artifact outputs</h2>
        </div>
        <p class="muted">
          No artifact outputs. runyard does not track artifacts yet; when it does, the artifacts this run logs with{" "}
          <code>run.log_artifact(…)</code> will be listed here.
        </p>
      </section>

      <KeyValueTable title="Config" data={run.config} testid="config" empty="No config: pass config={…} to init() or set run.config[…]." />
      <KeyValueTable title="Summary" data={run.summary} testid="summary" empty="No summary yet: it holds the last value of every metric logged." />
    </div>
  );
}
