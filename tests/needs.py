"""Skip a test for a missing tool, saying why; under CI (env CI set), where `.ci/run`
installs every tool the tests need, the same absence fails the test instead."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail with it under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it: scripts/install.sh)")
    pytest.skip(reason)
