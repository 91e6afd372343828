"""Every relative link and ``#anchor`` in the repository's Markdown resolves, and every README
section that Backup Center's page points to exists.

Anchors follow GitHub's heading slugs: the heading's rendered text, lower-cased, with every
character other than letters, digits, spaces, ``-`` and ``_`` dropped and spaces turned into
``-``; a repeated slug gets ``-1``, ``-2``, ... Explicit ``<a id="...">``/``name`` anchors count too.
"""

from __future__ import annotations

import re
import urllib.parse
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
WEB_ASSETS = REPO_ROOT / "backup" / "web" / "assets"
SKIPPED_DIRS = {"node_modules", ".venv", ".venv-infra", ".run", ".git", "build"}

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target "title") and ![alt](target); the target may be wrapped in <...>.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HTML_ANCHOR = re.compile(r"""<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
HTML_TAG = re.compile(r"<[^>]+>")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Backup Center points readers at README sections by URL (README.md#section) or by title
# (README, “Section”); both must name a section that exists.
README_ANCHOR_IN_ASSET = re.compile(r"readme(?:\.md)?#([\w%-]+)", re.IGNORECASE)
README_TITLE_IN_ASSET = re.compile(r"README[^“”\n]{0,20}“([^”]+)”|“([^”]+)”[^“”\n]{0,10}in the README")


def markdown_files() -> list[Path]:
    found = []
    for path in sorted(REPO_ROOT.rglob("*.md")):
        if not SKIPPED_DIRS.intersection(path.relative_to(REPO_ROOT).parts):
            found.append(path)
    return found


def heading_text(raw: str) -> str:
    """What GitHub renders for a heading's Markdown: link text, code without backticks, no tags."""
    text = INLINE_CODE.sub(lambda match: match.group(2).strip(), raw)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = HTML_TAG.sub("", text)
    return re.sub(r"(\*\*|__|\*)", "", text).strip()


def github_slug(text: str) -> str:
    kept = "".join(char for char in text.lower() if char.isalnum() or char in " -_")
    return kept.replace(" ", "-")


def prose_lines(text: str) -> list[str]:
    """The Markdown's lines outside fenced code blocks (code blocks hold neither links nor headings)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


@cache
def headings(path: Path) -> tuple[str, ...]:
    lines = prose_lines(path.read_text())
    titles = []
    for number, line in enumerate(lines):
        match = HEADING.match(line)
        if match:
            titles.append(heading_text(match.group(2)))
        elif (
            number > 0
            and SETEXT_UNDERLINE.match(line)
            and lines[number - 1].strip()
            and not HEADING.match(lines[number - 1])
        ):
            titles.append(heading_text(lines[number - 1]))
    return tuple(titles)


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    slugs = set()
    for title in headings(path):
        slug = github_slug(title)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f"{slug}-{count}")
    slugs |= {anchor.lower() for anchor in HTML_ANCHOR.findall(path.read_text())}
    return frozenset(slugs)


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


def test_backup_center_points_only_at_readme_sections_that_exist() -> None:
    readme_anchors = anchors(README)
    readme_titles = {title.lower() for title in headings(README)}
    problems = []
    assets = sorted([*WEB_ASSETS.glob("*.js"), *WEB_ASSETS.glob("*.html")])
    assert assets, f"no .js or .html under {WEB_ASSETS}"
    for asset in assets:
        text = asset.read_text()
        for anchor in README_ANCHOR_IN_ASSET.findall(text):
            if urllib.parse.unquote(anchor).lower() not in readme_anchors:
                problems.append(f"{asset.name}: README#{anchor} is no README heading")
        for quoted, quoted_before in README_TITLE_IN_ASSET.findall(text):
            title = quoted or quoted_before
            if title.lower() not in readme_titles:
                problems.append(f"{asset.name}: “{title}” is no README section")
    assert not problems, "; ".join(problems)
