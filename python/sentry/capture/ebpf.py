"""Live capture through Sentry's CO-RE eBPF probe (``driver/bpf``), read zero-copy.

:class:`EbpfSource` loads the probe with libbpf (cffi, ABI mode), gives it one BPF ring
buffer per CPU and attaches it to ``sys_enter``/``sys_exit``/``sched_process_exit`` (BTF
tracepoints, raw tracepoints as fallback). Rings are mmap'ed and walked in place with a
budget per batch, in C when the walker is compiled (``ring_scan``: headers, the event-type
selection and parameter 0 read there); each record is a scap event, handed up as a lazy
:class:`~sentry.events.event.Event` over the ring's memory. The consumer position moves
on when the next batch is asked for, so a batch stays valid while it is processed.

Settings (capturing, snaplen, interest set, sampling, the consumer's own tgid, an optional
target process tree for tests) live in the probe's ``.bss``, mmap'ed here and written in place.
Counters are per CPU in the probe and summed into :class:`CaptureStats`. Setting
``event_types`` (as for a capture file) narrows the interest set to the syscalls that
make those events. Needs root, BTF and a 5.17+ kernel (BPF ring buffers, bpf_loop); on
6.2+ (bpf_rdonly_cast in the kernel's BTF) the probe reads files through BTF pointers
instead of one probe read each, chosen before load.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import select
import struct
import time
from collections.abc import Iterable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import Any

from sentry.capture import bpfobject
from sentry.capture._cffi import bpfsettings, scapscan
from sentry.capture._cffi.libbpf import (
    BPF_MAP_TYPE_RINGBUF,
    check,
    check_ptr,
    ffi,
    find_map,
    kernel_has_kfunc,
    lib,
    take_log,
)
from sentry.capture.ebpfring import PAGE, CWalker, Ring
from sentry.capture.source import CaptureStats
from sentry.errors import DriverError
from sentry.events.event import Event
from sentry.events.syscalls import X86_64_SYSCALLS
from sentry.events.table import event_by_name
from sentry.events.wire import SAMPLING_MAX

DEFAULT_RING_BYTES = 8 << 20
DEFAULT_BUDGET = 65536  # records taken per batch, over all CPUs
POLL_MIN = 0.001  # first sleep when the rings are empty; doubles up to idle_timeout
SYSCALL_NR_MAX = 512
QUIET_KEY_LEN = 32  # struct quiet_key (probe_quiet.h)
QUIET_PATH_MAX = 30  # longest quiet path: its NUL and one more byte fit the key

_PROGRAMS = {
    "tp_btf": ("sys_enter_btf", "sys_exit_btf", "sched_process_exit_btf"),
    "raw_tp": ("sys_enter_raw", "sys_exit_raw", "sched_process_exit_raw"),
}
# Process events and the parameters the probe writes (EXEC_X_NPARAMS... in sentry.bpf.c).
_PROCESS_EVENTS = (("execve", "<", 28), ("clone", "<", 21), ("procexit", ">", 4))
_by_ts = attrgetter("ts")


def check_process_layouts() -> None:
    """The probe writes the execve, clone and procexit events with exactly the event
    table's parameters (as the kernel module does); refuse a table it does not match."""
    for name, direction, written in _PROCESS_EVENTS:
        known = len(event_by_name(name, direction).params)
        if known != written:
            raise DriverError(
                f"the event table gives {name}{direction} {known} parameters; "
                f"the eBPF probe writes {written}"
            )


def _boot_to_epoch_ns() -> int:
    """What to add to CLOCK_BOOTTIME (the probe's clock) to get ns since the epoch."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


MIN_KERNEL = (5, 17)
BTF_VMLINUX = Path("/sys/kernel/btf/vmlinux")


def kernel_refusal(release: str | None = None, btf: Path = BTF_VMLINUX) -> str | None:
    """Why the probe cannot run on this kernel (None when it can): it needs Linux 5.17+
    (BPF ring buffers came in 5.8, bpf_loop in 5.17) and the kernel's own BTF."""
    release = release or os.uname().release
    nums = release.split("-", 1)[0].split(".")
    try:
        version = (int(nums[0]), int(nums[1]))
    except (IndexError, ValueError):
        version = None
    if version is not None and version < MIN_KERNEL:
        return (
            f"Linux {release} is too old for the eBPF probe: it needs 5.17 or newer "
            "(BPF ring buffer since 5.8, bpf_loop since 5.17); use the kernel module "
            "(--driver kmod)"
        )
    if not btf.exists():
        return (
            f"the kernel has no BTF ({btf} is missing: built without "
            "CONFIG_DEBUG_INFO_BTF), which the eBPF probe needs; use the kernel module "
            "(--driver kmod)"
        )
    return None


class EbpfSource:
    """The eBPF probe as a :class:`~sentry.capture.source.LiveSource`.

    ``direct_reads`` chooses how the probe reads the files behind descriptors: through
    BTF pointers (bpf_rdonly_cast, 6.2+) or with probe reads; by default the first where
    the kernel has that kfunc. ``attach`` forces ``tp_btf`` or ``raw_tp``. The rings are
    walked in C (``ring_scan``) when the walker is compiled, unless ``c_walker`` is False
    (the Python walk, the reference).
    """

    def __init__(
        self,
        *,
        snaplen: int = 80,
        interest: Iterable[int] | None = None,
        ring_bytes: int = DEFAULT_RING_BYTES,
        budget: int = DEFAULT_BUDGET,
        target_tgid: int = 0,
        object_path: Path | None = None,
        attach: str | None = None,
        idle_timeout: float = 0.05,
        direct_reads: bool | None = None,
        c_walker: bool = True,
    ):
        refusal = kernel_refusal()
        if refusal:
            raise DriverError(refusal)
        if ring_bytes < PAGE or ring_bytes & (ring_bytes - 1):
            raise DriverError(f"eBPF: ring size {ring_bytes} must be a power of two >= {PAGE}")
        self._lib = lib()
        self._budget = budget
        self._idle = idle_timeout
        self._closed = False
        self._num = 0
        self._event_types: frozenset[int] | None = None
        self._links: list[Any] = []
        self._rings: list[Ring] = []
        self._obj: Any = None
        self._settings_map: mmap.mmap | None = None
        self._poll: Any = None
        self._walker: CWalker | None = None
        self._quiet_keys: list[bytes] = []
        path = object_path or bpfobject.object_path()
        if direct_reads is None:
            direct_reads = kernel_has_kfunc("bpf_rdonly_cast")
        self.direct_reads = direct_reads
        self.attach_mode = ""
        errors = []
        for mode in [attach] if attach else ["tp_btf", "raw_tp"]:
            try:
                self._load(path, mode, ring_bytes)
                self.attach_mode = mode
                break
            except DriverError as err:
                self._release_object()
                errors.append(f"{mode}: {err}")
        else:
            raise DriverError("eBPF probe could not be loaded:\n" + "\n".join(errors))
        scanner = scapscan.load() if c_walker else None
        if scanner is not None:
            self._walker = CWalker(scanner, budget)
            for ring in self._rings:
                ring.walker = self._walker
        reads = "files read through BTF pointers" if direct_reads else "files probe-read"
        walked = "walked in C" if self._walker is not None else "walked in Python"
        self.description = (
            f"eBPF probe ({self.attach_mode}, {len(self._rings)} per-CPU rings "
            f"of {ring_bytes >> 10} KiB {walked}, {reads})"
        )
        try:
            self._configure(snaplen, interest, target_tgid)
            self._attach()
            self._settings.capturing = 1
        except BaseException:
            self.close()
            raise

    # -- loading ---------------------------------------------------------------

    def _load(self, path: Path, mode: str, ring_bytes: int) -> None:
        lb = self._lib
        take_log()
        obj = check_ptr(lb.bpf_object__open_file(str(path).encode(), ffi.NULL), f"opening {path}")
        self._obj = obj
        wanted = set(_PROGRAMS[mode])
        prog = lb.bpf_object__next_program(obj, ffi.NULL)
        self._progs = []
        while prog != ffi.NULL:
            name = ffi.string(lb.bpf_program__name(prog)).decode()
            lb.bpf_program__set_autoload(prog, name in wanted)
            if name in wanted:
                self._progs.append(prog)
            prog = lb.bpf_object__next_program(obj, prog)
        ncpu = check(lb.libbpf_num_possible_cpus(), "counting CPUs")
        self.ncpu = ncpu
        rings = self._map("rings")
        check(lb.bpf_map__set_max_entries(rings, ncpu), "sizing the ring array")
        ring_fds = []
        for cpu in range(ncpu):
            fd = check(
                lb.bpf_map_create(BPF_MAP_TYPE_RINGBUF, ffi.NULL, 0, 0, ring_bytes, ffi.NULL),
                f"creating the ring of CPU {cpu}",
            )
            ring_fds.append(fd)
            self._rings.append(Ring(fd, ring_bytes, cpu))
        # the kernel wants inner maps of the template's size: the first ring is the template
        check(lb.bpf_map__set_inner_map_fd(rings, ring_fds[0]), "setting the ring template")
        check(
            lb.bpf_map__set_max_entries(self._map("scratch_map"), ncpu), "sizing the scratch area"
        )
        self._write_config(bpfsettings.config_view(lb, obj), self.direct_reads)
        ret = lb.bpf_object__load(obj)
        if ret < 0:
            log = take_log().strip()
            raise DriverError(f"loading failed: {os.strerror(-ret)}\n{log[-4000:]}")
        for cpu, fd in enumerate(ring_fds):
            check(
                lb.bpf_map_update_elem(
                    lb.bpf_map__fd(rings), ffi.new("uint32_t *", cpu), ffi.new("int32_t *", fd), 0
                ),
                "installing a ring",
            )
        self._poll = select.epoll()
        for ring in self._rings:
            self._poll.register(ring.fd, select.EPOLLIN)

    @staticmethod
    def _write_config(config: Any, direct_reads: bool) -> None:
        """The probe's struct sentry_bpf_config: portable syscall codes, and whether files
        are read through BTF pointers (bpf_rdonly_cast) or probe-read."""
        check_process_layouts()
        for nr, sc in X86_64_SYSCALLS.items():
            if nr < SYSCALL_NR_MAX:
                config.ppm_sc_codes[nr] = sc.ppm_sc
        config.direct_reads = direct_reads

    def _map(self, name: str) -> Any:
        return check_ptr(
            self._lib.bpf_object__find_map_by_name(self._obj, name.encode()), f"finding map {name}"
        )

    def _configure(self, snaplen: int, interest: Iterable[int] | None, target_tgid: int) -> None:
        bss = find_map(self._lib, self._obj, ".bss")
        size = max(PAGE, self._lib.bpf_map__value_size(bss))
        self._settings_map = mmap.mmap(
            self._lib.bpf_map__fd(bss), size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
        )
        self._settings = bpfsettings.settings_view(self._settings_map)
        s = self._settings
        s.boot_to_epoch_ns = _boot_to_epoch_ns()
        s.exclude_tgid = os.getpid()
        s.target_tgid = target_tgid
        s.sampling = 1
        self.set_snaplen(snaplen)
        self.set_interest(interest)

    def _attach(self) -> None:
        for prog in self._progs:
            link = check_ptr(
                self._lib.bpf_program__attach(prog),
                f"attaching {ffi.string(self._lib.bpf_program__name(prog)).decode()}",
            )
            self._links.append(link)

    # -- LiveSource ----------------------------------------------------------------

    def set_interest(self, syscalls: Iterable[int] | None) -> None:
        """Capture only these native syscall numbers (None: all). procexit is always on."""
        s = self._settings
        if syscalls is None:
            s.all_syscalls = 1
            return
        bits = [0] * (SYSCALL_NR_MAX // 64)
        for nr in syscalls:
            if 0 <= nr < SYSCALL_NR_MAX:
                bits[nr >> 6] |= 1 << (nr & 63)
        for i, word in enumerate(bits):
            s.interest[i] = word
        s.all_syscalls = 0

    @property
    def event_types(self) -> frozenset[int] | None:
        """Event numbers delivered (None: all); others are not made into Events."""
        return self._event_types

    @event_types.setter
    def event_types(self, types: Iterable[int] | None) -> None:
        """Deliver only these event numbers, and capture only the syscalls that make them."""
        if types is None:
            self._event_types = None
            if self._walker is not None:
                self._walker.want(None)
            self.set_interest(None)
            return
        wanted = frozenset(types)
        generic = bool(wanted & {0, 1})
        self._event_types = wanted
        if self._walker is not None:
            self._walker.want(wanted)
        self.set_interest(
            nr
            for nr, sc in X86_64_SYSCALLS.items()
            if (sc.enter_event in wanted or sc.enter_event + 1 in wanted)
            or (generic and not sc.enter_event)
        )

    def set_quiet(self, paths: Iterable[str]) -> list[str]:
        """Hold back opens of these files (and their closes) in the probe, as
        ``probe_quiet.h`` describes; [] turns it off. Only absolute paths of at most
        QUIET_PATH_MAX bytes that exist are taken (each with the inode it names now);
        returns those."""
        lb = self._lib
        fd = lb.bpf_map__fd(self._map("quiet_files"))
        self._settings.quiet_on = 0
        for key in self._quiet_keys:
            lb.bpf_map_delete_elem(fd, ffi.from_buffer(key))
        self._quiet_keys = []
        taken = []
        for path in paths:
            raw = os.fsencode(path)
            if not raw.startswith(b"/") or len(raw) > QUIET_PATH_MAX:
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            key = raw.ljust(QUIET_KEY_LEN, b"\0")
            value = struct.pack("<QII", st.st_ino, st.st_dev & 0xFFFFFFFF, 0)
            check(
                lb.bpf_map_update_elem(fd, ffi.from_buffer(key), ffi.from_buffer(value), 0),
                f"adding quiet file {path}",
            )
            self._quiet_keys.append(key)
            taken.append(path)
        self._settings.quiet_on = 1 if taken else 0
        return taken

    def set_sampling(self, ratio: int) -> None:
        """Sampling ("dropping mode"), as the kernel module's: with ratio > 1 keep only the
        events of the first 1/ratio of each second, but always those that build process and
        fd state (``driver/include/sentry_sampling.h``); the others are counted as
        suppressed. 1 keeps everything."""
        if not 1 <= ratio <= SAMPLING_MAX:
            raise DriverError(f"sampling ratio must be within 1..{SAMPLING_MAX}, not {ratio}")
        self._settings.sampling = ratio

    def set_snaplen(self, snaplen: int) -> None:
        if not 0 <= snaplen <= 65000:
            raise DriverError(f"snaplen {snaplen} out of range 0..65000")
        self._settings.snaplen = snaplen

    def batches(self) -> Iterator[list[Event]]:
        """Batches of events in timestamp order; an empty batch after each idle sleep."""
        rings = self._rings
        budget = self._budget
        wait = POLL_MIN
        while not self._closed:
            for ring in rings:
                ring.release()
            batch: list[Event] = []
            wanted = self._event_types
            share = max(1, budget // len(rings))
            read = [ring.take(share, batch, wanted) for ring in rings]
            if not any(read):
                # The probe wakes us only when a ring fills up; otherwise poll, backing off.
                self._poll.poll(wait)
                wait = min(wait * 2, self._idle)
                read = [ring.take(share, batch, wanted) for ring in rings]
            else:
                wait = POLL_MIN
            if len(read) - read.count(0) > 1:
                batch.sort(key=_by_ts)
            num = self._num
            for ev in batch:
                num += 1
                ev.num = num
            self._num = num
            yield batch

    def stats(self) -> CaptureStats:
        """Counters summed over CPUs."""
        if self._obj is None:
            return CaptureStats()
        fd = self._lib.bpf_map__fd(self._map("stats_map"))
        per_cpu = 48  # struct sentry_stats: six u64
        buf = ffi.new("char[]", per_cpu * self.ncpu)
        check(self._lib.bpf_map_lookup_elem(fd, ffi.new("uint32_t *", 0), buf), "reading stats")
        totals = [0] * 6
        raw = ffi.buffer(buf)
        for cpu in range(self.ncpu):
            for i, val in enumerate(struct.unpack_from("<6Q", raw, cpu * per_cpu)):
                totals[i] += val
        quiet = self._per_cpu_sum("quiet_stats", 2)
        return CaptureStats(
            events=totals[0],
            drops_buffer=totals[1],
            drops_page_fault=totals[2],
            drops_bug=totals[3],
            preemptions=totals[4],
            suppressed=totals[5],
            quiet=quiet[0],
            quiet_written=quiet[1],
        )

    def _per_cpu_sum(self, name: str, n: int) -> list[int]:
        """The u64 counters of a one-entry per-CPU array map, summed over CPUs."""
        fd = self._lib.bpf_map__fd(self._map(name))
        buf = ffi.new("char[]", 8 * n * self.ncpu)
        check(self._lib.bpf_map_lookup_elem(fd, ffi.new("uint32_t *", 0), buf), f"reading {name}")
        raw = ffi.buffer(buf)
        totals = [0] * n
        for cpu in range(self.ncpu):
            for i, val in enumerate(struct.unpack_from(f"<{n}Q", raw, cpu * 8 * n)):
                totals[i] += val
        return totals

    # bpf_prog_info: its size as 5.16 grew it (verified_insns), and where that field is
    _PROG_INFO_SIZE = 256
    _VERIFIED_INSNS_AT = 216
    VERIFIER_LIMIT = 1_000_000  # instructions the verifier processes per program at most

    def verified_instructions(self) -> dict[str, int]:
        """Instructions the kernel's verifier processed for each loaded program (0 where
        the kernel does not say: before 5.16): the headroom under its 1 M limit."""
        lb = self._lib
        out: dict[str, int] = {}
        for prog in self._progs:
            name = ffi.string(lb.bpf_program__name(prog)).decode()
            info = ffi.new("char[]", self._PROG_INFO_SIZE)
            size = ffi.new("uint32_t *", self._PROG_INFO_SIZE)
            check(lb.bpf_obj_get_info_by_fd(lb.bpf_program__fd(prog), info, size), name)
            out[name] = (
                struct.unpack_from("<I", ffi.buffer(info), self._VERIFIED_INSNS_AT)[0]
                if size[0] >= self._VERIFIED_INSNS_AT + 4
                else 0
            )
        return out

    def close(self) -> None:
        """Detach the probe and release rings, maps and the object."""
        if self._closed:
            return
        self._closed = True
        if self._obj is not None and self._settings_map is not None:
            self._settings.capturing = 0
        for link in self._links:
            self._lib.bpf_link__destroy(link)
        self._links = []
        self._release_object()

    def _release_object(self) -> None:
        if self._poll is not None:
            self._poll.close()
            self._poll = None
        for ring in self._rings:
            ring.close()
        self._rings = []
        if self._settings_map is not None:
            self._settings = None
            with contextlib.suppress(BufferError):
                self._settings_map.close()
            self._settings_map = None
        if self._obj is not None:
            self._lib.bpf_object__close(self._obj)
            self._obj = None

    def __enter__(self) -> EbpfSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
