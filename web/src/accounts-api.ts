// The accounts endpoints (docs/accounts.md): signing in, invitations, API keys, teams, users, privacy.
import { request, type Project } from "./api";
import { readMe, type Me, type Role } from "./session";

export interface ApiKey {
  id: string | number;
  name: string;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
}

/** A key as created: the only time the whole key is shown. */
export interface NewApiKey extends ApiKey {
  key: string;
}

export interface Invite {
  team: string;
  role: Role;
  expires_at: number | null;
}

export interface CreatedInvite {
  token: string;
  url: string;
  expires_at: number | null;
}

export interface TeamSummary {
  name: string;
  role: Role | null;
}

export interface TeamMember {
  username: string;
  role: Role;
}

export interface Team {
  name: string;
  members: TeamMember[];
}

export interface UserInfo {
  username: string;
  site_admin: boolean;
  created_at?: number | null;
}

const seg = encodeURIComponent;

/** A list the server may answer bare (`[...]`) or wrapped (`{keys: [...]}`). */
function listOf<T>(answer: unknown, field: string): T[] {
  if (Array.isArray(answer)) return answer as T[];
  const inner = (answer as Record<string, unknown> | null)?.[field];
  return Array.isArray(inner) ? (inner as T[]) : [];
}

export const accountsApi = {
  login: (username: string, password: string) =>
    request<Partial<Me>>("POST", "/auth/login", { username, password }).then(readMe),
  logout: () => request<void>("POST", "/auth/logout"),
  setup: (token: string, username: string, password: string) =>
    request<Partial<Me>>("POST", "/auth/setup", { token, username, password }).then(readMe),
  invite: (token: string) => request<Invite>("GET", `/invites/${seg(token)}`),
  /** Accept an invitation: a new user with `username` and `password`, or (both null) the signed-in user joins. */
  acceptInvite: (token: string, account: { username: string; password: string } | null) =>
    request<Partial<Me> | null>("POST", `/invites/${seg(token)}/accept`, account ?? {}),
  createInvite: (team: string, role: Role, expiresHours: number) =>
    request<CreatedInvite>("POST", "/invites", { team, role, expires_hours: expiresHours }),

  keys: () => request<unknown>("GET", "/keys").then((r) => listOf<ApiKey>(r, "keys")),
  createKey: (name: string) => request<NewApiKey>("POST", "/keys", { name }),
  revokeKey: (id: string | number) => request<void>("DELETE", `/keys/${seg(String(id))}`),

  teams: () => request<unknown>("GET", "/teams").then((r) => listOf<TeamSummary>(r, "teams")),
  createTeam: (name: string) => request<unknown>("POST", "/teams", { name }),
  team: (name: string) => request<Team>("GET", `/teams/${seg(name)}`),
  setMember: (team: string, username: string, role: Role) =>
    request<unknown>("PUT", `/teams/${seg(team)}/members/${seg(username)}`, { role }),
  removeMember: (team: string, username: string) => request<void>("DELETE", `/teams/${seg(team)}/members/${seg(username)}`),

  users: () => request<unknown>("GET", "/users").then((r) => listOf<UserInfo>(r, "users")),
  createUser: (username: string, password: string, siteAdmin: boolean) =>
    request<UserInfo>("POST", "/users", { username, password, site_admin: siteAdmin }),

  setProjectVisibility: (entity: string, project: string, visibility: "private" | "public") =>
    request<Project>("PATCH", `/projects/${seg(entity)}/${seg(project)}`, { visibility }),
};

/** Where single sign-on with `provider` starts; the server comes back to `next` once signed in. */
export const oidcLoginUrl = (provider: string, next: string) =>
  `/api/v1/auth/oidc/${seg(provider)}/login?next=${seg(next)}`;
