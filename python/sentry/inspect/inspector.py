"""The inspector: turns a stream of syscall events into thread, fd, user and container state.

``Inspector.process(event)`` must see every event in order. It sets ``event.thread`` (the
:class:`ThreadInfo` of the calling thread) and ``event.fdinfo`` (the fd the event is about),
and updates the tables for the few event types that change state (clone/fork/execve/procexit,
open/socket/connect/accept/bind/dup/pipe/close, chdir, setuid ...), following sysdig's
semantics. Every other event costs a dictionary lookup or two.

Here: the tables, the starting state, the dispatch and the per-event path. The handlers are
mixins, one module per kind of state: ``process_events`` (clone, execve, procexit),
``fd_events`` (open, sockets, dup, pipe, close ...), ``identity_events`` (set*id, capset,
chdir), ``container_events`` (cgroups, container events); ``handler_base`` holds what they
share. Each handler is bound once into ``_handlers``, by event type.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sentry.events.table import EVENTS, EventFlags
from sentry.inspect.container_events import ContainerEvents
from sentry.inspect.containers import ContainerTable
from sentry.inspect.fd_events import FdEvents
from sentry.inspect.fds import IpAddress
from sentry.inspect.handler_base import Handler
from sentry.inspect.identity_events import IdentityEvents
from sentry.inspect.process_events import ProcessEvents
from sentry.inspect.threads import ThreadInfo, ThreadLimits, ThreadTable
from sentry.inspect.users import UserTable

if TYPE_CHECKING:
    from sentry.capture.scapreader import ScapReader


_PT_FD = 14  # scap's PT_FD
# What process() does for one event type, as bits of Inspector._plan (0: nothing special).
_NO_RESET = 1
_ENTER_FD = 2
_STASH = 4
_EXIT_FD = 8
_HANDLED = 16
_OTHER_BLOCK = 2  # cs_feed_blocks: a block the C tracker leaves to Python (CaptureFeed)
NS = 1_000_000_000


# Syscalls whose enter parameters an exit's evt.arg.X may name, kept per thread as the
# exit's stand-in for the parameters today's drivers put on the exit itself (libs' "drop
# enter events" work, Falco 0.42): every enter with a parameter its exit lacks, other than
# the fd (the thread's last fd already) and a size. Left out, for their volume: I/O, polling
# and memory calls, whose extra enter parameters no rule language user asks of an exit.
_ARGS_UNKEPT = frozenset(
    (
        "read",
        "write",
        "pread",
        "pwrite",
        "readv",
        "writev",
        "preadv",
        "pwritev",
        "send",
        "recv",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "futex",
        "nanosleep",
        "poll",
        "ppoll",
        "epoll_wait",
        "brk",
        "lseek",
        "llseek",
        "semop",
        "mmap",
        "mmap2",
        "munmap",
        "mprotect",
        "splice",
        "sendfile",
        "copy_file_range",
        "fcntl",
        "close",
        "fstat",
        "fstat64",
        "getdents",
        "getdents64",
        "syscall",
        "scapevent",
        "pluginevent",
        "container",
        "signaldeliver",
    )
)


def _args_enters() -> frozenset[int]:
    codes = set()
    for code, info in EVENTS.items():
        exit_info = EVENTS.get(code + 1)
        if info.direction != ">" or exit_info is None or exit_info.name != info.name:
            continue
        if info.name in _ARGS_UNKEPT:
            continue
        missing = {p.name for p in info.params} - {p.name for p in exit_info.params}
        if missing - {"fd", "size"}:
            codes.add(code)
    return frozenset(codes)


ENTER_ARGS: frozenset[int] = _args_enters()
"""Enter event types whose parameters the thread keeps (``ThreadInfo.enter``) for the exit's
``evt.arg.*`` (see :func:`sentry.fields.evt.entered`)."""


class Inspector(ProcessEvents, FdEvents, IdentityEvents, ContainerEvents):
    """State of the observed system, rebuilt from events (and a starting snapshot)."""

    # Whether a thread's last enter (``last_type``/``last_ts``: an exit reads its enter
    # only when it was the thread's last one) counts the enters the reader leaves out. Not
    # here: this inspector sees only what is read, so the reader must read every enter.
    sees_every_enter = False

    def __init__(
        self,
        *,
        users: UserTable | None = None,
        containers: ContainerTable | None = None,
        local_addresses: Iterable[IpAddress] = (),
        limits: ThreadLimits | None = None,
    ) -> None:
        self.limits = limits = limits if limits is not None else ThreadLimits()
        self.threads = ThreadTable(limits.table_size)
        self._thread_map = self.threads.threads  # the table's dict, for process()
        self.threads.inspector = self
        self.users = users if users is not None else UserTable()
        self.containers = containers if containers is not None else ContainerTable()
        self.local_addresses: set[IpAddress] = set(local_addresses)
        self.first_ts: int | None = None
        self._dead_tid: int | None = None
        self._created: ThreadInfo | None = None  # placeholder made for the current event
        # event.fdinfo of an event whose plan names no fd: none here; the fds-in-C subclass
        # puts the C tracker's event fd there (read when a field asks).
        self._event_fd: Any = None
        # The fds-in-C subclass (cstate_inspector.py): its C tracker is fed the capture up
        # to each event before the event is handled here (cs_feed_blocks and its arguments
        # but the limit; the feed, for the blocks C leaves to Python). None: no tracker.
        self._feed_blocks: Any = None
        self._feed_args: tuple[Any, ...] = ()
        self._feed: Any = None
        self.current: Any = None  # with a tracker: the event handled last (its fd is C's)
        # Live only: threads whose exit was never seen (dropped events) are purged every
        # purge_interval_s of event time, once idle thread_timeout_s and gone from /proc.
        self.proc_root: str | None = None
        self._next_purge_ts = 0  # 0: the first event sets the first deadline
        self.purged = 0  # threads purged so far
        # Live only: a thread first seen by an event that does not create it (its clone or
        # execve came before the driver started, or was dropped) is read from /proc, as
        # libs do, instead of showing <NA>; counted.
        self.proc_lookups = 0
        self._creates = {
            code
            for code, info in EVENTS.items()
            if info.name in ("clone", "fork", "vfork", "clone3", "execve", "execveat", "procexit")
        }
        self._handlers: dict[int, Handler] = {}
        self._stash_enter: set[int] = set()  # enter types whose params the exit needs
        self._stash_state: set[int] = set()  # ... of them, for the state (not only evt.arg)
        self._enter_fd: set[int] = set()  # enter types whose first param is the fd used
        self._exit_fd: set[int] = set()  # exit types about the fd their enter named
        self._no_reset: set[int] = set()  # types sysdig parses without a thread lookup
        self._creat = {code for code, info in EVENTS.items() if info.name == "creat"}
        # Callers of clones whose child's half has not been seen, by child tid: a caller that
        # exits right after fork is gone (and the child reparented, its ptid 1) by the time
        # the child's half arrives, which must still copy the caller's state, not pid 1's.
        self._callers: dict[int, ThreadInfo] = {}
        self._build_dispatch()
        # The sets above folded into one lookup per event: type -> _NO_RESET | _ENTER_FD ...
        self._plan: dict[int, int] = {}
        for bit, codes in (
            (_NO_RESET, self._no_reset),
            (_ENTER_FD, self._enter_fd),
            (_STASH, self._stash_enter),
            (_EXIT_FD, self._exit_fd),
            (_HANDLED, self._handlers),
        ):
            for code in codes:
                self._plan[code] = self._plan.get(code, 0) | bit

    # ---- starting state -------------------------------------------------------------------

    @classmethod
    def from_capture(cls, reader: ScapReader, limits: ThreadLimits | None = None) -> Inspector:
        """State as a capture file describes it: its process, fd, user and interface lists."""
        from sentry.inspect.snapshot import load_capture_state

        users = UserTable.from_capture(
            getattr(reader, "users", ()) or (), getattr(reader, "groups", ()) or ()
        )
        inspector = cls(users=users, limits=limits)
        load_capture_state(inspector, reader)
        return inspector

    @classmethod
    def from_host(cls, limits: ThreadLimits | None = None, *, scan: bool = True) -> Inspector:
        """State of this machine now, for live capture: /proc, /etc/passwd, interfaces.

        In a container (``$HOST_ROOT`` set, the host's / mounted there, as the Helm chart
        does) they are read under it: the drivers report the host's processes, which a
        container's own /proc may not show (no hostPID).

        ``scan=False`` leaves the process table empty: open the driver first, then call
        :meth:`scan_processes` (as libs do), so that a process started between the scan and
        the driver's start is not missed (its execve before the driver, its syscalls after,
        would show as ``<NA>``)."""
        from pathlib import Path

        from sentry.inspect.procfs import local_addresses

        root = Path(os.environ.get("HOST_ROOT") or "/")
        proc = root / "proc"
        if not (proc / "self").exists():
            root, proc = Path("/"), Path("/proc")
        inspector = cls(
            users=UserTable.from_host(root), local_addresses=local_addresses(proc), limits=limits
        )
        inspector.proc_root = str(proc)
        if scan:
            inspector.scan_processes()
        return inspector

    def scan_processes(self) -> int:
        """Add every thread under ``proc_root`` to the table; returns how many it kept.
        Events already captured and processed after this overwrite what it read."""
        from pathlib import Path

        from sentry.inspect.procfs import load_threads

        if self.proc_root is None:
            raise RuntimeError("scan_processes needs a live inspector (from_host)")
        return load_threads(self.threads, Path(self.proc_root))

    # ---- dispatch -------------------------------------------------------------------------

    def _build_dispatch(self) -> None:
        # Each handler module's exits by syscall name, bound once here.
        exits: dict[str, Handler] = {
            **self._process_exits(),
            **self._fd_exits(),
            **self._identity_exits(),
        }
        # Exits that need what their enter said (the enter params are kept for them).
        stash = {
            "socket",
            "socketpair",
            "execve",
            "execveat",
            "setuid",
            "setresuid",
            "setgid",
            "setresgid",
        }
        # Old open exits carry only the fd: their enter's path and flags are kept for them.
        opens = {"open", "openat", "openat2", "creat"}
        for code, info in EVENTS.items():
            params = info.params
            if info.flags & EventFlags.SKIPPARSERESET:
                self._no_reset.add(code)
            if info.name == "container" and info.direction == ">":
                self._handlers[code] = self._on_container
            names = {p.name for p in params}
            if info.direction == ">":
                if params and int(params[0].type) == _PT_FD and params[0].name in ("fd", "oldfd"):
                    self._enter_fd.add(code)
                exit_info = EVENTS.get(code + 1)
                old_open = (
                    info.name in opens
                    and exit_info is not None
                    and all(p.name != "name" for p in exit_info.params)
                )
                if info.name in stash or old_open:
                    self._stash_state.add(code)
                if info.name in stash or old_open or code in ENTER_ARGS:
                    self._stash_enter.add(code)
                if info.name == "procexit":
                    self._handlers[code] = self._on_procexit
                elif info.name == "connect":
                    self._handlers[code] = self._on_connect_enter
                elif info.name in ("sendto", "sendmsg") and "tuple" in names:
                    self._handlers[code] = self._on_send_enter
            else:
                # The exit of an fd-using enter is about the same fd (read, close, connect ...).
                if code - 1 in self._enter_fd:
                    self._exit_fd.add(code)
                enter = EVENTS.get(code - 1)
                enter_names = {p.name for p in enter.params} if enter is not None else set()
                handler = exits.get(info.name)
                if (info.name in ("recvfrom", "recvmsg") and "tuple" in names) or (
                    info.name in ("sendto", "sendmsg") and "tuple" in enter_names
                ):
                    handler = self._on_datagram_exit
                if handler is not None:
                    self._handlers[code] = handler

    def handled_types(self) -> set[int]:
        """Event types that change state: a reader must never skip these."""
        return set(self._handlers) | self._stash_state | {c - 1 for c in self._handlers}

    # ---- per event ------------------------------------------------------------------------

    def process(self, ev: Any) -> None:
        """Update state with one event and attach ``thread`` and ``fdinfo`` to it (the
        Event's slot, not its property: this runs for every event)."""
        feed = self._feed_blocks
        if feed is not None:
            self.current = ev
            if feed(*self._feed_args, ev.num) == _OTHER_BLOCK:
                self._feed.upto(ev.num)
        if self._dead_tid is not None:
            self.threads.remove(self._dead_tid)
            self._dead_tid = None
        if self.first_ts is None and ev.ts:
            self.first_ts = ev.ts  # metadata events stamped 0 do not start the clock
        code = ev.type
        self._created = None
        if self.proc_root is not None and ev.ts > self._next_purge_ts:
            self._purge_tick(ev.ts)
        th = self._thread_map.get(ev.tid)
        plan = self._plan.get(code, 0)
        if plan & _NO_RESET:
            # Internal events (procinfo, container ...): no placeholder thread, no fd.
            ev.thread = th
            ev._fdinfo = None
            if plan & _HANDLED:
                self._handlers[code](ev, th)
            return
        if th is None:
            th = self._created = self.threads.new(ev.tid)
            # Only for a kept entry: a full table's detached placeholder would be read
            # again for each of the thread's events.
            if (
                self.proc_root is not None
                and code not in self._creates
                and self._thread_map.get(ev.tid) is th
            ):
                self._lookup(th)
        ev.thread = th
        if code & 1 == 0:  # enter
            th.last_type = code
            th.last_ts = ev.ts
            if plan & _ENTER_FD:
                fd = th.last_fd = ev.param(0)
                ev._fdinfo = th.fds.fds.get(fd)
            else:
                ev._fdinfo = self._event_fd
            if plan & _STASH:
                param = ev.param
                th.enter = {p.name: param(i) for i, p in enumerate(ev.info.params[: ev.nparams])}
        elif plan & _EXIT_FD:
            # As sysdig: the thread's last fd, even when this exit's enter was not seen.
            ev._fdinfo = th.fds.fds.get(th.last_fd)
        else:
            ev._fdinfo = self._event_fd
        if plan & _HANDLED:
            self._handlers[code](ev, th)

    def _lookup(self, th: ThreadInfo) -> None:
        """Fill a live placeholder from /proc/<tid> when the thread is still there."""
        from sentry.inspect.procfs import fill_thread

        if fill_thread(th, self.proc_root or "/proc"):
            self.proc_lookups += 1

    def _purge_tick(self, ts: int) -> None:
        """The auto-purge scan, due once per ``purge_interval_s`` of event time."""
        if self._next_purge_ts:
            self.purge_gone(ts)
        self._next_purge_ts = ts + int(self.limits.purge_interval_s * NS)

    def purge_gone(self, now_ns: int, idle_ns: int | None = None) -> int:
        """Forget threads idle for ``idle_ns`` (default: the thread timeout) that no longer
        exist under ``proc_root`` (their exit event was lost); returns how many."""
        if self.proc_root is None:
            return 0
        if idle_ns is None:
            idle_ns = int(self.limits.thread_timeout_s * NS)
        # /proc/<tid> resolves for any live thread, not only for processes (hidden from
        # the listing, but there).
        gone = [
            th.tid
            for th in self.threads
            if max(th.last_ts, th.clone_ts) < now_ns - idle_ns
            and not os.path.exists(f"{self.proc_root}/{th.tid}")
        ]
        for tid in gone:
            self.threads.remove(tid)
        self.purged += len(gone)
        return len(gone)

    # ---- helpers for fields ---------------------------------------------------------------

    def is_local(self, ip: IpAddress | None) -> bool:
        """Whether an address belongs to this machine (its interfaces or loopback)."""
        if ip is None:
            return False
        return ip in self.local_addresses or ip.is_loopback
