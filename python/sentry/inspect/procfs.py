"""The starting state for live capture: every thread and its fds, read from ``/proc``.

Events only describe what changes; whatever was running before capture started is read here
once (as sysdig does): identity and command line from ``stat``/``status``/``cmdline``, cwd
and exe from their links, cgroups for the container id, fds from ``fd/`` resolved against
``/proc/net/{tcp,udp,tcp6,udp6,unix}`` for sockets. Processes that vanish while being read
are skipped.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
from pathlib import Path

from sentry.inspect.containers import container_id_from_cgroups
from sentry.inspect.fds import FdInfo, FdTable, FdType, IpAddress, Role
from sentry.inspect.threads import NO_ID, ThreadInfo, ThreadTable, dir_path

_ANON_TYPES = {
    "[eventfd]": FdType.EVENT,
    "[eventpoll]": FdType.EVENTPOLL,
    "inotify": FdType.INOTIFY,
    "[signalfd]": FdType.SIGNALFD,
    "[timerfd]": FdType.TIMERFD,
    "bpf-prog": FdType.BPF,
    "bpf-map": FdType.BPF,
    "[userfaultfd]": FdType.USERFAULTFD,
    "[io_uring]": FdType.IO_URING,
}
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _hex_ip(text: str) -> IpAddress:
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    # IPv6 in /proc/net is four little-endian 32-bit words.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return ipaddress.IPv6Address(words)


def read_sockets(root: Path = Path("/proc")) -> dict[int, FdInfo]:
    """Socket fds by inode, from /proc/net (fd numbers are filled in per process)."""
    socks: dict[int, FdInfo] = {}
    for name, kind, proto in (
        ("tcp", FdType.IPV4, "tcp"),
        ("udp", FdType.IPV4, "udp"),
        ("tcp6", FdType.IPV6, "tcp"),
        ("udp6", FdType.IPV6, "udp"),
    ):
        text = _read(root / "net" / name) or ""
        for line in text.splitlines()[1:]:
            f = line.split()
            if len(f) < 10:
                continue
            try:
                lip, lport = f[1].split(":")
                rip, rport = f[2].split(":")
                local, remote = _hex_ip(lip), _hex_ip(rip)
                ino = int(f[9])
            except ValueError:
                continue
            info = FdInfo(-1, kind, "", ino=ino, l4proto=proto)
            if f[3] == _LISTEN or int(rport, 16) == 0:
                info.sip, info.sport, info.role = local, int(lport, 16), Role.SERVER
                info.name = f"{local}:{info.sport}"
            else:
                info.cip, info.cport = local, int(lport, 16)
                info.sip, info.sport = remote, int(rport, 16)
                info.role = Role.CLIENT
                info.name = f"{local}:{info.cport}->{remote}:{info.sport}"
            socks[ino] = info
    text = _read(root / "net" / "unix") or ""
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) >= 7 and f[6].isdigit():
            socks[int(f[6])] = FdInfo(-1, FdType.UNIX, f[7] if len(f) > 7 else "", ino=int(f[6]))
    return socks


def read_fds(pid_dir: Path, sockets: dict[int, FdInfo]) -> FdTable:
    """The fd table of one process."""
    table = FdTable()
    try:
        entries = list((pid_dir / "fd").iterdir())
    except OSError:
        return table
    for entry in entries:
        if not entry.name.isdigit():
            continue
        num = int(entry.name)
        target = _link(entry)
        if target.startswith("socket:["):
            ino = int(target[8:-1])
            known = sockets.get(ino)
            info = known.copy(num) if known else FdInfo(num, FdType.UNKNOWN, "", ino=ino)
        elif target.startswith("pipe:["):
            info = FdInfo(num, FdType.PIPE, "", ino=int(target[6:-1]))
        elif target.startswith("anon_inode:"):
            info = FdInfo(num, _ANON_TYPES.get(target[11:], FdType.UNKNOWN), "")
        elif target.startswith("/"):
            kind = FdType.DIRECTORY if os.path.isdir(target) else FdType.FILE
            info = FdInfo(num, kind, target)
        else:
            info = FdInfo(num, FdType.UNKNOWN, target)
        table.add(info)
    return table


_CAP_KEYS = {"CapInh": "cap_inheritable", "CapPrm": "cap_permitted", "CapEff": "cap_effective"}


def _fill(th: ThreadInfo, task_dir: Path) -> bool:
    stat = _read(task_dir / "stat")
    if stat is None:
        return False
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = stat[stat.rfind(")") + 2 :].split()
    if len(rest) < 5:
        return False
    th.comm = stat[stat.find("(") + 1 : stat.rfind(")")]
    th.vpgid, th.sid, th.tty = int(rest[2]), int(rest[3]), int(rest[4])
    status = _read(task_dir / "status") or ""
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key == "Tgid":
            th.pid = int(value)
        elif key == "PPid":
            th.ptid = int(value)
        elif key == "Uid":
            th.uid = int(value.split()[1])  # effective
        elif key == "Gid":
            th.gid = int(value.split()[1])
        elif key == "NSpid":
            th.vtid = int(value.split()[-1])
        elif key == "NStgid":
            th.vpid = int(value.split()[-1])
        elif key in _CAP_KEYS:  # hex sets, bits as scap's (1 << CAP_*)
            setattr(th, _CAP_KEYS[key], int(value, 16))
    cmdline = (_read(task_dir / "cmdline") or "").split("\0")
    if cmdline and cmdline[-1] == "":
        cmdline.pop()
    if cmdline:
        th.exe, th.args = cmdline[0], cmdline[1:]
    else:
        th.exe = th.comm
    th.exepath = _link(task_dir / "exe")
    try:  # the program's inode and times, as an execve exit gives them
        st = os.stat(task_dir / "exe")
        th.exe_ino, th.exe_ino_ctime, th.exe_ino_mtime = st.st_ino, st.st_ctime_ns, st.st_mtime_ns
    except OSError:
        pass
    th.cwd = dir_path(_link(task_dir / "cwd"))
    env = (_read(task_dir / "environ") or "").split("\0")
    th.env = [e for e in env if e]
    login = (_read(task_dir / "loginuid") or "").strip()
    th.loginuid = int(login) if login.isdigit() else NO_ID
    cgroups = _read(task_dir / "cgroup") or ""
    # "id:controllers:path" -> "controllers=path", as the drivers report them.
    th.cgroups = [
        f"{c.split(':', 2)[1]}={c.split(':', 2)[2]}"
        for c in cgroups.splitlines()
        if c.count(":") >= 2
    ]
    th.container_id = container_id_from_cgroups(th.cgroups)
    return True


def fill_thread(th: ThreadInfo, root: Path | str = "/proc") -> bool:
    """Fill ``th`` from ``root/<tid>`` (a thread seen first mid-flight); False when gone.
    Its sockets are kept by inode, unnamed: reading every socket table per lookup costs
    more than the name is worth."""
    task = Path(root) / str(th.tid)
    if not _fill(th, task):
        return False
    main = th.main_thread()
    if main is not th:
        th.fds = main.fds  # threads share their process's fd table
    else:
        th.fds = read_fds(Path(root) / str(th.pid), {})
    return True


def load_threads(table: ThreadTable, root: Path = Path("/proc")) -> int:
    """Fill ``table`` with every thread under ``root``; returns how many it kept."""
    sockets = read_sockets(root)
    count = 0
    for pid_dir in root.iterdir():
        if not pid_dir.name.isdigit():
            continue
        fds = read_fds(pid_dir, sockets)
        try:
            tasks = [t for t in (pid_dir / "task").iterdir() if t.name.isdigit()]
        except OSError:
            continue
        for task in tasks:
            th = ThreadInfo(int(task.name), table)
            if _fill(th, task):
                th.fds = fds
                if th.tid != th.pid:
                    th.ptid = int(pid_dir.name) if th.ptid == -1 else th.ptid
                count += table.add(th)  # a full table counts the rest as drops
    return count


def local_addresses(root: Path = Path("/proc")) -> set[IpAddress]:
    """This machine's interface addresses (IPv4 from fib_trie, IPv6 from if_inet6)."""
    found: set[IpAddress] = set()
    trie = (_read(root / "net" / "fib_trie") or "").splitlines()
    for prev, line in itertools.pairwise(trie):
        if "/32 host LOCAL" in line:
            try:
                found.add(ipaddress.IPv4Address(prev.split()[-1]))
            except ValueError:
                continue
    for line in (_read(root / "net" / "if_inet6") or "").splitlines():
        f = line.split()
        if f:
            try:
                found.add(ipaddress.IPv6Address(bytes.fromhex(f[0])))
            except ValueError:
                continue
    return found
