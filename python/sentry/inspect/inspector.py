"""The inspector: turns a stream of syscall events into thread, fd, user and container state.

``Inspector.process(event)`` must see every event in order. It sets ``event.thread`` (the
:class:`ThreadInfo` of the calling thread) and ``event.fdinfo`` (the fd the event is about),
and updates the tables for the few event types that change state (clone/fork/execve/procexit,
open/socket/connect/accept/bind/dup/pipe/close, chdir, setuid ...), following sysdig's
semantics. Every other event costs a dictionary lookup or two.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import posixpath
from collections.abc import Callable, Iterable
from typing import Any

from sentry.events.table import EVENTS, EventFlags
from sentry.events.wire import SCAP_VALUES as _SCAP
from sentry.inspect.containers import (
    HOST_ID,
    SCAP_TYPES,
    ContainerInfo,
    ContainerTable,
    container_identity,
    from_scap_json,
)
from sentry.inspect.fds import INET_TYPES, FdInfo, FdTable, FdType, IpAddress, Role
from sentry.inspect.threads import NA_NAME, ThreadInfo, ThreadLimits, ThreadTable, dir_path
from sentry.inspect.users import UserTable

# scap's clone flags (PPM_CL_*), execve flags (PPM_EXE_*), open flags (PPM_O_*): the values
# the drivers write (events/wire.py, rendered into driver/include/sentry_scap_values.h).
CL_CLONE_FILES = _SCAP["SCAP_CL_CLONE_FILES"]
CL_CLONE_PARENT = _SCAP["SCAP_CL_CLONE_PARENT"]
CL_CLONE_THREAD = _SCAP["SCAP_CL_CLONE_THREAD"]
CL_CHILD_IN_PIDNS = _SCAP["SCAP_CL_CHILD_IN_PIDNS"]
EXE_WRITABLE = _SCAP["SCAP_EXE_WRITABLE"]
O_RDONLY = _SCAP["SCAP_O_RDONLY"]
O_WRONLY = _SCAP["SCAP_O_WRONLY"]
O_CREAT = _SCAP["SCAP_O_CREAT"]
O_TRUNC = _SCAP["SCAP_O_TRUNC"]
O_DIRECTORY = _SCAP["SCAP_O_DIRECTORY"]
AT_FDCWD = -100
EXVAT_AT_EMPTY_PATH = _SCAP["SCAP_EXVAT_AT_EMPTY_PATH"]
EXECVEAT_E = 330  # PPME_SYSCALL_EXECVEAT_E: a successful execveat exits as an execve
EINPROGRESS = 115

_PT_FD = 14  # scap's PT_FD
# What process() does for one event type, as bits of Inspector._plan (0: nothing special).
_NO_RESET = 1
_ENTER_FD = 2
_STASH = 4
_EXIT_FD = 8
_HANDLED = 16
NS = 1_000_000_000

_FAMILY_TYPES = {1: FdType.UNIX, 2: FdType.IPV4, 10: FdType.IPV6, 16: FdType.NETLINK}
_SOCK_L4 = {1: "tcp", 2: "udp", 3: "raw"}  # SOCK_STREAM, SOCK_DGRAM, SOCK_RAW


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
``evt.arg.*`` (see :func:`sentry.fields.evt.enter_param`)."""

_MAX_CALLERS = 4096  # clone callers kept for their child's half (see Inspector._callers)

Handler = Callable[[Any, Any], None]  # (event, its ThreadInfo, None for internal events)


def split_nul(value: Any) -> list[str]:
    """execve/clone BYTEBUF lists (``a\\0b\\0``) or already-split lists, as strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="surrogateescape")
    else:
        text = str(value)
    parts = text.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def join_path(base: str, name: str) -> str:
    """``name`` resolved against directory ``base`` and normalised, as sysdig prints paths."""
    if not name:
        return base
    if name[0] == "/" and "//" not in name and "/." not in name and name[-1] != "/":
        return name  # absolute and normal already: nothing normpath() would change
    path = name if name.startswith("/") or not base else base.rstrip("/") + "/" + name
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("//") else norm


class Inspector:
    """State of the observed system, rebuilt from events (and a starting snapshot)."""

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
        # Live only: threads whose exit was never seen (dropped events) are purged every
        # purge_interval_s of event time, once idle thread_timeout_s and gone from /proc.
        self.proc_root: str | None = None
        self._next_purge_ts = 0  # 0: the first event sets the first deadline
        self.purged = 0  # threads purged so far
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
    def from_capture(cls, reader: Any, limits: ThreadLimits | None = None) -> Inspector:
        """State as a capture file describes it: its process, fd, user and interface lists."""
        from sentry.inspect.snapshot import load_capture_state

        users = UserTable.from_capture(
            getattr(reader, "users", ()) or (), getattr(reader, "groups", ()) or ()
        )
        inspector = cls(users=users, limits=limits)
        load_capture_state(inspector, reader)
        return inspector

    @classmethod
    def from_host(cls, limits: ThreadLimits | None = None) -> Inspector:
        """State of this machine now, for live capture: /proc, /etc/passwd, interfaces.

        In a container (``$HOST_ROOT`` set, the host's / mounted there, as the Helm chart
        does) they are read under it: the drivers report the host's processes, which a
        container's own /proc may not show (no hostPID)."""
        from pathlib import Path

        from sentry.inspect.procfs import load_threads, local_addresses

        root = Path(os.environ.get("HOST_ROOT") or "/")
        proc = root / "proc"
        if not (proc / "self").exists():
            root, proc = Path("/"), Path("/proc")
        inspector = cls(
            users=UserTable.from_host(root), local_addresses=local_addresses(proc), limits=limits
        )
        load_threads(inspector.threads, proc)
        inspector.proc_root = str(proc)
        return inspector

    # ---- dispatch -------------------------------------------------------------------------

    def _build_dispatch(self) -> None:
        exits: dict[str, Handler] = {
            "clone": self._on_clone_exit,
            "fork": self._on_clone_exit,
            "vfork": self._on_clone_exit,
            "clone3": self._on_clone_exit,
            "execve": self._on_execve_exit,
            "execveat": self._on_execve_exit,
            "open": self._on_open_exit,
            "openat": self._on_open_exit,
            "openat2": self._on_open_exit,
            "creat": self._on_open_exit,
            "open_by_handle_at": self._on_open_exit,
            "socket": self._on_socket_exit,
            "socketpair": self._on_socketpair_exit,
            "connect": self._on_connect_exit,
            "accept": self._on_accept_exit,
            "accept4": self._on_accept_exit,
            "bind": self._on_bind_exit,
            "dup": self._on_dup_exit,
            "dup2": self._on_dup_exit,
            "dup3": self._on_dup_exit,
            "pipe": self._on_pipe_exit,
            "pipe2": self._on_pipe_exit,
            "close": self._on_close_exit,
            "eventfd": self._simple_fd(FdType.EVENT),
            "eventfd2": self._simple_fd(FdType.EVENT),
            "signalfd": self._simple_fd(FdType.SIGNALFD),
            "signalfd4": self._simple_fd(FdType.SIGNALFD),
            "timerfd_create": self._simple_fd(FdType.TIMERFD),
            "inotify_init": self._simple_fd(FdType.INOTIFY),
            "inotify_init1": self._simple_fd(FdType.INOTIFY),
            "epoll_create": self._simple_fd(FdType.EVENTPOLL),
            "epoll_create1": self._simple_fd(FdType.EVENTPOLL),
            "userfaultfd": self._simple_fd(FdType.USERFAULTFD),
            "io_uring_setup": self._simple_fd(FdType.IO_URING),
            "memfd_create": self._on_memfd_create_exit,
            "chdir": self._on_chdir_exit,
            "fchdir": self._on_fchdir_exit,
            "setuid": self._on_setuid_exit,
            "setresuid": self._on_setuid_exit,
            "setgid": self._on_setgid_exit,
            "setresgid": self._on_setgid_exit,
            "setsid": self._on_setsid_exit,
            "capset": self._on_capset_exit,
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
        """Update state with one event and attach ``thread`` and ``fdinfo`` to it."""
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
            ev.fdinfo = None
            if plan & _HANDLED:
                self._handlers[code](ev, th)
            return
        if th is None:
            th = self._created = self.threads.new(ev.tid)
        ev.thread = th
        if code & 1 == 0:  # enter
            th.last_type = code
            th.last_ts = ev.ts
            if plan & _ENTER_FD:
                fd = th.last_fd = ev.param(0)
                ev.fdinfo = th.fds.fds.get(fd)
            else:
                ev.fdinfo = None
            if plan & _STASH:
                param = ev.param
                th.enter = {p.name: param(i) for i, p in enumerate(ev.info.params[: ev.nparams])}
        elif plan & _EXIT_FD:
            # As sysdig: the thread's last fd, even when this exit's enter was not seen.
            ev.fdinfo = th.fds.fds.get(th.last_fd)
        else:
            ev.fdinfo = None
        if plan & _HANDLED:
            self._handlers[code](ev, th)

    def _entered(self, ev: Any, th: ThreadInfo) -> dict[str, Any]:
        """What this exit's enter event said (empty when the enter was not seen)."""
        if th.last_type == ev.type - 1 and th.enter is not None:
            return th.enter
        return {}

    # ---- processes ------------------------------------------------------------------------

    def _on_procexit(self, ev: Any, th: ThreadInfo) -> None:
        # sysdig drops the thread once this event has been seen by everything else.
        self._dead_tid = th.tid

    def _on_clone_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        flags = ev.param_by_name("flags") or 0
        if res == 0:
            # The child's half: it describes the child, unless the child was already known.
            caller = self._callers.pop(ev.tid, None)
            if self._created is not th:
                return
            child = th
            child_pid = ev.param_by_name("pid")
            child_ptid = ev.param_by_name("ptid")
            if child_pid is None:
                child_pid = ev.tid
            if child_ptid is None:
                child_ptid = -1
            # The creator: the caller's main thread for threads, the parent for processes;
            # the caller itself when its half was seen (it may have exited since).
            source = self.threads.get(child_pid if flags & CL_CLONE_THREAD else child_ptid)
            if caller is not None and (source is None or not flags & CL_CLONE_THREAD):
                source = caller
            if flags & CL_CLONE_THREAD:
                child_ptid = child_pid  # sysdig makes a thread the child of its main thread
        else:
            # The caller's half: sysdig leaves the child to its own half, except for a child
            # in another pid namespace, whose own events it cannot place.
            if self.threads.get(res) is not None:
                return  # the child's half came first
            if not flags & CL_CHILD_IN_PIDNS:
                callers = self._callers
                if len(callers) >= _MAX_CALLERS:
                    del callers[next(iter(callers))]  # the oldest: its child's half was lost
                callers[res] = th
                return
            source = th
            child_pid = th.pid if flags & CL_CLONE_THREAD else res
            child_ptid = th.ptid if flags & (CL_CLONE_THREAD | CL_CLONE_PARENT) else th.tid
            child = self.threads.new(res)
        child.pid = child_pid
        child.ptid = child_ptid
        child.flags = flags
        child.clone_ts = ev.ts
        exe = ev.param_by_name("exe")
        child.exe = exe if exe is not None else (source.exe if source else NA_NAME)
        args = ev.param_by_name("args")
        child.args = split_nul(args) if args is not None else (list(source.args) if source else [])
        comm = ev.param_by_name("comm")
        if comm is None:
            comm = source.comm if source is not None else child.exe
        child.comm = comm
        cwd = ev.param_by_name("cwd")
        child.cwd = dir_path(cwd) if cwd is not None else (source.cwd if source else "")
        fdlimit = ev.param_by_name("fdlimit")
        child.fdlimit = fdlimit or 0
        uid = ev.param_by_name("uid")
        gid = ev.param_by_name("gid")
        vtid = ev.param_by_name("vtid")
        vpid = ev.param_by_name("vpid")
        if source is not None:
            child.uid, child.gid = source.uid, source.gid
            child.loginuid, child.tty = source.loginuid, source.tty
            child.sid, child.vpgid = source.sid, source.vpgid
            child.env = source.env
            child.exepath = source.exepath
            child.exe_writable = source.exe_writable
            child.exe_flags = source.exe_flags
            child.cap_inheritable = source.cap_inheritable
            child.cap_permitted = source.cap_permitted
            child.cap_effective = source.cap_effective
            child.exe_ino, child.exe_ino_ctime = source.exe_ino, source.exe_ino_ctime
            child.exe_ino_mtime = source.exe_ino_mtime
            child.exe_ino_ctime_duration_clone_ts = source.exe_ino_ctime_duration_clone_ts
            child.pidns_init_start_ts = source.pidns_init_start_ts
            child.cgroups = source.cgroups
            child.container_id = source.container_id
            if flags & (CL_CLONE_FILES | CL_CLONE_THREAD):
                child.fds = source.fds
            else:
                child.fds = source.fds.copy()
        else:
            child.fds = FdTable()
        if uid is not None:
            child.uid = uid
        if gid is not None:
            child.gid = gid
        if vtid is not None:
            child.vtid = vtid
        if vpid is not None:
            child.vpid = vpid
        pidns_start = ev.param_by_name("pidns_init_start_ts")
        if pidns_start is not None:
            child.pidns_init_start_ts = pidns_start
        cgroups = ev.param_by_name("cgroups")
        if cgroups is not None:
            self.set_cgroups(child, split_nul(cgroups))

    def _on_execve_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        enter = self._entered(ev, th)
        if not enter and th.last_type == EXECVEAT_E and th.enter is not None:
            enter = th.enter  # as libs: an execve exit after an execveat enter
        # The process is known from here on even if the capture missed its clone.
        for name in ("pid", "ptid"):
            value = ev.param_by_name(name)
            if value is not None:
                setattr(th, name, value)
        exe = ev.param_by_name("exe")
        if exe is not None:
            th.exe = exe
        th.args = split_nul(ev.param_by_name("args"))
        comm = ev.param_by_name("comm")
        th.comm = comm if comm is not None else th.exe
        filename = enter.get("filename")
        if filename is None and "pathname" in enter:
            filename = self._execveat_path(th, enter)
        filename = filename if isinstance(filename, str) else ""
        # a relative program path is the cwd's (an FSPATH, as sysdig and libs resolve it)
        relative = (
            filename
            and filename[0] != "/"
            and filename != NA_NAME
            and (not filename.startswith("memfd:"))
        )
        th.exepath = join_path(th.main_thread().cwd, filename) if relative else filename
        if th.exepath in ("", NA_NAME):
            # the enter or the fd it ran was not seen: the path the driver read from the
            # program's file (a memfd's as memfd_create's event names it)
            trusted = ev.param_by_name("trusted_exepath")
            if isinstance(trusted, str) and trusted:
                trusted = trusted.removesuffix(" (deleted)")
                th.exepath = trusted[1:] if trusted.startswith("/memfd:") else trusted
        env = ev.param_by_name("env")
        if env is not None:
            th.env = split_nul(env)
        fdlimit = ev.param_by_name("fdlimit")
        if fdlimit is not None:
            th.fdlimit = fdlimit
        for name, attr in (("tty", "tty"), ("pgid", "vpgid"), ("loginuid", "loginuid")):
            value = ev.param_by_name(name)
            if value is not None:
                setattr(th, attr, value & 0xFFFFFFFF if attr == "loginuid" else value)
        flags = ev.param_by_name("flags")
        if flags is not None:
            th.exe_writable = bool(flags & EXE_WRITABLE)
            th.exe_flags = flags
        self._exec_image(ev, th)
        cgroups = ev.param_by_name("cgroups")
        if cgroups is not None:
            self.set_cgroups(th, split_nul(cgroups))

    @staticmethod
    def _exec_image(ev: Any, th: ThreadInfo) -> None:
        """Capabilities, executable inode and times, euid of a newer execve exit (libs's
        parameters 20-26; an older exit leaves them as they were)."""
        param = ev.param_by_name
        caps = param("cap_inheritable"), param("cap_permitted"), param("cap_effective")
        if None not in caps:
            th.cap_inheritable, th.cap_permitted, th.cap_effective = caps
        ino, ctime, mtime = param("exe_ino"), param("exe_ino_ctime"), param("exe_ino_mtime")
        if ino is not None and ctime is not None and mtime is not None:
            th.exe_ino, th.exe_ino_ctime, th.exe_ino_mtime = ino, ctime, mtime
            # As libs: both durations are taken now, from the clone and pid-ns start times.
            th.exe_ino_ctime_duration_clone_ts = th.clone_ts - ctime if th.clone_ts else 0
            start = th.pidns_init_start_ts
            th.exe_ino_ctime_duration_pidns_start = ctime - start if start and ctime > start else 0
        uid = param("uid")
        if uid is not None:
            th.uid = uid

    # ---- fds ------------------------------------------------------------------------------

    def _on_open_exit(self, ev: Any, th: ThreadInfo) -> None:
        param = ev.param_by_name
        fd = param("fd")
        if fd is None or fd < 0:
            return
        name = param("name")
        if name is None:
            name = param("path")
        flags = ev.flags()  # decoded once: the evt.is_open_* fields read it again
        # Old open exits carry only the fd: the rest is what their enter said.
        enter = self._entered(ev, th) if name is None or flags is None else None
        if enter is not None:
            if name is None:
                name = enter.get("name")
            if flags is None:
                flags = enter.get("flags")
        if ev.type in self._creat:
            flags = O_CREAT | O_WRONLY | O_TRUNC
        name = name if isinstance(name, str) else ""
        if not name:
            # The driver could not read the path: unknown, not the cwd that joining "" to
            # it would give (sysdig 0.29 shows the cwd, and a write "below /" follows).
            path = NA_NAME
        elif name[:1] == "/":
            # join_path's own shortcut, inlined: most opens name a normal absolute path
            normal = "//" not in name and "/." not in name and name[-1] != "/"
            path = name if normal else join_path("", name)
        else:
            dirfd = param("dirfd")
            if dirfd is None:
                dirfd = (enter or self._entered(ev, th)).get("dirfd", AT_FDCWD)
            path = join_path(self._dir_of(th, dirfd), name)
        flags = flags or 0
        kind = FdType.DIRECTORY if flags & O_DIRECTORY else FdType.FILE
        info = FdInfo(
            fd, kind, path, flags, dev=param("dev") or 0, renamed_at=ev.num, name_raw=name
        )
        th.fds.fds[fd] = ev.fdinfo = info
        th.last_fd = fd

    def _execveat_path(self, th: ThreadInfo, enter: dict[str, Any]) -> str:
        """The program an execveat enter named: the dirfd's file itself with AT_EMPTY_PATH,
        else pathname against dirfd (as libs; <NA> for an fd the capture never saw)."""
        dirfd, name = enter.get("dirfd", AT_FDCWD), enter.get("pathname")
        if (enter.get("flags") or 0) & EXVAT_AT_EMPTY_PATH:
            info = th.fds.get(dirfd) if isinstance(dirfd, int) else None
            return info.name if info is not None else NA_NAME
        name = name if isinstance(name, str) else ""
        return join_path("" if name[:1] == "/" else self._dir_of(th, dirfd), name)

    def _dir_of(self, th: ThreadInfo, dirfd: int | None) -> str:
        if dirfd is None or dirfd == AT_FDCWD:
            return th.main_thread().cwd
        base = th.fds.get(dirfd)
        return base.name if base is not None else ""

    def _on_socket_exit(self, ev: Any, th: ThreadInfo) -> None:
        fd = ev.param_by_name("fd")
        if fd is None or fd < 0:
            return
        enter = self._entered(ev, th)
        domain = enter.get("domain")
        kind = _FAMILY_TYPES.get(domain, FdType.UNKNOWN) if domain is not None else FdType.UNKNOWN
        socktype = (enter.get("type") or 0) & 0xF
        ev.fdinfo = th.fds.add(FdInfo(fd, kind, "", socktype=socktype))
        th.last_fd = fd

    def _on_socketpair_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        enter = self._entered(ev, th)
        socktype = (enter.get("type") or 0) & 0xF
        for name in ("fd1", "fd2"):
            fd = ev.param_by_name(name)
            if fd is not None and fd >= 0:
                ev.fdinfo = th.fds.add(FdInfo(fd, FdType.UNIX, "", socktype=socktype))

    def _on_connect_enter(self, ev: Any, th: ThreadInfo) -> None:
        if ev.fdinfo is not None and ev.fdinfo.role is Role.NONE:
            ev.fdinfo.role = Role.CLIENT  # sysdig takes the client's side at connect()

    def _on_connect_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or (res < 0 and res != -EINPROGRESS):
            return
        fd = ev.param_by_name("fd")
        info = th.fds.get(fd) if fd is not None else ev.fdinfo
        if info is None:
            return
        ev.fdinfo = info
        self._apply_tuple(info, ev.param_by_name("tuple"), Role.CLIENT, ev.num)
        info.connected = True  # sysdig counts an EINPROGRESS connect as connected too

    def _on_accept_exit(self, ev: Any, th: ThreadInfo) -> None:
        fd = ev.param_by_name("fd")
        if fd is None or fd < 0:
            return
        tup = ev.param_by_name("tuple")
        family = getattr(tup, "family", None)
        kind = _FAMILY_TYPES.get(family, FdType.UNKNOWN) if family is not None else FdType.UNKNOWN
        info = FdInfo(fd, kind, "", socktype=1, connected=True)
        self._apply_tuple(info, tup, Role.SERVER, ev.num)
        ev.fdinfo = th.fds.add(info)
        th.last_fd = fd

    def _apply_tuple(self, info: FdInfo, tup: Any, role: Role, num: int) -> None:
        """Fill an fd from a socktuple: inet addresses and ports, or a unix path."""
        if tup is None:
            return
        info.role = role
        family = getattr(tup, "family", None)
        if family in (2, 10):
            src, dst = _ip(getattr(tup, "sip", None)), _ip(getattr(tup, "dip", None))
            sport, dport = getattr(tup, "sport", None), getattr(tup, "dport", None)
            if info.type not in (FdType.IPV4, FdType.IPV6):
                info.type = FdType.IPV4 if family == 2 else FdType.IPV6
            # scap's tuple is client -> server for both connect and accept.
            info.cip, info.cport, info.sip, info.sport = src, sport, dst, dport
            if info.l4proto is None:
                info.l4proto = _SOCK_L4.get(info.socktype, "tcp" if role is Role.SERVER else None)
            info.set_name(f"{_ipstr(src)}:{sport}->{_ipstr(dst)}:{dport}", num)
        elif family == 1:
            info.type = FdType.UNIX
            path = getattr(tup, "path", None) or getattr(tup, "dest_path", None) or ""
            info.set_name(str(path), num)

    def _on_send_enter(self, ev: Any, th: ThreadInfo) -> None:
        # sendto/sendmsg name their peer; sysdig adopts it when the call returns.
        info = ev.fdinfo
        if info is not None and info.type in INET_TYPES and info.sip is None:
            th.enter = {"tuple": ev.param_by_name("tuple")}
        else:
            th.enter = None

    def _on_datagram_exit(self, ev: Any, th: ThreadInfo) -> None:
        """sendto/sendmsg/recvfrom/recvmsg on an unnamed inet socket give it its peer."""
        info = ev.fdinfo
        if info is None or info.type not in INET_TYPES or info.sip is not None:
            return
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        if ev.info.name in ("sendto", "sendmsg"):
            tup, role = self._entered(ev, th).get("tuple"), Role.CLIENT
        else:
            tup, role = ev.param_by_name("tuple"), Role.SERVER
        if tup is None or getattr(tup, "family", None) not in (2, 10):
            return
        if info.l4proto is None:
            info.l4proto = _SOCK_L4.get(info.socktype, "udp")
        self._apply_tuple(info, tup, role, ev.num)
        info.connected = True

    def _on_bind_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        info = ev.fdinfo
        if res is None or res < 0 or info is None:
            return
        addr = ev.param_by_name("addr")
        family = getattr(addr, "family", None)
        if family in (2, 10):
            ip, port = _ip(getattr(addr, "addr", None)), getattr(addr, "port", None)
            # A bound socket becomes a server socket: one address, no client end.
            info.sip, info.sport, info.role = ip, port, Role.SERVER
            info.cip, info.cport, info.listening = None, 0, True
            info.l4proto = info.l4proto or _SOCK_L4.get(info.socktype)
            info.set_name(f"{_ipstr(ip)}:{port}", ev.num)
        elif family == 1:
            info.set_name(str(getattr(addr, "path", "") or ""), ev.num)

    def _on_dup_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        old = ev.param_by_name("oldfd")
        if old is None and th.last_type == ev.type - 1:
            old = th.last_fd  # dup's enter names the fd it copies
        if old is None or old == res:
            return
        src = th.fds.get(old)
        if src is None:
            th.fds.remove(res)
            return
        ev.fdinfo = th.fds.add(src.copy(res))

    def _on_pipe_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        ino = ev.param_by_name("ino") or 0
        for name in ("fd1", "fd2"):
            fd = ev.param_by_name(name)
            if fd is not None and fd >= 0:
                ev.fdinfo = th.fds.add(FdInfo(fd, FdType.PIPE, "", ino=ino))

    def _on_close_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is not None and res >= 0 and th.last_type == ev.type - 1:
            # event.fdinfo keeps the closed fd for this event's fields, as in sysdig.
            th.fds.remove(th.last_fd)

    def _simple_fd(self, kind: FdType) -> Handler:
        def handler(ev: Any, th: ThreadInfo) -> None:
            fd = ev.param_by_name("res")
            if fd is None:
                fd = ev.param_by_name("fd")
            if fd is not None and fd >= 0:
                ev.fdinfo = th.fds.add(FdInfo(fd, kind, ""))

        return handler

    def _on_memfd_create_exit(self, ev: Any, th: ThreadInfo) -> None:
        # The fd is named as the kernel names the file ("memfd:" + the name given), which
        # an exec through it (fexecve) then shows as proc.exepath.
        fd = ev.param_by_name("fd")
        if fd is None:
            fd = ev.param_by_name("res")  # a generic event carries neither
        if fd is not None and fd >= 0:
            name = ev.param_by_name("name")
            label = f"memfd:{name}" if isinstance(name, str) else ""
            ev.fdinfo = th.fds.add(FdInfo(fd, FdType.MEMFD, label, ev.param_by_name("flags") or 0))

    # ---- containers -----------------------------------------------------------------------

    def set_cgroups(self, th: ThreadInfo, cgroups: list[str]) -> None:
        """A thread's cgroups, hence its container; a new container id goes to the table
        (which hands it to the runtime resolvers, if any run)."""
        th.cgroups = cgroups
        ident = container_identity(cgroups)
        if ident is None:
            th.container_id = HOST_ID
            return
        th.container_id = ident.id
        if ident.id not in self.containers:
            self.containers.seen(ident)

    def announce_containers(self) -> None:
        """Tell the container table about the containers of the threads known now (the
        starting state read from /proc or a capture)."""
        for th in list(self.threads):
            ident = container_identity(th.cgroups)
            if ident is not None and ident.id not in self.containers:
                self.containers.seen(ident)

    def _on_container(self, ev: Any, th: ThreadInfo | None) -> None:
        """Container metadata recorded in the capture (sysdig's container events)."""
        text = ev.param_by_name("json")
        if isinstance(text, str):
            info = from_scap_json(text)
            if info is not None:
                self.containers.update(info)
            return
        cid = ev.param_by_name("id")
        if isinstance(cid, str) and cid:
            self.containers.update(
                ContainerInfo(
                    cid,
                    type=_container_type(ev.param_by_name("type")),
                    name=ev.param_by_name("name"),
                    image=ev.param_by_name("image"),
                )
            )

    # ---- identity and cwd -----------------------------------------------------------------

    def _on_chdir_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        path = ev.param_by_name("path")
        if res is None or res < 0 or not isinstance(path, str):
            return
        main = th.main_thread()
        main.cwd = th.cwd = dir_path(join_path(main.cwd, path))

    def _on_fchdir_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0 or ev.fdinfo is None:
            return
        main = th.main_thread()
        main.cwd = th.cwd = dir_path(ev.fdinfo.name)

    def _on_setuid_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        enter = self._entered(ev, th)
        uid = enter.get("uid", enter.get("euid"))
        if res == 0 and uid is not None and uid != 0xFFFFFFFF and uid != -1:
            th.uid = uid & 0xFFFFFFFF

    def _on_setgid_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        enter = self._entered(ev, th)
        gid = enter.get("gid", enter.get("egid"))
        if res == 0 and gid is not None and gid != 0xFFFFFFFF and gid != -1:
            th.gid = gid & 0xFFFFFFFF

    def _on_capset_exit(self, ev: Any, th: ThreadInfo) -> None:
        param = ev.param_by_name
        caps = param("cap_inheritable"), param("cap_permitted"), param("cap_effective")
        if param("res") == 0 and None not in caps:
            th.cap_inheritable, th.cap_permitted, th.cap_effective = caps

    def _on_setsid_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is not None and res >= 0:
            th.sid = res

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


def _container_type(value: Any) -> str | None:
    if isinstance(value, int):
        return SCAP_TYPES.get(value, str(value))
    return None if value is None else str(value)


@functools.lru_cache(maxsize=4096)
def _ip(value: Any) -> IpAddress | None:
    if value is None:
        return None
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _ipstr(ip: IpAddress | None) -> str:
    return "" if ip is None else str(ip)
