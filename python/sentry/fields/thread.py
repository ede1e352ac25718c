"""``thread.*`` fields: the thread that made the event."""

from __future__ import annotations

from typing import Any

from sentry.events.event import Event
from sentry.fields.registry import FieldType, register_simple


def _tid(ev: Event) -> int | None:
    return ev.tid


def _vtid(ev: Event) -> int | None:
    th = ev.thread
    return None if th is None or th.vtid == -1 else th.vtid


def _ismain(ev: Event) -> bool | None:
    th = ev.thread
    return None if th is None else th.tid == th.pid


register_simple("thread.tid", FieldType.INT, "id of the thread", _tid)
register_simple("thread.vtid", FieldType.INT, "id of the thread in its pid namespace", _vtid)
register_simple(
    "thread.ismain", FieldType.BOOL, "whether the thread is the process's main one", _ismain
)

# Capability names by bit (scap's PPM_CAP_* bits are the kernel's CAP_* numbers).
CAP_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip


def caps_to_string(caps: int) -> str:
    """A capability set as libs prints it: the names of its bits, lowest first, one space
    apart (bits beyond the known names are left out)."""
    return " ".join(name for bit, name in enumerate(CAP_NAMES) if caps >> bit & 1)


def _caps(attr: str) -> Any:
    def extract(ev: Event) -> str | None:
        th = ev.thread
        return None if th is None else caps_to_string(getattr(th, attr))

    return extract


for _set in ("permitted", "inheritable", "effective"):
    register_simple(
        f"thread.cap_{_set}",
        FieldType.STRING,
        f"the {_set} capability set (CAP_* names, space separated)",
        _caps(f"cap_{_set}"),
    )
