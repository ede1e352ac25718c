"""Process events: clone/fork/vfork/clone3 (a thread is born with its creator's state),
execve/execveat (a new program: path, arguments, environment, credentials), procexit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentry.events.wire import SCAP_VALUES as _SCAP
from sentry.inspect.fds import FdTable
from sentry.inspect.handler_base import AT_FDCWD, Handler, HandlerBase, join_path, split_nul
from sentry.inspect.threads import NA_NAME, ThreadInfo, dir_path

# scap's clone flags (PPM_CL_*), execve flags (PPM_EXE_*): the values the drivers write
# (events/wire.py, rendered into driver/include/sentry_scap_values.h).
CL_CLONE_FILES = _SCAP["SCAP_CL_CLONE_FILES"]
CL_CLONE_PARENT = _SCAP["SCAP_CL_CLONE_PARENT"]
CL_CLONE_THREAD = _SCAP["SCAP_CL_CLONE_THREAD"]
CL_CHILD_IN_PIDNS = _SCAP["SCAP_CL_CHILD_IN_PIDNS"]
EXE_WRITABLE = _SCAP["SCAP_EXE_WRITABLE"]
EXVAT_AT_EMPTY_PATH = _SCAP["SCAP_EXVAT_AT_EMPTY_PATH"]
EXECVEAT_E = 330  # PPME_SYSCALL_EXECVEAT_E: a successful execveat exits as an execve

_MAX_CALLERS = 4096  # clone callers kept for their child's half (see Inspector._callers)


class ProcessEvents(HandlerBase):
    """Handlers of the events that make, change and end threads."""

    _dead_tid: int | None

    if TYPE_CHECKING:

        def set_cgroups(self, th: ThreadInfo, cgroups: list[str]) -> None: ...

    def _process_exits(self) -> dict[str, Handler]:
        """This module's exit handlers, by syscall name."""
        clone, execve = self._on_clone_exit, self._on_execve_exit
        return {
            "clone": clone,
            "fork": clone,
            "vfork": clone,
            "clone3": clone,
            "execve": execve,
            "execveat": execve,
        }

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

    def _execveat_path(self, th: ThreadInfo, enter: dict[str, Any]) -> str:
        """The program an execveat enter named: the dirfd's file itself with AT_EMPTY_PATH,
        else pathname against dirfd (as libs; <NA> for an fd the capture never saw)."""
        dirfd, name = enter.get("dirfd", AT_FDCWD), enter.get("pathname")
        if (enter.get("flags") or 0) & EXVAT_AT_EMPTY_PATH:
            info = th.fds.get(dirfd) if isinstance(dirfd, int) else None
            return info.name if info is not None else NA_NAME
        name = name if isinstance(name, str) else ""
        return join_path("" if name[:1] == "/" else self._dir_of(th, dirfd), name)
