// Checking a regular expression before it is sent: the server matches patterns with RE2 (linear time), which
// refuses lookaround, backreferences and the like. A pattern that cannot work is reported here, at once, and
// never sent: a live page would otherwise repeat the failing query at every refresh.

const MAX_LENGTH = 4096; // the server's limit (runyard.store.patterns.MAX_PATTERN_LENGTH)

const UNSUPPORTED: [RegExp, string][] = [
  [/\(\?=/, "lookahead (?=...)"],
  [/\(\?!/, "negative lookahead (?!...)"],
  [/\(\?<=/, "lookbehind (?<=...)"],
  [/\(\?<!/, "negative lookbehind (?<!...)"],
  [/\(\?>/, "atomic groups (?>...)"],
  [/\(\?P=/, "named backreferences (?P=name)"],
  [/\\[1-9]|\\k</, "backreferences (\\1, \\k<name>)"],
  [/(^|[^\\])[*+?}]\+/, "possessive quantifiers (*+, ++, ?+)"],
];

/** Why `pattern` cannot be a search (null when it can), in the server's words; `what` names it ("search"). */
export function regexProblem(pattern: string, what = "search"): string | null {
  const shown = pattern.length > 80 ? `${pattern.slice(0, 77)}...` : pattern;
  if (pattern.length > MAX_LENGTH) return `${what}: the pattern is ${pattern.length} characters long; at most ${MAX_LENGTH}`;
  const lacking = UNSUPPORTED.filter(([re]) => re.test(pattern)).map(([, name]) => name);
  if (lacking.length)
    return `${what} '${shown}' uses ${lacking.join(", ")}, which runyard does not support: patterns are matched in linear time (RE2 syntax)`;
  // RE2 syntax JavaScript lacks, made JavaScript's for this check only: inline flags and (?P<name>...).
  const js = pattern.replace(/^\(\?[imsU]+\)/, "").replace(/\(\?P</g, "(?<");
  try {
    new RegExp(js, "i");
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/\w*: /, "") : String(err);
    return `${what} '${shown}' is not a valid regular expression (${reason}); escape special characters such as ( [ + * ? with a backslash to match them literally`;
  }
  return null;
}
