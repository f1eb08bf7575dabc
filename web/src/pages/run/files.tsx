// The Files tab: the run's files (those it saved and those derived from its data), with sizes and downloads.
import { useEffect, useState } from "preact/hooks";
import { api, type Run, type RunFile } from "../../api";
import { Empty, ErrorBox } from "../../components/common";
import { formatAgo, formatTime } from "../../format";
import { formatBytes } from "./units";
import { isLive } from "./useRun";

const POLL_MS = 5000;

export function FilesTab({ run }: { run: Run }) {
  const [files, setFiles] = useState<RunFile[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const live = isLive(run);

  useEffect(() => {
    let stale = false;
    let timer = 0;
    const load = async () => {
      try {
        const found = await api.files(run.entity, run.project, run.id);
        if (stale) return;
        setFiles(found);
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

  if (error !== null && files === null) return <ErrorBox error={error} />;
  if (files === null) return <div class="tab-loading" aria-busy="true" />;
  if (files.length === 0) {
    return (
      <Empty title="No files">
        <p>Files the run saves appear here, with its console output, config and summary.</p>
      </Empty>
    );
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const now = Date.now() / 1000;
  return (
    <section class="run-section files-tab" data-testid="files-tab">
      <div class="run-section-head">
        <h2>
          Files <span class="count">{files.length}</span>
        </h2>
        <span class="muted">{formatBytes(total)} in all</span>
      </div>
      <table class="files-table">
        <thead>
          <tr>
            <th>Name</th>
            <th class="num">Size</th>
            <th>Updated</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {files.map((f) => {
            const url = api.fileUrl(run.entity, run.project, run.id, f.name);
            return (
              <tr key={f.name} data-testid="file-row" data-name={f.name}>
                <td>
                  <a href={url} target="_blank" rel="noreferrer" class="mono" data-testid="file-open">
                    {f.name}
                  </a>
                </td>
                <td class="num" data-testid="file-size" title={`${f.size.toLocaleString("en-US")} bytes`}>
                  {formatBytes(f.size)}
                </td>
                <td title={formatTime(f.updated_at)}>{formatAgo(f.updated_at, now)}</td>
                <td class="num">
                  <a href={url} download={f.name.split("/").pop()} data-testid="file-download">
                    Download
                  </a>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
