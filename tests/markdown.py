"""Reading Markdown as GitHub renders it: headings outside fenced code, and their anchors.

GitHub's heading slugs: the heading's rendered text, lower-cased, with every character other
than letters, digits, spaces, ``-`` and ``_`` dropped and spaces turned into ``-``; a repeated
slug gets ``-1``, ``-2``, ... Explicit ``<a id="...">``/``name`` anchors count too.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
HTML_ANCHOR = re.compile(r"""<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
HTML_TAG = re.compile(r"<[^>]+>")


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


def sections(path: Path) -> dict[str, str]:
    """Anchor -> rendered heading text, for every heading of ``path`` in order."""
    found: dict[str, str] = {}
    seen: dict[str, int] = {}
    for title in headings(path):
        slug = github_slug(title)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found[slug if count == 0 else f"{slug}-{count}"] = title
    return found
