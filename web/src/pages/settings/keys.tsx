// API keys: create one (shown once, with a copy button), list them by prefix, revoke.
import { useEffect, useState } from "preact/hooks";
import { accountsApi, type ApiKey, type NewApiKey } from "../../accounts-api";
import { Confirm, ErrorBox } from "../../components/common";
import { formatAgo, formatTime } from "../../format";

export function CopyButton({ text, testid }: { text: string; testid: string }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      // No clipboard on an insecure origin: the text is selected for Ctrl+C instead.
      setCopied(false);
    }
    window.setTimeout(() => setCopied(null), 1500);
  };
  return (
    <button type="button" onClick={() => void copy()} data-testid={testid}>
      {copied === true ? "Copied ✓" : copied === false ? "Select and copy" : "Copy"}
    </button>
  );
}

export function KeysTab() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<NewApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const load = () => accountsApi.keys().then(setKeys, setError);
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) {
      setCreateError("Name the key after where it will be used (a laptop, a CI job, a cluster).");
      return;
    }
    setCreating(true);
    setCreateError(null);
    try {
      setFresh(await accountsApi.createKey(name.trim()));
      setName("");
      await load();
    } catch (err) {
      setCreateError(err instanceof Error ? err.message : String(err));
    } finally {
      setCreating(false);
    }
  };
  const revoke = async (key: ApiKey) => {
    setRevoking(null);
    try {
      await accountsApi.revokeKey(key.id);
      if (fresh?.id === key.id) setFresh(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const now = Date.now() / 1000;
  return (
    <section data-testid="keys-tab">
      <p class="muted">
        A key lets a training machine log runs as you: <code>RUNYARD_API_KEY</code> for runyard's SDK, <code>WANDB_API_KEY</code>{" "}
        for the wandb client. Make one per machine or job, and revoke it when it is no longer used.
      </p>
      <form class="settings-form" onSubmit={(e) => void create(e)}>
        <label>
          New key's name
          <input value={name} placeholder="e.g. gpu-box-3" onInput={(e) => setName(e.currentTarget.value)} data-testid="key-name" />
        </label>
        <button type="submit" class="primary" disabled={creating} data-testid="key-create">
          Create key
        </button>
      </form>
      {createError && (
        <div class="auth-error" role="alert" data-testid="key-create-error">
          {createError}
        </div>
      )}
      {fresh && (
        <div class="new-key" data-testid="new-key" role="status">
          <strong>Key “{fresh.name}” created.</strong>
          <div class="secret">
            <code data-testid="new-key-value">{fresh.key}</code>
            <CopyButton text={fresh.key} testid="new-key-copy" />
          </div>
          <div class="warning">
            Copy it now: this is the only time runyard shows it. runyard keeps only a hash; a lost key cannot be shown again,
            only revoked and replaced.
          </div>
          <button type="button" onClick={() => setFresh(null)} data-testid="new-key-done" style={{ marginTop: "8px" }}>
            I have copied it
          </button>
        </div>
      )}
      {error !== null && <ErrorBox error={error} onRetry={() => void load()} />}
      {keys !== null && keys.length === 0 && <p class="muted" data-testid="keys-empty">You have no API keys yet.</p>}
      {keys !== null && keys.length > 0 && (
        <table class="settings-table" data-testid="keys-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={String(k.id)} data-testid="key-row" data-key-id={String(k.id)} data-prefix={k.prefix}>
                <td>{k.name}</td>
                <td>
                  <code data-testid="key-prefix">{k.prefix}…</code>
                </td>
                <td title={formatTime(k.created_at)}>{formatAgo(k.created_at, now)}</td>
                <td data-testid="key-last-used" title={k.last_used_at ? formatTime(k.last_used_at) : undefined}>
                  {k.last_used_at ? formatAgo(k.last_used_at, now) : <span class="muted">never</span>}
                </td>
                <td class="actions">
                  <button type="button" class="danger-outline" onClick={() => setRevoking(k)} data-testid="key-revoke">
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <Confirm
          title="Revoke this key?"
          message={
            <>
              Key <strong>{revoking.name}</strong> (<code>{revoking.prefix}…</code>) stops working at once: runs logging with it
              are refused from their next request. This cannot be undone.
            </>
          }
          confirmLabel="Revoke key"
          danger
          onConfirm={() => void revoke(revoking)}
          onCancel={() => setRevoking(null)}
        />
      )}
    </section>
  );
}
