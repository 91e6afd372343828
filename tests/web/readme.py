"""The README's section headings and the anchors GitHub gives them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.paths import REPO_ROOT

README = REPO_ROOT / "README.md"


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case; every character but letters, digits, ``_``,
    ``-`` and spaces dropped; each space a hyphen (``Walk through the API`` ->
    ``walk-through-the-api``; ``Benchmark (`make bench`)`` -> ``benchmark-make-bench``)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def readme_sections(readme: Path = README) -> dict[str, str]:
    """Anchor -> heading for every heading outside fenced code (a ``# 1. ...`` comment in a shell
    block is not one); a repeated anchor gets GitHub's ``-1``, ``-2``."""
    sections: dict[str, str] = {}
    fence: str | None = None
    for line in readme.read_text("utf-8").splitlines():
        marker = re.match(r"^\s*(```|~~~)", line)
        if marker:
            fence = None if fence == marker.group(1) else fence or marker.group(1)
            continue
        heading = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if fence is None and heading:
            anchor = base = github_anchor(heading.group(1))
            count = 0
            while anchor in sections:
                count += 1
                anchor = f"{base}-{count}"
            sections[anchor] = heading.group(1)
    return sections
