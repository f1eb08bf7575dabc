"""The documentation stays inside the repository and tells a newcomer the truth: links resolve, nothing points
at files outside the repository or at the project's internal tracker, every page of docs/ is listed in the
README, and the README's quick start creates its own virtual environment."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_docs_do_not_point_outside_the_repository() -> None:
    wrong = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for pattern in (r"\.\./shared", r"\bissue \d+", r"\bissues? #\d+"):
            wrong += [f"{page.name}: {m.group(0)}" for m in re.finditer(pattern, text, flags=re.IGNORECASE)]
        for target in LINK.findall(text):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):
                wrong.append(f"{page.name}: broken link {target}")
    assert wrong == []


def test_the_readme_lists_every_page_of_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if f"(docs/{p.name})" not in readme]
    assert missing == []


def test_the_quick_start_makes_its_own_virtual_environment() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands[0].startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e . && runyard demo")
    assert commands[1] == "./scripts/test"
    # Nothing tells a reader of a clone to install from a package index where runyard is not published.
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"pip install '?runyard\b", text), page.name
