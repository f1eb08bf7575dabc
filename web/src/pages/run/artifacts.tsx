// The Artifacts tab: the artifact versions the run logged (outputs) and used (inputs); each opens to its files
// (with downloads), aliases, metadata, the run that made it and the runs that used it.
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type ArtifactDetail, type ArtifactVersion, type Run } from "../../api";
import { Empty, ErrorBox } from "../../components/common";
import { formatAgo, formatTime } from "../../format";
import { Link, paths } from "../../router";
import { formatBytes } from "./units";
import { isLive } from "./useRun";

const POLL_MS = 5000;

export function ArtifactsTab({ run }: { run: Run }) {
  const [found, setFound] = useState<{ logged: ArtifactVersion[]; used: ArtifactVersion[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const live = isLive(run);

  useEffect(() => {
    let stale = false;
    let timer = 0;
    const load = async () => {
      try {
        const answer = await api.runArtifacts(run.entity, run.project, run.id);
        if (stale) return;
        setFound(answer);
        setError(null);
      } catch (err) {
        if (!stale) setError(err);
      }
      if (!stale && live) timer = window.setTimeout(load, POLL_MS);
    };
    void load();
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [run.entity, run.project, run.id, live]);

  if (error !== null && found === null) return <ErrorBox error={error} />;
  if (found === null) return <div class="tab-loading" aria-busy="true" />;
  if (found.logged.length === 0 && found.used.length === 0) {
    return (
      <Empty title="No artifacts">
        <p>Artifacts the run logs (run.log_artifact) and uses (run.use_artifact) appear here.</p>
      </Empty>
    );
  }
  return (
    <div class="artifacts-tab" data-testid="artifacts-tab">
      <VersionList title="Artifact outputs" testid="artifact-outputs" versions={found.logged} />
      <VersionList title="Artifact inputs" testid="artifact-inputs" versions={found.used} />
    </div>
  );
}

function VersionList(props: { title: string; testid: string; versions: ArtifactVersion[] }) {
  const [open, setOpen] = useState<number | null>(null);
  const now = Date.now() / 1000;
  return (
    <section class="run-section" data-testid={props.testid}>
      <div class="run-section-head">
        <h2>
          {props.title} <span class="count">{props.versions.length}</span>
        </h2>
      </div>
      {props.versions.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table class="files-table">
          <thead>
            <tr>
              <th>Artifact</th>
              <th>Type</th>
              <th>Aliases</th>
              <th class="num">Files</th>
              <th class="num">Size</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {props.versions.map((v) => (
              <Fragment key={v.id}>
                <tr data-testid="artifact-row" data-name={v.qualified_name}>
                  <td>
                    <button
                      type="button"
                      class="link mono"
                      aria-expanded={open === v.id}
                      data-testid="artifact-open"
                      onClick={() => setOpen(open === v.id ? null : v.id)}
                    >
                      {v.qualified_name}
                    </button>
                  </td>
                  <td>{v.type}</td>
                  <td>{v.aliases.join(", ")}</td>
                  <td class="num">{v.file_count}</td>
                  <td class="num" title={`${v.size.toLocaleString("en-US")} bytes`}>
                    {formatBytes(v.size)}
                  </td>
                  <td title={formatTime(v.created_at)}>{formatAgo(v.created_at, now)}</td>
                </tr>
                {open === v.id && (
                  <tr>
                    <td colSpan={6}>
                      <VersionDetail version={v} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function VersionDetail({ version }: { version: ArtifactVersion }) {
  const [detail, setDetail] = useState<ArtifactDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stale = false;
    api
      .artifact(version.entity, version.project, version.name, version.version)
      .then((d) => !stale && setDetail(d))
      .catch((err) => !stale && setError(err));
    return () => {
      stale = true;
    };
  }, [version.id]);
  if (error !== null) return <ErrorBox error={error} />;
  if (detail === null) return <div class="tab-loading" aria-busy="true" />;
  return (
    <div class="artifact-detail" data-testid="artifact-detail">
      {detail.description && <p>{detail.description}</p>}
      <p class="muted">
        Logged by{" "}
        {detail.logged_by ? (
          <Link href={paths.run(detail.entity, detail.project, detail.logged_by)}>{detail.logged_by}</Link>
        ) : (
          "a deleted run"
        )}
        {detail.used_by.length > 0 && (
          <>
            {"; used by "}
            {detail.used_by.map((u, i) => (
              <Fragment key={u.run_id}>
                {i > 0 && ", "}
                <Link href={paths.run(u.entity, u.project, u.run_id)} data-testid="artifact-user">
                  {u.run_id}
                </Link>
              </Fragment>
            ))}
          </>
        )}
        {" · "}
        <span class="mono" title="manifest digest">
          {detail.digest.slice(0, 12)}
        </span>
      </p>
      <LineageGraph detail={detail} />
      {Object.keys(detail.metadata).length > 0 && (
        <pre class="mono artifact-metadata" data-testid="artifact-metadata">
          {JSON.stringify(detail.metadata, null, 2)}
        </pre>
      )}
      <table class="files-table">
        <tbody>
          {detail.files.map((f) => (
            <tr key={f.path} data-testid="artifact-file" data-name={f.path}>
              <td class="mono">{f.ref ? <span title={f.ref}>{f.path} (reference)</span> : f.path}</td>
              <td class="num">{formatBytes(f.size)}</td>
              <td class="num">
                {f.url ? (
                  <a href={f.url} download={f.path.split("/").pop()} data-testid="artifact-file-download">
                    Download
                  </a>
                ) : (
                  <span class="muted mono">{f.ref}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const NODE_W = 150;
const NODE_H = 28;
const ROW = 40;

/** The version's lineage, one hop each way: the run that logged it → the version → the runs that used it. */
function LineageGraph({ detail }: { detail: ArtifactDetail }) {
  const users = detail.used_by;
  const rows = Math.max(1, users.length);
  const height = rows * ROW + 8;
  const mid = height / 2;
  const x = [8, 8 + NODE_W + 60, 8 + 2 * (NODE_W + 60)];
  const userY = (i: number) => 4 + i * ROW + (ROW - NODE_H) / 2 + NODE_H / 2;
  const node = (cx: number, cy: number, label: string, kind: string, href?: string) => {
    const box = (
      <g data-testid={`lineage-${kind}`} data-name={label}>
        <rect
          x={cx}
          y={cy - NODE_H / 2}
          width={NODE_W}
          height={NODE_H}
          rx={kind === "artifact" ? 14 : 4}
          class={`lineage-node lineage-${kind}`}
        />
        <text x={cx + NODE_W / 2} y={cy + 4} text-anchor="middle" class="lineage-label">
          {label.length > 20 ? `${label.slice(0, 19)}…` : label}
        </text>
      </g>
    );
    return href ? <a href={href}>{box}</a> : box;
  };
  return (
    <svg
      class="lineage-graph"
      data-testid="lineage-graph"
      width={x[2]! + NODE_W + 8}
      height={height}
      role="img"
      aria-label="lineage"
    >
      {detail.logged_by && (
        <line x1={x[0]! + NODE_W} y1={mid} x2={x[1]!} y2={mid} class="lineage-edge" />
      )}
      {users.map((_, i) => (
        <line key={i} x1={x[1]! + NODE_W} y1={mid} x2={x[2]!} y2={userY(i)} class="lineage-edge" />
      ))}
      {node(x[0]!, mid, detail.logged_by ?? "deleted run", "run",
        detail.logged_by ? paths.run(detail.entity, detail.project, detail.logged_by) : undefined)}
      {node(x[1]!, mid, detail.qualified_name, "artifact")}
      {users.map((u, i) => (
        <Fragment key={u.run_id}>{node(x[2]!, userY(i), u.run_id, "run", paths.run(u.entity, u.project, u.run_id))}</Fragment>
      ))}
    </svg>
  );
}
