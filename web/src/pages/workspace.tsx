export function WorkspacePage(props: { entity: string; project: string }) {
  return <div data-testid="workspace-page">{props.project}</div>;
}
