"""Shared test settings: where the conformance data lives, the repository root, and a UTC
clock for tests that compare printed times."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from conformance_data import FALCO_DIR, REPO_ROOT, conformance_dir  # noqa: F401 (re-exported)

# Property tests are bounded by their example counts, never by wall time: on a loaded 2-core
# machine one example can take longer than hypothesis' default 200 ms deadline.
settings.register_profile("sentry", deadline=None)
settings.load_profile("sentry")


@pytest.fixture(scope="session")
def falco_dir() -> Path:
    """Falco 0.28.1 conformance data, read in place; skips (saying why) where it is absent."""
    if not FALCO_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"conformance data missing at {FALCO_DIR} (set SENTRY_CONFORMANCE_DIR)")
        pytest.skip(f"conformance data not found at {FALCO_DIR}; set SENTRY_CONFORMANCE_DIR")
    return FALCO_DIR


@pytest.fixture(scope="session")
def trace_dir(falco_dir: Path) -> Path:
    return falco_dir / "test" / "trace_files"


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC for the test (as sysdig runs with ``TZ=UTC``), then as it was."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()
