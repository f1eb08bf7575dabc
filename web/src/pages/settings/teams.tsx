// The teams tab: the teams I belong to with my role there; create a team.
import { useEffect, useState } from "preact/hooks";
import { accountsApi, type TeamSummary } from "../../accounts-api";
import { ErrorBox } from "../../components/common";
import { Link, navigate, paths } from "../../router";
import { refreshMe } from "../../session";

export function TeamsTab() {
  const [teams, setTeams] = useState<TeamSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [createError, setCreateError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = () => accountsApi.teams().then(setTeams, setError);
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) {
      setCreateError("Name the team: it becomes an entity, as in team-name/project.");
      return;
    }
    setBusy(true);
    setCreateError(null);
    try {
      await accountsApi.createTeam(name.trim());
      await refreshMe(); // the new team's admin role
      navigate(paths.team(name.trim()));
    } catch (err) {
      setCreateError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section data-testid="teams-tab">
      <form class="settings-form" onSubmit={(e) => void create(e)}>
        <label>
          New team
          <input value={name} placeholder="e.g. vision-lab" onInput={(e) => setName(e.currentTarget.value)} data-testid="team-name" />
        </label>
        <button type="submit" class="primary" disabled={busy} data-testid="team-create">
          Create team
        </button>
      </form>
      {createError && (
        <div class="auth-error" role="alert" data-testid="team-create-error">
          {createError}
        </div>
      )}
      {error !== null && <ErrorBox error={error} onRetry={() => void load()} />}
      {teams !== null && teams.length === 0 && <p class="muted" data-testid="teams-empty">You belong to no team yet.</p>}
      {teams !== null && teams.length > 0 && (
        <table class="settings-table" data-testid="teams-table">
          <thead>
            <tr>
              <th>Team</th>
              <th>Your role</th>
            </tr>
          </thead>
          <tbody>
            {teams.map((t) => (
              <tr key={t.name} data-testid="team-row" data-team={t.name}>
                <td>
                  <Link href={paths.team(t.name)} data-testid="team-link">
                    {t.name}
                  </Link>
                </td>
                <td data-testid="team-role">{t.role ?? <span class="muted">site admin</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
