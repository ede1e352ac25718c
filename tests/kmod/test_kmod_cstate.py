"""The C state tracker and the Python inspector agree on a live kernel-module capture: the
workload of tests/cstate_compare.py (every kind of state event) captured in the guest."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cstate_compare import check_workload

pytestmark = pytest.mark.vm


def test_workload_through_the_module(live_source: object, tmp_path: Path) -> None:
    check_workload(live_source, tmp_path)
