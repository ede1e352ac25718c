"""Where the conformance data lives: SENTRY_CONFORMANCE_DIR, default ../shared/conformance
beside the repository (a plain module, so tests import it by name; ``conftest`` is not
one module when several test directories are collected together)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def conformance_dir() -> Path:
    """SENTRY_CONFORMANCE_DIR, default ../shared/conformance beside the repository."""
    default = REPO_ROOT.parent / "shared" / "conformance"
    return Path(os.environ.get("SENTRY_CONFORMANCE_DIR", default))


FALCO_DIR = conformance_dir() / "falco-0.28.1"
