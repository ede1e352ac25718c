"""Render event parameters as text the way sysdig prints them.

sysdig shows a parameter as a value and, when it can, a resolved form: ``fd=3(<f>/etc/hosts)``,
``res=-2(ENOENT)``, ``flags=4097(O_RDONLY|O_CLOEXEC)``. :func:`param_text` returns both
parts; :func:`arg_text` gives what ``%evt.arg.NAME`` prints (the resolved form when there is
one) and :func:`args_text` the whole ``%evt.args`` line. Anything that needs state (fd names,
thread names, absolute paths) comes from an optional :class:`Resolver`, normally the
inspector; without one only the value is shown.
"""

from __future__ import annotations

from typing import Any, Protocol

from sentry.events.event import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    Event,
    FdList,
    SockAddr,
    SockTuple,
    decode_value,
)
from sentry.events.table import ParamInfo, ParamType, PrintFormat

# Longest rendering of a string or buffer parameter before sysdig cuts it with "...".
MAX_ARG_LEN = 80

_ERRNO_TEXT = """
- EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT
ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG
ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY
ELOOP - ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR
EXFULL ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE
ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG
ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK
EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP
EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET
ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT
ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL
EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED
"""
_KERNEL_ERRNO_TEXT = """
512:ERESTARTSYS 513:ERESTARTNOINTR 514:ERESTARTNOHAND 515:ENOIOCTLCMD
516:ERESTART_RESTARTBLOCK 521:EBADHANDLE 522:ENOTSYNC 523:EBADCOOKIE 524:ENOTSUPP
525:ETOOSMALL 526:ESERVERFAULT 527:EBADTYPE 528:EJUKEBOX 529:EIOCBQUEUED
"""
# errno value -> name, for the values sysdig names (1..125 and the kernel-internal ones).
ERRNO_NAMES: dict[int, str] = {n: name for n, name in enumerate(_ERRNO_TEXT.split()) if name != "-"}
ERRNO_NAMES.update(
    (int(n), name) for n, _, name in (i.partition(":") for i in _KERNEL_ERRNO_TEXT.split())
)
AT_FDCWD = -100

_SIGNAL_TEXT = """
- SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV SIGUSR2
SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN SIGTTOU SIGURG
SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS
"""
SIGNAL_NAMES: dict[int, str] = dict(enumerate(_SIGNAL_TEXT.split()))
del SIGNAL_NAMES[0]


class Resolver(Protocol):
    """State-dependent renderings; the inspector provides them."""

    def fd_text(self, event: Event, fd: int) -> str | None:
        """``<f>/etc/hosts``-style description of an fd of the event's thread."""
        ...

    def fd_type_char(self, event: Event, fd: int) -> str | None:
        """One-letter fd type (``f`` file, ``4`` ipv4 socket, ``u`` unix...), for fd lists."""
        ...

    def user_name(self, uid: int) -> str | None: ...

    def group_name(self, gid: int) -> str | None: ...

    def thread_name(self, tid: int) -> str | None:
        """comm of a thread, for PID parameters."""
        ...

    def abs_path(self, event: Event, path: str, dirfd: int | None) -> str | None:
        """Absolute form of a relative path, from the thread's cwd or the dirfd's path."""
        ...


def flags_text(value: int, names: tuple[tuple[str, int], ...]) -> str:
    """``O_RDONLY|O_CLOEXEC`` for value 4097 with the open flags table (scap's order)."""
    out = []
    remaining = value
    for name, bits in names:
        if bits == value:
            out.append(name)
            break
        if (bits == 0 and value == 0) or (bits and remaining and remaining & bits == bits):
            out.append(name)
            remaining &= ~bits
    return "|".join(out)


def dots(raw: bytes, limit: int = MAX_ARG_LEN) -> str:
    """Printable ASCII kept, everything else shown as '.', cut at ``limit`` with '...'."""
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in raw[:limit])
    return text + "..." if len(raw) > limit else text


def _num(value: int, fmt: PrintFormat) -> str:
    if fmt is PrintFormat.HEX:
        return f"{value & 0xFFFFFFFFFFFFFFFF:X}" if value < 0 else f"{value:X}"
    if fmt is PrintFormat.OCT:
        return f"0{value:o}" if value else "0"
    return str(value)


def _sockaddr(sa: SockAddr) -> str:
    if sa.family in (AF_INET, AF_INET6):
        return f"{sa.addr}:{sa.port}"
    if sa.family == AF_UNIX:
        return sa.path or ""
    return ""


def _socktuple(st: SockTuple) -> str:
    if st.family in (AF_INET, AF_INET6):
        return f"{st.sip}:{st.sport}->{st.dip}:{st.dport}"
    if st.family == AF_UNIX:
        return f"{st.source or 0:x}->{st.dest or 0:x} {st.path or ''}"
    return ""


def _bytebuf(raw: bytes) -> str:
    """sysdig's buffer text: '.' for non-printables, cut to 77 chars + '...' past 80."""
    if len(raw) > MAX_ARG_LEN:
        return dots(raw[: MAX_ARG_LEN - 3]) + "..."
    return dots(raw)


def _poll_flags(flags: int) -> int:
    """poll flags are a signed 16-bit value that sysdig prints widened to 32 bits."""
    return flags | 0xFFFF0000 if flags & 0x8000 else flags


def _sigset(mask: int) -> str:
    return " ".join(SIGNAL_NAMES[n + 1] for n in range(31) if mask >> n & 1)


def _id_text(value: int) -> tuple[str, str]:
    if value == 0xFFFFFFFF:
        return "-1", "<NONE>"
    return str(value), "<NA>"


def scalar_text(
    ptype: ParamType, fmt: PrintFormat, value: int, flags: tuple[tuple[str, int], ...] = ()
) -> tuple[str, str]:
    """(value, resolved) text of an integer parameter, without state."""
    if ptype is ParamType.ERRNO:
        return str(value), ERRNO_NAMES.get(-value, "") if value < 0 else ""
    if ptype is ParamType.FD:
        if value == AT_FDCWD:
            return str(value), "AT_FDCWD"
        return str(value), ERRNO_NAMES.get(-value, "") if value < 0 else ""
    if ptype is ParamType.SIGTYPE:
        return str(value), SIGNAL_NAMES.get(value, "")
    if ptype in (ParamType.FLAGS8, ParamType.FLAGS16, ParamType.FLAGS32):
        return str(value), flags_text(value, flags)
    if ptype is ParamType.MODE:
        return _num(value, fmt), flags_text(value, flags)
    if ptype is ParamType.RELTIME:
        return str(value), f"{value / 1e9:g}s"
    if ptype is ParamType.SIGSET:
        return _sigset(value), ""
    if ptype in (ParamType.UID, ParamType.GID):
        return _id_text(value)
    return _num(value, fmt), ""


def value_text(pinfo: ParamInfo, value: Any) -> tuple[str, str]:
    """(value, resolved) text for a decoded value, without state."""
    if value is None:
        return "", ""
    if isinstance(value, int):
        return scalar_text(pinfo.type, pinfo.fmt, value, pinfo.flags)
    if isinstance(value, str):
        return value, ""
    if isinstance(value, bytes):
        return _bytebuf(value), ""
    if isinstance(value, SockAddr):
        return _sockaddr(value), ""
    if isinstance(value, SockTuple):
        return _socktuple(value), ""
    if isinstance(value, FdList):
        return " ".join(f"{fd}:?{_poll_flags(flags):x}" for fd, flags in value.entries), ""
    if isinstance(value, list):
        return ",".join(value), ""
    return str(value), ""


def param_text(event: Event, i: int, resolver: Resolver | None = None) -> tuple[str, str]:
    """(value, resolved) text of parameter ``i``, as sysdig renders it."""
    pinfo = event.param_info(i)
    if pinfo is None:
        return _bytebuf(bytes(event.raw(i))), ""
    ptype = pinfo.type
    if ptype is ParamType.DYN:
        raw = bytes(event.raw(i))
        if not raw or raw[0] >= len(pinfo.dynamic):
            return "", ""
        sub_type, sub_fmt = pinfo.dynamic[raw[0]]
        inner = decode_value(sub_type, raw[1:])
        if not isinstance(inner, int):
            return value_text(ParamInfo(pinfo.name, sub_type, sub_fmt), inner)
        return scalar_text(sub_type, sub_fmt, inner)
    value = event.param(i)
    shown, resolved = value_text(pinfo, value)
    if value is None:
        return shown, resolved
    if ptype in (ParamType.FSPATH, ParamType.FSRELPATH) and isinstance(value, str):
        if value.startswith("/") or not value:
            return shown, ""
        dirfd = None
        if ptype is ParamType.FSRELPATH and 0 <= pinfo.dirfd < event.nparams:
            dirfd = event.param(pinfo.dirfd)
        full = resolver.abs_path(event, value, dirfd) if resolver is not None else None
        return shown, full or value
    if resolver is None:
        return shown, resolved
    if ptype is ParamType.FD and isinstance(value, int) and value >= 0:
        resolved = resolver.fd_text(event, value) or ""
    elif ptype is ParamType.PID and isinstance(value, int):
        resolved = resolver.thread_name(value) or ""
    elif ptype is ParamType.UID and isinstance(value, int) and value != 0xFFFFFFFF:
        resolved = resolver.user_name(value) or "<NA>"
    elif ptype is ParamType.GID and isinstance(value, int) and value != 0xFFFFFFFF:
        resolved = resolver.group_name(value) or "<NA>"
    elif ptype is ParamType.FDLIST and isinstance(value, FdList):
        shown = " ".join(
            f"{fd}:{resolver.fd_type_char(event, fd) or '?'}{_poll_flags(flags):x}"
            for fd, flags in value.entries
        )
    return shown, resolved


def arg_text(event: Event, name: str, resolver: Resolver | None = None) -> str | None:
    """What ``%evt.arg.NAME`` prints: the resolved form if any, else the value."""
    i = event.info.param_index(name)
    if i < 0 or i >= event.nparams:
        return None
    shown, resolved = param_text(event, i, resolver)
    return resolved or shown


def args_text(event: Event, resolver: Resolver | None = None) -> str:
    """What ``%evt.args`` prints: ``name=value(resolved) ...`` (nothing for generic events)."""
    if event.type < 2:  # sysdig shows a generic syscall's name as its type, with no args
        return ""
    parts = []
    for i in range(event.nparams):
        pinfo = event.param_info(i)
        name = pinfo.name if pinfo else f"param{i}"
        shown, resolved = param_text(event, i, resolver)
        parts.append(f"{name}={shown}({resolved})" if resolved else f"{name}={shown}")
    return " ".join(parts)
