// Byte sizes and git remotes as people read them.

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return "–";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** The web page of a git remote (GitHub, GitLab, Bitbucket and the like), or null when it has none we know. */
export function remoteWebUrl(remote: string): string | null {
  let url = remote.trim();
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(url); // git@github.com:owner/repo.git
  if (scp) url = `https://${scp[1]}/${scp[2]}`;
  else if (url.startsWith("ssh://")) url = url.replace(/^ssh:\/\/(?:[^@/]+@)?([^/:]+)(?::\d+)?/, "https://$1");
  if (!/^https?:\/\//.test(url)) return null;
  url = url.replace(/\/\/[^@/]+@/, "//").replace(/\.git$/, "").replace(/\/$/, "");
  return url;
}

export function commitWebUrl(remote: string | null | undefined, commit: string): string | null {
  const web = remote ? remoteWebUrl(remote) : null;
  if (!web) return null;
  const host = new URL(web).host;
  if (host.includes("bitbucket")) return `${web}/commits/${commit}`;
  if (host.includes("gitlab")) return `${web}/-/commit/${commit}`;
  return `${web}/commit/${commit}`;
}
