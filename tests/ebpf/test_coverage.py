"""Syscall coverage through the eBPF probe: each case's events decoded and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_cases import CASES, Case, run_case

pytestmark = pytest.mark.root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_syscall_case(ebpf_source: object, case: Case, tmp_path: Path) -> None:
    run_case(ebpf_source, case, tmp_path)
