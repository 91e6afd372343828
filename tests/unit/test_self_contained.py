"""The repository passes anywhere: no tracked file reaches for something outside the checkout.

A clone in an empty directory must run every test and follow every doc link, so a path that
climbs out of the repository (``../`` to a sibling folder, ``REPO_ROOT.parent``) is a defect even when the
folder it names happens to exist on the machine at hand.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

# Folders a checkout has beside its tracked files (environments, caches, artifacts).
UNTRACKED_DIRS = {".git", ".venv", ".venv-infra", "node_modules", "build", ".artifacts", "__pycache__"}

# Names of the material that used to live beside the checkout, and ways code reaches beside it.
FORBIDDEN = [
    re.compile(r"(?<![\w.])(?:\.\./)+shared\b"),
    re.compile(r"\bshared/reference\b"),
    re.compile(r"/work/"),
    re.compile(r"\b(?:REPO_ROOT|PROJECT_ROOT)\.parent\b"),
]
# A relative path that starts by climbing: resolved against its file's folder, it must stay inside.
CLIMBING_PATH = re.compile(r"(?<![\w./])((?:\.\./)+[\w.-][\w./-]*)")
# Vendored third-party files keep their upstream's relative paths (the swagger's ``$ref``s into
# azure-rest-api-specs' common-types), which are relative to that repository, not to this one.
VENDORED = (REPO_ROOT / "tests" / "reference", REPO_ROOT / "tests" / "infra" / "schemas")
# This module spells out the very patterns it hunts for.
THIS_FILE = Path(__file__).resolve()


def tracked_text_files() -> list[Path]:
    """The files git tracks; outside a git checkout (an exported tarball), the files on disk."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, text=True
        ).stdout
        candidates = [REPO_ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        candidates = []
        for folder, dirs, files in os.walk(REPO_ROOT):
            dirs[:] = [d for d in dirs if d not in UNTRACKED_DIRS and not d.startswith(".")]
            candidates += [Path(folder) / name for name in files]
    texts = []
    for path in candidates:
        if path.is_symlink() or not path.is_file():
            continue
        if b"\0" in path.read_bytes()[:8192]:
            continue  # binary (screenshots)
        texts.append(path)
    return texts


def outside_references(path: Path, text: str | None = None) -> list[str]:
    """Every line of ``path`` (or of ``text``, as if it were that file's content) that points
    outside the repository, as ``file:line: text``."""
    if text is None:
        text = path.read_text(encoding="utf-8", errors="replace")
    found = []
    relative = path.relative_to(REPO_ROOT)
    vendored = any(path.is_relative_to(folder) for folder in VENDORED)
    for number, line in enumerate(text.splitlines(), 1):
        hits = [pattern.pattern for pattern in FORBIDDEN if pattern.search(line)]
        for climbing in [] if vendored else CLIMBING_PATH.findall(line):
            target = (path.parent / climbing).resolve()
            if not target.is_relative_to(REPO_ROOT):
                hits.append(climbing)
        if hits:
            found.append(f"{relative}:{number}: {', '.join(hits)}: {line.strip()[:120]}")
    return found


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = [path for path in tracked_text_files() if path.resolve() != THIS_FILE]
    assert any(path.name == "README.md" for path in files), "the scan found no files: wrong root?"
    offenders = [hit for path in files for hit in outside_references(path)]
    assert not offenders, "paths outside the repository:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "line",
    [
        # Spelled in two pieces so this file does not itself match a scan for the sibling folder.
        'SHARED_DIR = REPO_ROOT.parent / "' + "shared" + '"',
        "see ../" + "shared/reference/compute/examples",
        "(/work/shared/reference/style.md section 1.3)",
        "[contract](../infra/telemetry-contract.json)",
        "copied from shared/reference/compute",
    ],
)
def test_the_scan_catches_each_way_out(line: str) -> None:
    # As if in a file at the repository root, as README.md is: ``../`` from there leaves the checkout.
    assert outside_references(REPO_ROOT / "NOTES.md", f"first line\n{line}\n") != []


@pytest.mark.parametrize(
    "line",
    [
        "var roles = loadJsonContent('../core/security/builtin-roles.json')",
        "shared keys **disabled**, no public blobs",
        "from tests.paths import REPO_ROOT",
    ],
)
def test_the_scan_allows_paths_that_stay_inside(line: str) -> None:
    assert outside_references(REPO_ROOT / "infra" / "app" / "disk-roles.bicep", line + "\n") == []
