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
