"""The command ``runyard agent`` runs for each run of a sweep: W&B's ``command`` with its macros expanded."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["expand_command"]


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def expand_command(
    command: Sequence[str],
    *,
    program: str | None,
    params: Mapping[str, Any],
    json_file: Path,
) -> list[str]:
    """The argv of one run: ``${env}``, ``${interpreter}``, ``${program}`` and the ``${args*}`` macros expanded.

    ``params`` is the run's config (nested parameters as dicts). ``${args_json_file}`` names ``json_file``,
    which is written here.
    """
    argv: list[str] = []
    for part in command:
        if part == "${env}":
            if sys.platform != "win32":
                argv.append(shutil.which("env") or "/usr/bin/env")
        elif part == "${interpreter}":
            argv.append(sys.executable or "python")
        elif part == "${program}":
            argv.append(program or "")
        elif part == "${args}":
            argv.extend(f"--{k}={_text(v)}" for k, v in params.items())
        elif part == "${args_no_hyphens}":
            argv.extend(f"{k}={_text(v)}" for k, v in params.items())
        elif part == "${args_no_boolean_flags}":
            for k, v in params.items():
                if v is True:
                    argv.append(f"--{k}")
                elif v is not False:
                    argv.append(f"--{k}={_text(v)}")
        elif part == "${args_no_equals}":
            for k, v in params.items():
                argv += [f"--{k}", _text(v)]
        elif part == "${args_append_hydra}":
            argv.extend(f"+{k}={_text(v)}" for k, v in params.items())
        elif part == "${args_override_hydra}":
            argv.extend(f"++{k}={_text(v)}" for k, v in params.items())
        elif part == "${args_json}":
            argv.append(json.dumps(dict(params)))
        elif part == "${args_json_file}":
            json_file.write_text(json.dumps(dict(params)), encoding="utf-8")
            argv.append(str(json_file))
        else:
            argv.append(part)
    return argv
