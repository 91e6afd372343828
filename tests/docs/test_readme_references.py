"""Where Backup Center sends a reader in the README, that section exists, under the heading the
page names and the anchor GitHub gives it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.markdown import github_slug, heading_text, sections
from tests.paths import REPO_ROOT

ASSETS = REPO_ROOT / "backup" / "web" / "assets"
# ``{ heading: "...", anchor: "..." }``: a ReadmeSection of render.js.
SECTION = re.compile(r'\{ heading: "([^"]+)", anchor: "([^"]+)" \}')


README = REPO_ROOT / "README.md"


def test_github_anchors_as_github_makes_them() -> None:
    assert github_slug(heading_text("Walk through the API")) == "walk-through-the-api"
    assert github_slug(heading_text("Benchmark (`make bench`)")) == "benchmark-make-bench"
    assert github_slug(heading_text("A - b_c é")) == "a---b_c-é"


def test_headings_in_code_blocks_are_not_sections(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n## Alerts\n\n```bash\n# 1. A vault\n```\n\n### Alerts\n", "utf-8")
    assert sections(readme) == {"title": "Title", "alerts": "Alerts", "alerts-1": "Alerts"}


def test_every_readme_section_the_page_names_exists() -> None:
    readme = sections(README)
    source = "\n".join(path.read_text("utf-8") for path in sorted(ASSETS.glob("*.js")))
    named = SECTION.findall(source)
    assert named, "the page names no README section"
    for heading, anchor in named:
        assert readme.get(anchor) == heading, f"README.md#{anchor} ({heading!r}) is not a README section"
    # Nor does the page point into the README in its own words.
    assert _pointers(source) <= set(readme) | set(readme.values())


def _pointers(source: str) -> set[str]:
    """``README.md#anchor``s and quoted headings (``“Heading” in the README``) in the text."""
    anchors = re.findall(r"README\.md#([a-z0-9_-]+)", source)
    quoted = re.findall(r"“([^”$]+)” in the README", source) + re.findall(r"README, “([^”$]+)”", source)
    return set(anchors) | set(quoted)


def test_pointers_are_found_in_the_pages_words() -> None:
    # What the page said before: a section the README never had.
    assert _pointers("see “Protect a disk” in the README. (README, “Protect a disk”)") == {"Protect a disk"}
    assert _pointers("(README.md#walk-through-the-api)") == {"walk-through-the-api"}
