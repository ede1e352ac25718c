"""Fixtures for capture tests: run a test with the C block walker and the Python one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sentry.capture import scapreader
from sentry.capture._cffi.scapscan import load


@pytest.fixture(params=["c", "python"])
def walker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which block walker ScapReader uses for this test."""
    if request.param == "c":
        module = load()
        if module is None:
            if os.environ.get("CI"):
                pytest.fail("the C block walker does not build")
            pytest.skip("no C compiler for the block walker")
        monkeypatch.setattr(scapreader, "_SCANNER", [module])
    else:
        monkeypatch.setattr(scapreader, "_SCANNER", [None])
    yield request.param
