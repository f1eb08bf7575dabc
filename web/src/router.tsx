// A small client-side router: the server answers every app path with index.html.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "projects" }
  | { page: "workspace"; entity: string; project: string }
  | { page: "artifacts"; entity: string; project: string }
  | { page: "run"; entity: string; project: string; runId: string; tab: string }
  | { page: "sweep"; entity: string; project: string; sweepId: string }
  | { page: "login"; next: string }
  | { page: "setup"; token: string }
  | { page: "invite"; token: string }
  | { page: "settings"; tab: string }
  | { page: "team"; team: string }
  | { page: "missing"; path: string };

/** Pages that only make sense signed in: a 401 there sends the visitor to the login page. */
export const LOGIN_PAGES = new Set<Route["page"]>(["settings", "team"]);

/** A `next` the login page may go to: a path of this app, never another site (`//evil`, `https:`). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

export function parseRoute(pathname: string, search: string): Route {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: "projects" };
  const query = new URLSearchParams(search);
  // The account pages come first: their first segments are names no entity may take.
  if (parts.length === 1 && parts[0] === "login") return { page: "login", next: safeNext(query.get("next")) };
  if (parts.length === 1 && parts[0] === "setup") return { page: "setup", token: query.get("token") ?? "" };
  if (parts.length === 2 && parts[0] === "invite") return { page: "invite", token: parts[1]! };
  if (parts.length === 1 && parts[0] === "invite") return { page: "invite", token: query.get("token") ?? "" };
  if (parts.length === 1 && parts[0] === "settings") return { page: "settings", tab: query.get("tab") ?? "keys" };
  if (parts.length === 3 && parts[0] === "settings" && parts[1] === "teams") return { page: "team", team: parts[2]! };
  if (parts.length === 2) return { page: "workspace", entity: parts[0]!, project: parts[1]! };
  if (parts.length === 3 && parts[2] === "artifacts") return { page: "artifacts", entity: parts[0]!, project: parts[1]! };
  if (parts.length === 4 && parts[2] === "runs") {
    const tab = new URLSearchParams(search).get("tab") ?? "overview";
    return { page: "run", entity: parts[0]!, project: parts[1]!, runId: parts[3]!, tab };
  }
  if (parts.length === 4 && parts[2] === "sweeps") {
    return { page: "sweep", entity: parts[0]!, project: parts[1]!, sweepId: parts[3]! };
  }
  return { page: "missing", path: pathname };
}

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((fn) => fn());
}

export function useRoute(): Route {
  const read = () => parseRoute(location.pathname, location.search);
  const [route, setRoute] = useState<Route>(read);
  useEffect(() => {
    const update = () => setRoute(read());
    listeners.add(update);
    window.addEventListener("popstate", update);
    // A page may have navigated while it first drew (its effects run before this one): catch up.
    update();
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}

export const paths = {
  projects: () => "/",
  workspace: (entity: string, project: string) => `/${encodeURIComponent(entity)}/${encodeURIComponent(project)}`,
  artifacts: (entity: string, project: string) =>
    `/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/artifacts`,
  run: (entity: string, project: string, runId: string, tab?: string) =>
    `/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/runs/${encodeURIComponent(runId)}${
      tab && tab !== "overview" ? `?tab=${encodeURIComponent(tab)}` : ""
    }`,
  login: (next?: string) => (next && next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login"),
  settings: (tab?: string) => (tab && tab !== "keys" ? `/settings?tab=${encodeURIComponent(tab)}` : "/settings"),
  team: (team: string) => `/settings/teams/${encodeURIComponent(team)}`,
  sweep: (entity: string, project: string, sweepId: string) =>
    `/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/sweeps/${encodeURIComponent(sweepId)}`,
};

/** An in-app link: a real <a href> (open in new tab works), navigating without a reload on plain clicks. */
export function Link(props: { href: string; children: ComponentChildren } & JSX.HTMLAttributes<HTMLAnchorElement>) {
  const { href, children, ...rest } = props;
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
