export function ProjectsPage() {
  return <div data-testid="projects-page">Projects</div>;
}
