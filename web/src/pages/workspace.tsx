// The project workspace (/{entity}/{project}): see pages/workspace/page.tsx.
export { WorkspacePage } from "./workspace/page";
