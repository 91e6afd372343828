"""Where tests find the repository and the reference material vendored inside it."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Third-party ground truth the emulator is compared against; origins in tests/reference/README.md.
REFERENCE_DIR = REPO_ROOT / "tests" / "reference"
COMPUTE_REFERENCE = REFERENCE_DIR / "compute"
DATAPROTECTION_REFERENCE = REFERENCE_DIR / "dataprotection"
