// A project's artifacts (`/{entity}/{project}/artifacts`): types and their collections on the left; a collection's
// versions (aliases, size, files, the run that logged each) on the right, each opening to its files and lineage.
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type ArtifactTypeInfo, type ArtifactVersion } from "../api";
import { Empty, ErrorBox } from "../components/common";
import { formatAgo, formatTime } from "../format";
import { Link, paths } from "../router";
import { VersionDetail } from "./run/artifacts";
import { formatBytes } from "./run/units";

export function ArtifactsPage({ entity, project }: { entity: string; project: string }) {
  const [types, setTypes] = useState<ArtifactTypeInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string | null>(null);

  useEffect(() => {
    let stale = false;
    api
      .projectArtifacts(entity, project)
      .then((found) => {
        if (stale) return;
        setTypes(found);
        const first = found[0]?.collections[0];
        if (first) setSelected((current) => current ?? first.name);
      })
      .catch((err) => !stale && setError(err));
    return () => {
      stale = true;
    };
  }, [entity, project]);

  if (error !== null) return <ErrorBox error={error} />;
  if (types === null) return <div class="tab-loading" aria-busy="true" />;
  if (types.length === 0) {
    return (
      <Empty title="No artifacts">
        <p>
          Artifacts logged by the runs of {project} (run.log_artifact) appear here.{" "}
          <Link href={paths.workspace(entity, project)}>Back to the runs</Link>.
        </p>
      </Empty>
    );
  }
  return (
    <div class="artifacts-page artifacts-tab" data-testid="artifacts-page">
      <nav class="artifact-types" aria-label="artifact types">
        {types.map((t) => (
          <section key={t.name} data-testid="artifact-type" data-name={t.name}>
            <h3>{t.name}</h3>
            {t.collections.map((c) => (
              <button
                type="button"
                key={c.name}
                class={`link${selected === c.name ? " selected" : ""}`}
                data-testid="artifact-collection"
                data-name={c.name}
                aria-pressed={selected === c.name}
                onClick={() => setSelected(c.name)}
              >
                {c.name} <span class="count">{c.versions}</span>
              </button>
            ))}
          </section>
        ))}
      </nav>
      <div class="artifact-versions">
        {selected !== null && <Versions key={selected} entity={entity} project={project} name={selected} />}
      </div>
    </div>
  );
}

function Versions(props: { entity: string; project: string; name: string }) {
  const [found, setFound] = useState<{ type: string; description: string | null; versions: ArtifactVersion[] } | null>(
    null,
  );
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<number | null>(null);
  useEffect(() => {
    let stale = false;
    api
      .collection(props.entity, props.project, props.name)
      .then((c) => !stale && setFound(c))
      .catch((err) => !stale && setError(err));
    return () => {
      stale = true;
    };
  }, [props.entity, props.project, props.name]);
  if (error !== null) return <ErrorBox error={error} />;
  if (found === null) return <div class="tab-loading" aria-busy="true" />;
  const now = Date.now() / 1000;
  return (
    <section class="run-section" data-testid="artifact-versions">
      <div class="run-section-head">
        <h2>
          {props.name} <span class="count">{found.versions.length}</span>
        </h2>
        <span class="muted">{found.type}</span>
      </div>
      {found.description && <p>{found.description}</p>}
      <table class="files-table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Aliases</th>
            <th class="num">Files</th>
            <th class="num">Size</th>
            <th>Logged by</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {found.versions.map((v) => (
            <Fragment key={v.id}>
              <tr data-testid="artifact-version" data-name={v.version}>
                <td>
                  <button
                    type="button"
                    class="link mono"
                    aria-expanded={open === v.id}
                    data-testid="artifact-version-open"
                    onClick={() => setOpen(open === v.id ? null : v.id)}
                  >
                    {v.version}
                  </button>
                </td>
                <td data-testid="artifact-aliases">{v.aliases.join(", ")}</td>
                <td class="num">{v.file_count}</td>
                <td class="num" title={`${v.size.toLocaleString("en-US")} bytes`}>
                  {formatBytes(v.size)}
                </td>
                <td>
                  {v.logged_by ? (
                    <Link href={paths.run(v.entity, v.project, v.logged_by)}>{v.logged_by}</Link>
                  ) : (
                    <span class="muted">deleted run</span>
                  )}
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
    </section>
  );
}
