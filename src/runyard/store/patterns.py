"""The regular expressions of run filters (``$regex``) and of the run search: RE2, matched in linear time.

Python's ``re`` backtracks: ``(a+)+$`` against a name of 28 ``a`` takes minutes, ``^(a|a?)+$`` longer, and
while it runs it holds the interpreter lock, so a server answers nothing else, not even ``/health``. Every
pattern a filter or a search brings is therefore compiled with RE2 (the ``google-re2`` package), whose
matching time grows linearly with the text whatever the pattern, and which releases the interpreter lock
while it matches.

The syntax is RE2's (https://github.com/google/re2/wiki/Syntax): Python's and PCRE's, less the constructs
that need backtracking (lookahead and lookbehind, backreferences, atomic groups, possessive quantifiers,
conditionals) and the verbose flag. A pattern using one of them is refused with a message naming it.
``runyard.Api()`` and the server share this module, so a pattern means the same in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from runyard.errors import FilterError

__all__ = ["MAX_PATTERN_LENGTH", "Pattern", "compile_pattern"]

MAX_PATTERN_LENGTH = 4096
"""The longest pattern accepted, in characters: longer ones are refused before compiling."""

_FLAGS = "imsx"  # MongoDB's $options letters that runyard knows
_MAX_MEMORY = 8 << 20  # RE2's default compiled-program budget: a larger pattern is refused, not compiled

# What RE2 says about a construct it lacks -> what to tell the user.
_UNSUPPORTED = (
    ("(?=", "lookahead (?=...)"),
    ("(?!", "negative lookahead (?!...)"),
    ("(?<=", "lookbehind (?<=...)"),
    ("(?<!", "negative lookbehind (?<!...)"),
    ("(?>", "atomic groups (?>...)"),
    ("(?(", "conditionals (?(...)...)"),
    ("(?P=", "named backreferences (?P=name)"),
    ("(?#", "comments (?#...)"),
    ("(?x", "the verbose flag x"),
)
_BACKREFERENCE = re.compile(r"\\[1-9]|\\g<|\\k<")
_POSSESSIVE = re.compile(r"(?<!\\)[*+?}]\+")


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern: :meth:`search` tells whether it matches somewhere in a text.

    Attributes:
        pattern: the pattern as given.
        flags: the flags it was compiled with, as ``$options`` letters (``"i"``, ``"ms"``...).
    """

    pattern: str
    flags: str = ""
    _compiled: Any = field(default=None, repr=False, compare=False)

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in ``text``."""
        return self._compiled.search(text) is not None


def compile_pattern(pattern: object, options: object = None, *, where: str = "$regex") -> Pattern:
    """Compile a filter's or a search's pattern with RE2.

    Args:
        pattern: the pattern: a string, or a compiled Python pattern (its flags ``re.I``, ``re.M``, ``re.S``
            are kept).
        options: MongoDB's ``$options``: flag letters from ``ims`` (``x``, verbose, is not supported).
        where: what the pattern belongs to, for error messages (``"field 'name': $regex"``, ``"search"``).

    Raises:
        FilterError: the pattern is not a string, is too long, is not a valid regular expression, or uses a
            construct linear-time matching cannot offer (the message names it).
    """
    flags = _option_flags(options, where)
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise FilterError(f"{where} needs a text pattern, not a bytes one")
        flags |= {c for c, bit in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)) if pattern.flags & bit}
        if pattern.flags & re.VERBOSE:
            flags.add("x")
        pattern = pattern.pattern
    if not isinstance(pattern, str):
        raise FilterError(f"{where} takes a pattern string, not {type(pattern).__name__} {pattern!r:.60}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterError(f"{where}: the pattern is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}")
    if "x" in flags:
        raise FilterError(
            f"{where}: the verbose flag x is not supported (patterns are matched in linear time with RE2 syntax); "
            "write the pattern without spaces and comments"
        )
    import re2  # deferred: only queries need it, and `import runyard` stays light

    opts = re2.Options()
    opts.log_errors = False  # the error comes back to the caller; RE2 would also print it on stderr
    opts.max_mem = _MAX_MEMORY
    opts.case_sensitive = "i" not in flags
    opts.dot_nl = "s" in flags
    text = f"(?m){pattern}" if "m" in flags else pattern
    try:
        compiled = re2.compile(text, opts)
    except re2.error as exc:
        raise FilterError(_explain(where, pattern, exc)) from None
    return Pattern(pattern, "".join(c for c in _FLAGS if c in flags), compiled)


def _option_flags(options: object, where: str) -> set[str]:
    if options is None:
        return set()
    if not isinstance(options, str) or any(c not in _FLAGS for c in options):
        raise FilterError(f"{where}: $options takes regex flags from 'imsx', not {options!r}")
    return set(options)


def _explain(where: str, pattern: str, exc: Exception) -> str:
    """The message of a pattern RE2 refused: what is unsupported, or what is wrong with it."""
    reason = exc.args[0] if exc.args else exc
    detail = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
    lacking = [name for token, name in _UNSUPPORTED if token in pattern]
    if _BACKREFERENCE.search(pattern):
        lacking.append("backreferences (\\1, \\k<name>)")
    if _POSSESSIVE.search(pattern):
        lacking.append("possessive quantifiers (*+, ++, ?+)")
    if lacking:
        return (
            f"{where} {shown!r} uses {', '.join(lacking)}, which runyard does not support: patterns are matched "
            f"in linear time (RE2 syntax), so that no pattern can stall the server ({detail})"
        )
    if "pattern too large" in detail:
        return f"{where} {shown!r} is too large to compile (its repetitions expand beyond {_MAX_MEMORY >> 20} MiB)"
    return (
        f"{where} {shown!r} is not a valid regular expression ({detail}); escape special characters such as "
        r"( [ + * ? with a backslash to match them literally"
    )
