"""The probe's other way of reading files (probe reads, its way on kernels before 6.2,
without bpf_rdonly_cast), forced on this kernel: the syscall cases must come out the same
(dev, inode, 'created' flag and socket tuples come from the file behind a descriptor)."""

from __future__ import annotations

import pytest

from driver_suite import test_syscall_case  # noqa: F401 (collected by pytest from here)

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def live_source(probe_reads_source: object) -> object:
    """The source the shared syscall cases capture with: the probe, direct reads off."""
    assert not probe_reads_source.direct_reads
    return probe_reads_source
