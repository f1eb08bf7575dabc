// Who is using the app (GET /me), shared by every page, and what they may do (mirrors runyard.server.access).
//
// Local mode (`runyard ui`, /me says local=true) is one person who may do everything; on a server each visitor
// is a signed-in user with a role per entity, or anonymous (reads public projects and runs only).
import { useEffect, useState } from "preact/hooks";

export type Role = "admin" | "member" | "viewer";

export interface OidcProvider {
  name: string;
  label: string;
}

export interface Me {
  username: string;
  entity: string;
  local: boolean;
  anonymous: boolean;
  site_admin: boolean;
  roles: Record<string, Role | string>;
  /** The server has accounts (a team server, not local mode). */
  accounts: boolean;
  /** No user exists yet: the first admin is created through the first start's one-time /setup link. */
  setup_needed: boolean;
  oidc: OidcProvider[];
}

const RANK: Record<string, number> = { viewer: 1, member: 2, admin: 3 };

/** Fill what an older server's /me leaves out (it only knew local mode). */
export function readMe(raw: Partial<Me> & { local?: boolean }): Me {
  const local = raw.local !== false;
  return {
    username: raw.username ?? "",
    entity: raw.entity ?? "",
    local,
    anonymous: raw.anonymous ?? false,
    site_admin: raw.site_admin ?? false,
    roles: raw.roles ?? {},
    accounts: raw.accounts ?? !local,
    setup_needed: raw.setup_needed ?? false,
    oidc: Array.isArray(raw.oidc) ? raw.oidc : [],
  };
}

/** The user's role in `entity`, or null for an outsider (local users and site admins are admins everywhere). */
export function roleIn(me: Me | null, entity: string): string | null {
  if (!me) return null;
  if (me.local || me.site_admin) return "admin";
  if (me.anonymous) return null;
  return me.roles[entity] ?? null;
}

const atLeast = (me: Me | null, entity: string, role: Role) => (RANK[roleIn(me, entity) ?? ""] ?? 0) >= RANK[role]!;

/** May log, edit, stop and delete runs of `entity` (members and admins). */
export const canWrite = (me: Me | null, entity: string): boolean => !!me && !me.anonymous && atLeast(me, entity, "member");

/** May manage `entity`: members, project privacy. */
export const canAdmin = (me: Me | null, entity: string): boolean => !!me && !me.anonymous && atLeast(me, entity, "admin");

/** Signed in (or local): has a workspace of their own to save, keys and settings. */
export const signedIn = (me: Me | null): boolean => !!me && !me.anonymous;

/** Why `me` cannot change things of `entity`, for a hint beside a disabled control. */
export function readOnlyReason(me: Me | null, entity: string): string {
  if (!me) return "Loading who you are…";
  if (me.anonymous) return "Sign in to change this.";
  const role = roleIn(me, entity);
  if (role === "viewer") return `You are a viewer of ${entity}: ask one of its admins for the member role to change this.`;
  return `You are not a member of ${entity}: only its members can change this.`;
}

// --- the shared /me: loaded once, refreshed after signing in or out ---

let current: Me | null = null;
let loading: Promise<Me> | null = null;
const listeners = new Set<(me: Me | null) => void>();

export function currentMe(): Me | null {
  return current;
}

export function setMe(me: Me | null): void {
  current = me;
  listeners.forEach((fn) => fn(me));
}

/** Fetch /me again (after a sign-in, sign-out or a role change); every useMe() sees the new answer. */
export function refreshMe(): Promise<Me> {
  loading = fetch("/api/v1/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(async (response) => {
      if (!response.ok) throw new Error(`/me answered ${response.status}`);
      return readMe((await response.json()) as Partial<Me>);
    })
    .then(
      (me) => {
        setMe(me);
        return me;
      },
      (err: unknown) => {
        loading = null;
        throw err;
      },
    );
  return loading;
}

/** The current user; null until /me has answered. */
export function useMe(): Me | null {
  const [me, set] = useState<Me | null>(current);
  useEffect(() => {
    listeners.add(set);
    if (current) set(current);
    else if (!loading) refreshMe().catch(() => undefined);
    return () => {
      listeners.delete(set);
    };
  }, []);
  return me;
}
