"""Every relative link and ``#anchor`` in the repository's Markdown resolves (anchors by GitHub's
slug rules, ``tests/markdown.py``). Where Backup Center's page points into the README is checked
by ``test_readme_references.py``."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from tests.markdown import INLINE_CODE, anchors, github_slug, heading_text, prose_lines
from tests.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
SKIPPED_DIRS = {"node_modules", ".venv", ".venv-infra", ".run", ".git", "build"}

# [text](target "title") and ![alt](target); the target may be wrapped in <...>.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_files() -> list[Path]:
    found = []
    for path in sorted(REPO_ROOT.rglob("*.md")):
        if not SKIPPED_DIRS.intersection(path.relative_to(REPO_ROOT).parts):
            found.append(path)
    return found


def links(path: Path) -> list[str]:
    targets = []
    for line in prose_lines(path.read_text()):
        line = INLINE_CODE.sub("", line)
        targets += INLINE_LINK.findall(line)
        targets += HTML_LINK.findall(line)
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            targets.append(definition.group(1))
    return targets


def broken(path: Path, target: str) -> str | None:
    """Why ``target`` (a link in ``path``) does not resolve, or ``None`` when it does."""
    if not target or SCHEME.match(target) or target.startswith("//"):
        return None  # external: not this test's business
    file_part, _, anchor = target.partition("#")
    file_part = urllib.parse.unquote(file_part)
    if file_part.startswith("/"):
        resolved = REPO_ROOT / file_part.lstrip("/")
    else:
        resolved = (path.parent / file_part).resolve() if file_part else path
    if not resolved.exists():
        return "no such file"
    if REPO_ROOT.resolve() not in (resolved.resolve(), *resolved.resolve().parents):
        return "points outside the repository"
    checkable = anchor and resolved.suffix.lower() == ".md"
    if checkable and urllib.parse.unquote(anchor).lower() not in anchors(resolved):
        return f"no heading with anchor #{anchor} in {resolved.relative_to(REPO_ROOT)}"
    return None


def test_the_slug_rules_match_githubs() -> None:
    assert github_slug(heading_text("Operations: telemetry, queries and alerts")) == (
        "operations-telemetry-queries-and-alerts"
    )
    assert github_slug(heading_text("The ARM Compute emulator on its own")) == (
        "the-arm-compute-emulator-on-its-own"
    )
    assert github_slug(heading_text("`make run` & [Azurite](https://x.example)")) == "make-run--azurite"
    assert github_slug(heading_text("Snake_case and Ünïcode")) == "snake_case-and-ünïcode"


def test_the_checker_finds_a_broken_anchor_and_a_missing_file(tmp_path: Path) -> None:
    page = REPO_ROOT / "README.md"
    assert broken(page, "#walk-through-the-api") is None
    assert broken(page, "#no-such-section") is not None
    assert broken(page, "docs/no-such-file.md") == "no such file"
    assert broken(page, "https://example.com/#anything") is None


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    problems = [f"{target}: {why}" for target in links(path) if (why := broken(path, target))]
    assert not problems, f"{path.relative_to(REPO_ROOT)}: " + "; ".join(problems)


def test_markdown_under_docs_and_the_readme_are_checked() -> None:
    checked = {path.relative_to(REPO_ROOT).as_posix() for path in markdown_files()}
    assert "README.md" in checked
    assert {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "docs").rglob("*.md")} <= checked
