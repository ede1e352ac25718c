"""The device contract: ioctls (valid and invalid), one consumer per device, mmap rules."""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import struct
import sys

import pytest
from kmod_helpers import capture

from sentry.capture._cffi.abi import API_VERSION, IOCTLS
from sentry.errors import DriverError

DEV = "/dev/sentry0"


def _ioctl_errno(fd: int, request: int, arg: bytes | int) -> int:
    with pytest.raises(OSError) as info:
        fcntl.ioctl(fd, request, arg)
    return info.value.errno


@pytest.fixture
def fd():
    fd = os.open(DEV, os.O_RDWR)
    yield fd
    os.close(fd)


def test_api_version(fd) -> None:
    out = fcntl.ioctl(fd, IOCTLS["SENTRY_IOCTL_GET_API_VERSION"], bytes(4))
    assert struct.unpack("I", out)[0] == API_VERSION


def test_unknown_ioctl_is_enotty(fd) -> None:
    assert _ioctl_errno(fd, 0x7301_0000 | 99, 0) == errno.ENOTTY
    assert _ioctl_errno(fd, 0x1234, 0) == errno.ENOTTY


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SENTRY_IOCTL_SET_SNAPLEN", 0),
        ("SENTRY_IOCTL_SET_SNAPLEN", 65001),
        ("SENTRY_IOCTL_SET_SAMPLING", 0),
        ("SENTRY_IOCTL_SET_SAMPLING", 1025),
        ("SENTRY_IOCTL_EXCLUDE_TGID", 1 << 30),
    ],
)
def test_out_of_range_values_are_einval(fd, name: str, value: int) -> None:
    assert _ioctl_errno(fd, IOCTLS[name], struct.pack("I", value)) == errno.EINVAL


@pytest.mark.parametrize(
    "name", ["SENTRY_IOCTL_SET_SNAPLEN", "SENTRY_IOCTL_SET_INTEREST", "SENTRY_IOCTL_GET_STATS"]
)
def test_bad_user_pointer_is_efault(fd, name: str) -> None:
    assert _ioctl_errno(fd, IOCTLS[name], 8) == errno.EFAULT


def test_second_open_is_busy(fd) -> None:
    with pytest.raises(OSError) as info:
        os.open(DEV, os.O_RDWR)
    assert info.value.errno == errno.EBUSY


def test_source_reports_a_busy_device(fd) -> None:
    from sentry.capture.kmod import KmodSource

    with pytest.raises(DriverError, match="another consumer"):
        KmodSource()


def test_data_area_cannot_be_mapped_writable(fd) -> None:
    with pytest.raises(OSError) as info:
        mmap.mmap(
            fd,
            mmap.PAGESIZE,
            mmap.MAP_SHARED,
            mmap.PROT_READ | mmap.PROT_WRITE,
            offset=mmap.PAGESIZE,
        )
    assert info.value.errno == errno.EPERM


def test_mapping_past_the_rings_end_is_einval(fd) -> None:
    ctrl = mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ)
    size = struct.unpack_from("Q", ctrl, 16)[0]
    ctrl.close()
    with pytest.raises(OSError) as info:
        mmap.mmap(
            fd, 2 * size + mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ, offset=mmap.PAGESIZE
        )
    assert info.value.errno == errno.EINVAL


def test_snaplen_bounds_captured_data() -> None:
    code = "import os; os.write(1, b'abcdefghijklmnop')"
    trace = capture([sys.executable, "-c", code], snaplen=4)
    writes = [e for e in trace.find("write", "<", res=16) if e.tid == trace.pid]
    assert writes and writes[0].param_by_name("data") == b"abcd"


def test_interest_set_selects_syscalls() -> None:
    getppid = 110
    code = "import os; [os.getppid() for _ in range(5)]"
    trace = capture([sys.executable, "-c", code], interest={getppid})
    assert {e.name for e in trace.events} == {"syscall", "procexit"}
    calls = [e for e in trace.events if e.name == "syscall" and e.direction == ">"]
    assert {e.param_by_name("nativeID") for e in calls} == {getppid}
    assert len([e for e in calls if e.tid == trace.pid]) == 5
    assert trace.stats.suppressed > 0


def test_interest_procexit_bit() -> None:
    trace = capture([sys.executable, "-c", "pass"], interest=set())
    assert [e.name for e in trace.events] == ["procexit"]
    assert trace.events[0].tid == trace.pid


def test_sampling_suppresses_and_counts() -> None:
    from sentry.capture.kmod import KmodSource

    with KmodSource() as src:
        src.set_sampling(1024)
        os.system("for i in 1 2 3 4 5 6 7 8; do cat /proc/uptime >/dev/null; done")
        stats = src.stats()
    assert stats.suppressed > 0


def test_disabled_capture_writes_nothing() -> None:
    from sentry.capture.kmod import KmodSource

    with KmodSource(start=False) as src:
        os.system("true")
        assert src.read_batch() == []
        assert src.stats().events == 0
