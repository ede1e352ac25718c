"""The inspector with its fd tables kept in C: a capture's replay, every event fed to C.

:class:`CStateInspector` is the :class:`~sentry.inspect.inspector.Inspector` with the fd
bookkeeping moved to the C state tracker (``cstate.c``): the tracker is fed every event
of the capture straight from the file's blocks (:class:`CaptureFeed`, in C, ~20 M events
per CPU-second), and the Python side sees only the events a rule or the thread-level state
needs (clone/execve/procexit, set*id, chdir, containers ... and the rules' event types).
The opens, closes, dups, sockets ... that no rule can match never become Python objects.

- ``event.fdinfo`` and ``thread.fds`` read from C: an :class:`FdInfo` is made from the C
  fd when asked for (:class:`CFds`), never kept.
- The threads stay Python :class:`ThreadInfo` objects (:class:`CThreadInfo`: the same,
  with ``fds`` a view of the C table of its tid), kept by the same handlers as the
  reference inspector's.
- The Python inspector (``Inspector``) stays the reference: ``tests/unit/test_cstate.py``
  compares the two trackers' state after every event, and
  ``tests/unit/inspect/test_cstate_inspector.py`` the fields and alerts of every Falco
  trace through both inspectors.

Used for ``sentry run -e`` and ``sentry tail -e`` (``state_tracker: c``, the default; the
``python`` value keeps the reference). Live sources still use the Python inspector: their
rings would have to be merged in C before the tracker could be fed there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentry.capture.scapmeta import EV_BLOCKS
from sentry.events.event import Event, LazyFd
from sentry.events.table import EVENTS
from sentry.inspect.cstate import CState
from sentry.inspect.fds import FdInfo, FdTable
from sentry.inspect.inspector import _OTHER_BLOCK, ENTER_ARGS, Inspector
from sentry.inspect.threads import ThreadInfo, ThreadLimits

if TYPE_CHECKING:
    from sentry.capture.scapreader import ScapReader

# Syscalls whose enters are stashed only for the fd bookkeeping, which C does here.
_FD_STASHED = frozenset({"socket", "socketpair", "open", "openat", "openat2", "creat"})


class CFds:
    """The fd table of a thread's process, read from C (the ``FdTable`` a rule's field
    asks). Changes come only from the events fed to C: ``add``/``remove`` refuse."""

    __slots__ = ("_cs", "_tid")

    def __init__(self, cs: CState, tid: int) -> None:
        self._cs, self._tid = cs, tid

    def get(self, num: int) -> FdInfo | None:
        return self._cs.fd_info(self._tid, num)

    @property
    def fds(self) -> dict[int, FdInfo]:
        return self._cs.fd_infos(self._tid)

    def copy(self) -> CFds:
        return self  # a clone's copy is C's; CThreadInfo.fds ignores the assignment

    def add(self, info: FdInfo) -> FdInfo:
        raise TypeError("fds kept in C change only through the events fed to the tracker")

    def remove(self, num: int) -> None:
        raise TypeError("fds kept in C change only through the events fed to the tracker")

    def __len__(self) -> int:
        return self._cs.fd_count(self._tid)

    def __contains__(self, num: object) -> bool:
        return isinstance(num, int) and self._cs.fd_info(self._tid, num) is not None


class CThreadInfo(ThreadInfo):
    """A :class:`ThreadInfo` whose fd table, last fd and last enter are the C tracker's
    (by its tid)."""

    __slots__ = ()

    def _tracker(self) -> CState:
        table = self.table
        inspector = table.inspector if table is not None else None
        if not isinstance(inspector, CStateInspector):
            raise TypeError(f"thread {self.tid}: its fds are in C, with no tracker")
        return inspector.cstate

    @property  # type: ignore[override]
    def fds(self) -> CFds:
        return CFds(self._tracker(), self.tid)

    @fds.setter
    def fds(self, value: FdTable | CFds) -> None:
        pass  # C shares and copies fd tables on clone itself

    @property  # type: ignore[override]
    def last_fd(self) -> int | None:
        """The fd the thread's last fd-using call named (C keeps it with the fds)."""
        return self._tracker().last_fd(self.tid)

    @last_fd.setter
    def last_fd(self, value: int | None) -> None:
        pass  # set by C from the events fed to it

    # The last enter is C's too: C sees every enter of the capture, and Python only those
    # the rules or the state need (rules/enters.py leaves the rest out). An exit reads its
    # enter (evt.arg.X, evt.latency, the handlers' stashes) only when that enter was the
    # thread's last one: an enter left out must still count as the last one.
    @property
    def last_type(self) -> int:
        got = self._tracker().last_enter(self.tid)
        return -1 if got is None else got[0]

    @last_type.setter
    def last_type(self, value: int) -> None:
        pass  # set by C from the events fed to it

    @property
    def last_ts(self) -> int:
        got = self._tracker().last_enter(self.tid)
        return 0 if got is None else got[1]

    @last_ts.setter
    def last_ts(self, value: int) -> None:
        pass  # set by C from the events fed to it


class CaptureFeed:
    """Feeds a capture's events to a :class:`CState` in file order, up to the reader's
    current event (by number: the reader numbers the known events of the file from 1, as
    the feed counts them): plain event blocks in C, the other kinds (flags, V1 headers)
    decoded by the reader and fed one by one, metadata blocks passed over."""

    def __init__(self, cs: CState, reader: ScapReader) -> None:
        self.cs = cs
        self.reader = reader
        ffi = cs.ffi
        self.feed_blocks = cs.lib.cs_feed_blocks
        data = reader.data
        self._pos = ffi.new("uint64_t *", reader.first_event_offset)
        self._num = ffi.new("uint64_t *", 0)
        # cs_feed_blocks' arguments but the limit, for the inspector's inlined call
        self.feed_args = (
            cs.state,
            ffi.from_buffer("uint8_t[]", data),
            len(data),
            self._pos,
            self._num,
        )

    def upto(self, num: int) -> None:
        """Feed every event up to the one numbered ``num``."""
        while self.feed_blocks(*self.feed_args, num) == _OTHER_BLOCK and self._num[0] < num:
            self._other()

    def _other(self) -> None:
        """Feed (or pass over) the block C stopped at."""
        pos = int(self._pos[0])
        btype, blen = self.reader.block_at(pos)
        self._pos[0] = pos + blen
        if btype in EV_BLOCKS:
            ev = self.reader.other_event(pos, btype, blen, counted=False)
            if ev is not None:
                self.cs.feed_event(ev)
                self._num[0] += 1


class _EventFd(LazyFd):
    """``event.fdinfo`` from C, made when a field first reads it."""

    __slots__ = ("_inspector",)

    def __init__(self, inspector: CStateInspector) -> None:
        self._inspector = inspector

    def resolve(self, ev: Event) -> FdInfo | None:
        inspector = self._inspector
        if inspector.current is not ev:
            raise RuntimeError(
                f"event {ev.num}: its fd was first read after the tracker moved on "
                "(read it while the event is handled, or copy the event then)"
            )
        return inspector.cstate.event_fd_info(ev.num)


class CStateInspector(Inspector):
    """The inspector of a capture's replay with its fd state in C (see the module)."""

    sees_every_enter = True  # the last enter is C's (CThreadInfo), and C reads every event

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cstate = CState()
        self._event_fd = _EventFd(self)

    @classmethod
    def from_capture(
        cls, reader: ScapReader, limits: ThreadLimits | None = None
    ) -> CStateInspector:
        inspector = super().from_capture(reader, limits)
        assert isinstance(inspector, CStateInspector)
        inspector.cstate.load(inspector)
        empty = FdTable()
        base_fds: Any = ThreadInfo.__dict__["fds"]  # the slot under CThreadInfo's property
        for th in inspector.threads:
            base_fds.__set__(th, empty)  # the Python copies go: C has them now
            th.__class__ = CThreadInfo
        inspector.threads.thread_class = CThreadInfo
        feed = inspector._feed = CaptureFeed(inspector.cstate, reader)
        inspector._feed_blocks = feed.feed_blocks
        inspector._feed_args = feed.feed_args
        return inspector

    def _build_dispatch(self) -> None:
        super()._build_dispatch()
        fd_exits = set(self._fd_exits())
        fd_handlers = {self._on_connect_enter, self._on_send_enter, self._on_datagram_exit}
        for code, handler in list(self._handlers.items()):
            info = EVENTS[code]
            if handler in fd_handlers or (info.direction == "<" and info.name in fd_exits):
                del self._handlers[code]
        fd_stash = {code for code in self._stash_state if EVENTS[code].name in _FD_STASHED}
        self._stash_state -= fd_stash
        self._stash_enter -= fd_stash - ENTER_ARGS
        # Each event's fd is C's (self._event_fd), not found through the thread's last fd.
        self._enter_fd.clear()
        self._exit_fd.clear()

    def handled_types(self) -> set[int]:
        """The reference's types less the fd bookkeeping, and both halves of each (an
        exit's ``evt.latency`` and ``evt.arg`` read its enter)."""
        types = super().handled_types()
        return types | {code ^ 1 for code in types if code < 2**15}


def capture_inspector(
    reader: ScapReader, limits: ThreadLimits | None = None, tracker: str = "c"
) -> Inspector:
    """The inspector of a capture's replay: fds in C (``c``) or the Python reference
    (``python``). Without the C tracker (no compiler at install) the reference, saying so."""
    if tracker == "c":
        try:
            return CStateInspector.from_capture(reader, limits)
        except RuntimeError as err:
            from sentry.log import log

            log(
                f"{err}: replaying with the Python state tracker (state_tracker: python)", "warning"
            )
    return Inspector.from_capture(reader, limits)
