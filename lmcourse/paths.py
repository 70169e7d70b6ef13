"""Where the course checkout's folders are. It imports nothing from the package.

The package lives in ``lmcourse/`` of a git checkout (installed with ``pip install -e .``), so
the checkout's folders sit beside it.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTERS_DIR = REPO_ROOT / "chapters"
DATA_DIR = REPO_ROOT / "data"
BENCHMARKS_DIR = REPO_ROOT / "benchmarks"
ARTIFACTS_DIR = REPO_ROOT / "runs" / "artifacts"
