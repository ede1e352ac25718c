"""eBPF tests run as root on the host: one probe per module, filtered to our process tree."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from needs import need_ebpf
from sentry.errors import DriverError


def _probe(**options: object) -> Iterator[object]:
    """The probe, capturing only this test process's descendants."""
    need_ebpf()
    from sentry.capture.ebpf import EbpfSource

    try:
        src = EbpfSource(target_tgid=os.getpid(), **options)
    except DriverError as err:
        pytest.fail(f"eBPF probe did not load ({options or 'defaults'}): {err}")
    yield src
    src.close()


@pytest.fixture(scope="module")
def ebpf_source() -> Iterator[object]:
    """The probe as this kernel runs it by default."""
    yield from _probe()


@pytest.fixture(scope="module")
def probe_reads_source() -> Iterator[object]:
    """The probe reading files with probe reads (its way on kernels without
    bpf_rdonly_cast), whatever this kernel has."""
    yield from _probe(direct_reads=False)


@pytest.fixture(scope="module")
def live_source(ebpf_source: object) -> object:
    """The source driver_suite.py's shared syscall tests capture with: the probe."""
    return ebpf_source
