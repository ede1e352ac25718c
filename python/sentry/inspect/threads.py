"""The thread table and process tree.

One :class:`ThreadInfo` per thread, keyed by tid, as sysdig keeps it: identity (tid, pid,
parent tid, session, namespaces' virtual ids), what runs (comm, exe, args, env, cwd), who runs
it (uid, gid, loginuid, tty), the fd table it shares with its process and its container.
Parents are found by id on demand, so a parent that exits simply stops resolving.

A thread that events mention but nothing described (it started before the capture and was not
in the process list) gets a placeholder entry, as in sysdig: comm and exe ``"<NA>"``, pid =
tid, no parent, ids ``0xffffffff``.

The table is bounded as Falco's (``falco_libs.thread_table_size``, default 262144 entries):
once full, a thread it does not hold yet is not added. The event still gets a
:class:`ThreadInfo` (a detached one, as for a placeholder) so its rules run, but nothing is
kept for it; each such refusal is counted in :attr:`ThreadTable.drops_full` (Falco's
``n_drops_full_threadtable``), which the stats and ``/metrics`` report, so a full table is
never a silent loss. Threads whose exit was lost are purged by the inspector
(``thread_table_auto_purging_*``), which is what makes room again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sentry.inspect.containers import HOST_ID
from sentry.inspect.fds import FdTable

if TYPE_CHECKING:
    from sentry.inspect.inspector import Inspector
    from sentry.service.config import Config


NO_ID = 0xFFFFFFFF  # uid/gid/loginuid not known
NA_NAME = "<NA>"
DEFAULT_TABLE_SIZE = 262144  # falco_libs.thread_table_size's default (Falco 0.42+)


@dataclass(frozen=True, slots=True)
class ThreadLimits:
    """Falco's ``falco_libs`` thread table keys, with their defaults (Falco 0.42+).

    ``table_size``: at most this many threads are kept (the rest are counted, not kept).
    ``purge_interval_s``: how often (seconds of event time) the table is scanned for threads
    whose exit was never seen. ``thread_timeout_s``: a thread is purged by that scan once it
    has been idle this long, and (live only) no longer exists under /proc.
    """

    table_size: int = DEFAULT_TABLE_SIZE
    purge_interval_s: float = 300
    thread_timeout_s: float = 300

    @classmethod
    def from_config(cls, cfg: Config) -> ThreadLimits:
        return cls(
            cfg.get("falco_libs.thread_table_size"),
            cfg.get("falco_libs.thread_table_auto_purging_interval_s"),
            cfg.get("falco_libs.thread_table_auto_purging_thread_timeout_s"),
        )


def dir_path(path: str) -> str:
    """A directory as sysdig keeps a cwd: with a trailing slash (empty stays empty)."""
    return path if not path or path.endswith("/") else path + "/"


class ThreadInfo:
    """One thread (a process is its main thread, ``tid == pid``)."""

    __slots__ = (
        "args",
        "cap_effective",
        "cap_inheritable",
        "cap_permitted",
        "cgroups",
        "clone_ts",
        "comm",
        "container_id",
        "cwd",
        "enter",
        "env",
        "exe",
        "exe_flags",
        "exe_ino",
        "exe_ino_ctime",
        "exe_ino_ctime_duration_clone_ts",
        "exe_ino_ctime_duration_pidns_start",
        "exe_ino_mtime",
        "exe_writable",
        "exepath",
        "fdlimit",
        "fds",
        "flags",
        "gid",
        "last_fd",
        "last_ts",
        "last_type",
        "loginuid",
        "pid",
        "pidns_init_start_ts",
        "ptid",
        "sid",
        "table",
        "tid",
        "tty",
        "uid",
        "vpgid",
        "vpid",
        "vtid",
    )

    def __init__(self, tid: int, table: ThreadTable | None = None) -> None:
        self.tid = tid
        self.pid = tid
        self.ptid = -1
        self.sid = -1
        self.vpgid = -1
        self.vtid = -1  # -1: the capture did not say
        self.vpid = -1
        self.comm = NA_NAME
        self.exe = NA_NAME
        self.exepath = ""
        self.args: list[str] = []
        self.env: list[str] = []
        self.cwd = ""
        self.uid = NO_ID
        self.gid = NO_ID
        self.loginuid = NO_ID
        self.tty = 0
        self.fdlimit = 0
        self.flags = 0
        self.clone_ts = 0  # ns; 0 when the thread was not seen starting
        self.exe_writable = False
        self.exe_flags = 0  # scap's execve flags (PPM_EXE_*): memfd, overlay layer ...
        self.exe_ino = 0  # the executable's inode and its ctime/mtime (ns); 0: not known
        self.exe_ino_ctime = 0
        self.exe_ino_mtime = 0
        self.exe_ino_ctime_duration_clone_ts = 0  # as libs: set at execve, kept on clone
        self.exe_ino_ctime_duration_pidns_start = 0
        self.cap_inheritable = 0  # capability sets as scap bits (1 << CAP_*)
        self.cap_permitted = 0
        self.cap_effective = 0
        self.pidns_init_start_ts = 0  # ns; start of the pid namespace's init, 0: not known
        self.cgroups: list[str] = []
        self.container_id = HOST_ID
        self.fds = FdTable()
        self.table = table
        # What the last enter event of this thread said, for its exit event.
        self.last_type = -1
        self.last_ts = 0
        self.last_fd = -1
        self.enter: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ThreadInfo(tid={self.tid}, pid={self.pid}, ptid={self.ptid}, comm={self.comm!r})"

    @property
    def is_main(self) -> bool:
        return self.tid == self.pid

    def main_thread(self) -> ThreadInfo:
        """The process's main thread (itself when it is main or when main is unknown)."""
        if self.tid == self.pid or self.table is None:
            return self
        return self.table.get(self.pid) or self

    def parent(self) -> ThreadInfo | None:
        """The thread's parent, if known (a thread's parent is its main thread, as sysdig)."""
        if self.ptid < 0 or self.table is None:
            return None
        return self.table.get(self.ptid)

    def ancestors(self) -> Iterator[ThreadInfo]:
        """The process's parent, grandparent, ... (stops at an unknown id or a loop)."""
        main = self.main_thread()
        seen = {self.tid, main.tid}
        node = main.parent()
        while node is not None and node.tid not in seen:
            yield node
            seen.add(node.tid)
            node = node.parent()

    @property
    def cmdline(self) -> str:
        return " ".join([self.comm, *self.args]) if self.args else self.comm


class ThreadTable:
    """Threads by tid; creates placeholders for threads it has not been told about.

    At most ``max_size`` entries: see the module's docstring for what happens when full."""

    __slots__ = ("drops_full", "inspector", "max_size", "thread_class", "threads")

    def __init__(self, max_size: int = DEFAULT_TABLE_SIZE) -> None:
        if max_size <= 0:
            raise ValueError("thread table size must be greater than 0")
        self.threads: dict[int, ThreadInfo] = {}
        self.inspector: Inspector | None = (
            None  # the Inspector owning this table (users, containers)
        )
        self.max_size = max_size
        self.drops_full = 0  # threads not added because the table was full
        self.thread_class: type[ThreadInfo] = (
            ThreadInfo  # what new() makes (a subclass: fds kept in C)
        )

    def get(self, tid: int) -> ThreadInfo | None:
        return self.threads.get(tid)

    def new(self, tid: int) -> ThreadInfo:
        """A fresh entry for ``tid`` (replacing any stale one); detached when full."""
        info = self.thread_class(tid, self)
        self.add(info)
        return info

    def add(self, info: ThreadInfo) -> bool:
        """Keep ``info`` under its tid; False (and counted) when the table is full."""
        threads = self.threads
        if len(threads) >= self.max_size and info.tid not in threads:
            self.drops_full += 1
            return False
        threads[info.tid] = info
        return True

    def get_or_placeholder(self, tid: int) -> ThreadInfo:
        info = self.threads.get(tid)
        if info is None:
            info = self.new(tid)
        return info

    def remove(self, tid: int) -> None:
        self.threads.pop(tid, None)

    def __len__(self) -> int:
        return len(self.threads)

    def __iter__(self) -> Iterator[ThreadInfo]:
        return iter(list(self.threads.values()))
