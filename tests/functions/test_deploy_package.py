"""What ``.funcignore`` lets into the deployed package: the runtime code and nothing else.

Core Tools and azd read ``.funcignore`` with gitignore rules; the subset used here (a name or
glob for a file or folder anywhere, a trailing ``/`` for folders) is matched the same way.
"""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import PurePosixPath

from tests.paths import REPO_ROOT

DEPLOYED = {"function_app.py", "host.json", "requirements.txt", "backup"}
# Folders a working copy grows that git does not track: none of them may ship either.
LOCAL_ONLY = [
    ".venv/bin/python",
    ".venv-infra/bin/python",
    "node_modules/azurite/package.json",
    "build/bench.log",
    ".run/host.log",
    "backup/__pycache__/config.cpython-311.pyc",
]


def patterns() -> list[str]:
    lines = (REPO_ROOT / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ignored(path: str, rules: list[str]) -> bool:
    parts = PurePosixPath(path).parts
    for rule in rules:
        folder = rule.endswith("/")
        name = rule.rstrip("/")
        candidates = parts[:-1] if folder else parts
        if any(fnmatch.fnmatchcase(part, name) for part in candidates):
            return True
    return False


def test_only_the_runtime_code_is_deployed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    rules = patterns()
    shipped = {PurePosixPath(path).parts[0] for path in tracked if not ignored(path, rules)}
    assert shipped == DEPLOYED
    assert [path for path in LOCAL_ONLY if not ignored(path, rules)] == []


def test_the_matcher_reads_folders_and_globs_as_gitignore_does() -> None:
    assert ignored("tests/unit/test_x.py", ["tests/"])
    assert ignored("backup/__pycache__/x.pyc", ["*.pyc"])
    assert not ignored("backup/config.py", ["tests/", "*.pyc"])
    assert not ignored("tests", ["tests/"])  # a file named like the folder is not the folder
