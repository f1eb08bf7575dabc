export function RunPage(props: { entity: string; project: string; runId: string; tab: string }) {
  return <div data-testid="run-page">{props.runId} {props.tab}</div>;
}
