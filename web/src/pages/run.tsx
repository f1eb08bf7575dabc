// The run page (`/{entity}/{project}/runs/{id}?tab=...`): Overview, Charts, System, Logs and Files of one run.
import { api } from "../api";
import { useRunColor } from "../colors";
import { Empty, ErrorBox } from "../components/common";
import { Link, paths } from "../router";
import { ChartsTab } from "./run/charts";
import { ArtifactsTab } from "./run/artifacts";
import { FilesTab } from "./run/files";
import { RunHeader, TABS, type RunPatch } from "./run/header";
import { LogsTab } from "./run/logs";
import { Overview } from "./run/overview";
import { SystemTab } from "./run/system";
import { useRun } from "./run/useRun";
import { useMe } from "../session";
import "./run/run.css";

export function RunPage(props: { entity: string; project: string; runId: string; tab: string }) {
  const { entity, project, runId } = props;
  const { run, error, missing, setRun, reload } = useRun(entity, project, runId);
  const color = useRunColor(entity, project, runId);
  const tab = TABS.some((t) => t.id === props.tab) ? props.tab : "overview";
  const me = useMe();

  if (missing) {
    return (
      <Empty title="No such run">
        <p>
          There is no run <code>{runId}</code> in {entity}/{project}: it was deleted, or the link is wrong (runs are
          addressed by id, not name). <Link href={paths.workspace(entity, project)}>See the project's runs</Link>.
        </p>
        {me?.anonymous && (
          <p data-testid="private-hint">
            If it is a private run, <Link href={paths.login(location.pathname + location.search)}>sign in</Link> as a member of{" "}
            {entity} to see it.
          </p>
        )}
      </Empty>
    );
  }
  if (!run) {
    if (error) return <ErrorBox error={error} onRetry={reload} />;
    return (
      <div class="run-page" data-testid="run-page" aria-busy="true">
        <div class="run-skeleton" />
      </div>
    );
  }

  const onPatch = async (patch: RunPatch) => {
    setRun(await api.updateRun(run.entity, run.project, run.id, patch));
  };

  return (
    <div class="run-page" data-testid="run-page" data-run-id={run.id} data-tab={tab}>
      <RunHeader run={run} tab={tab} onPatch={onPatch} onRunChanged={setRun} color={color} />
      {error !== null && (
        <div class="run-stale muted" role="status">
          Could not refresh the run ({error instanceof Error ? error.message : String(error)}); showing what was last loaded.
        </div>
      )}
      <div class={`run-body run-body-${tab}`}>
        {tab === "overview" && <Overview run={run} onPatch={onPatch} />}
        {tab === "charts" && <ChartsTab run={run} color={color} />}
        {tab === "system" && <SystemTab run={run} />}
        {tab === "logs" && <LogsTab run={run} />}
        {tab === "files" && <FilesTab run={run} />}
        {tab === "artifacts" && <ArtifactsTab run={run} />}
      </div>
    </div>
  );
}
