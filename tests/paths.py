"""Where tests find the repository and the read-only shared reference material beside it."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Developers and CI both have shared/ next to the checkout (../shared from the project root).
SHARED_DIR = REPO_ROOT.parent / "shared"
COMPUTE_REFERENCE = SHARED_DIR / "reference" / "compute"
