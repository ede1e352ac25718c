"""The wire format's facts beside the event table: the event header, a capture file's
blocks (their heads and type numbers), the sampling limit and the scap flag values the
drivers write.

With :mod:`sentry.events._spec` (the event table) and :mod:`sentry.events.flagnames` (the
flag tables) this is the one spec of the wire format: ``driver/gen_headers.py`` renders the
C headers the kernel module, the eBPF probe and the C event walker include
(``driver/include/sentry_wire.h``, ``sentry_events.h``, ``sentry_scap_values.h``), and
Python reads the same values from here. ``gen_headers.py --check`` (a unit test and
scripts/test.sh) fails when a committed header is stale.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sentry.events.flagnames import FLAG_TABLES

# scap's event header, packed little-endian: (field, struct code, what it holds)
HEADER_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("ts", "Q", "ns since the epoch"),
    ("tid", "Q", "thread id of the event's thread"),
    ("len", "I", "whole event: header + lengths + parameters"),
    ("type", "H", "scap event number (enum sentry_event_type)"),
    ("nparams", "I", "number of parameters that follow"),
)
HEADER = struct.Struct("<" + "".join(code for _, code, _ in HEADER_FIELDS))
HEADER_LEN = HEADER.size  # 26


def _offsets(fields: tuple[tuple[str, str, str], ...]) -> dict[str, int]:
    out, off = {}, 0
    for name, code, _ in fields:
        out[name] = off
        off += struct.calcsize("<" + code)
    return out


#: byte offset of each header field (SENTRY_EVT_OFF_* in C)
HEADER_OFFSETS: dict[str, int] = _offsets(HEADER_FIELDS)

# A capture file's event block (scap_savefile.h) up to the event header: the pcapng block
# head every block starts with, then the CPU; the event follows, padding to 4 bytes, and a
# u32 repeating the total length closes the block (BLOCK_TRAILER_LEN).
EVENT_BLOCK_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("type", "I", "block type (SENTRY_BT_EV_V2, ...)"),
    ("len", "I", "whole block: this head, the event, padding, the trailer"),
    ("cpu", "H", "CPU the event was captured on"),
)
EVENT_BLOCK = struct.Struct("<" + "".join(code for _, code, _ in EVENT_BLOCK_FIELDS))
EVENT_BLOCK_LEN = EVENT_BLOCK.size  # 10: where the event header starts
#: byte offset of each event block field (SENTRY_EVB_OFF_* in C)
EVENT_BLOCK_OFFSETS: dict[str, int] = _offsets(EVENT_BLOCK_FIELDS)
BLOCK_TRAILER_LEN = 4  # the u32 total length that ends every block
#: every block starts with (type, total length): the first two fields of the event block
BLOCK_HEAD_FIELDS = EVENT_BLOCK_FIELDS[:2]
BLOCK_HEAD = struct.Struct("<" + "".join(code for _, code, _ in BLOCK_HEAD_FIELDS))
BLOCK_HEAD_LEN = BLOCK_HEAD.size  # 8
BLOCK_MIN_LEN = BLOCK_HEAD_LEN + BLOCK_TRAILER_LEN  # 12: an empty block
#: the EVF blocks' u32 of event flags between the CPU and the event header
EVENT_FLAGS_LEN = 4
#: a V1 event header (EV, EVF, EV_INT blocks) is V2's without nparams, its last field
HEADER_V1 = struct.Struct("<" + "".join(code for _, code, _ in HEADER_FIELDS[:-1]))
HEADER_V1_LEN = HEADER_V1.size  # 22

# Block types (scap_savefile.h, pcapng's section header): (name, value, what it holds).
# Python: BLOCK_TYPES[name]; C: SENTRY_BT_<name> in sentry_wire.h.
BLOCK_TYPE_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("SHB", 0x0A0D0D0A, "section header (pcapng)"),
    ("MI", 0x201, "machine info"),
    ("MI_INT", 0x8002ABCD, "machine info, old internal number"),
    ("PL_V1", 0x202, "process list, version 1"),
    ("PL_V2", 0x207, "process list, version 2"),
    ("PL_V3", 0x209, "process list, version 3"),
    ("PL_V4", 0x210, "process list, version 4"),
    ("PL_V5", 0x211, "process list, version 5"),
    ("PL_V6", 0x212, "process list, version 6"),
    ("PL_V7", 0x213, "process list, version 7"),
    ("PL_V8", 0x214, "process list, version 8"),
    ("PL_V9", 0x215, "process list, version 9"),
    ("PL_V1_INT", 0x8000ABCD, "process list, version 1, old internal number"),
    ("PL_V2_INT", 0x8013ABCD, "process list, version 2, old internal number"),
    ("PL_V3_INT", 0x8014ABCD, "process list, version 3, old internal number"),
    ("FDL", 0x203, "fd list"),
    ("FDL_INT", 0x8001ABCD, "fd list, old internal number"),
    ("FDL_V2", 0x218, "fd list, version 2"),
    ("EV", 0x204, "event, V1 header (no nparams)"),
    ("EV_INT", 0x8010ABCD, "event, V1 header, old internal number"),
    ("EV_V2", 0x216, "event"),
    ("EV_V2_LARGE", 0x221, "event with u32 parameter lengths"),
    ("EVF", 0x208, "event with flags, V1 header"),
    ("EVF_V2", 0x217, "event with flags"),
    ("EVF_V2_LARGE", 0x222, "event with flags and u32 parameter lengths"),
    ("IL", 0x205, "interface list"),
    ("IL_INT", 0x8011ABCD, "interface list, old internal number"),
    ("IL_V2", 0x219, "interface list, version 2"),
    ("UL", 0x206, "user list"),
    ("UL_INT", 0x8012ABCD, "user list, old internal number"),
    ("UL_V2", 0x220, "user list, version 2"),
)
BLOCK_TYPES: dict[str, int] = {name: value for name, value, _ in BLOCK_TYPE_FIELDS}
SECTION_MAGIC = 0x1A2B3C4D  # the section header's byte-order magic
# The section header block's body (pcapng): its options, if any, follow and are skipped.
SECTION_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("magic", "I", "SECTION_MAGIC in the writer's byte order"),
    ("major", "H", "format version: 1"),
    ("minor", "H", "format version: 2 (what sysdig writes)"),
    ("section_len", "q", "-1: not given"),
)
SECTION = struct.Struct("<" + "".join(code for _, code, _ in SECTION_FIELDS))
SECTION_BLOCK_MIN_LEN = BLOCK_MIN_LEN + SECTION.size  # 28

#: SENTRY_IOCTL_SET_SAMPLING and the probe's sampling setting accept 1..SAMPLING_MAX
SAMPLING_MAX = 1024

# The flag tables whose scap values the drivers encode, and the C prefix their names get
# (file_flags' O_CREAT -> SCAP_O_CREAT, clone_flags' CLONE_VM -> SCAP_CL_CLONE_VM).
DRIVER_FLAG_TABLES: dict[str, str] = {
    "file_flags": "SCAP_",
    "clone_flags": "SCAP_CL_",
    "mmap_flags": "SCAP_",
    "prot_flags": "SCAP_",
    "openat2_flags": "SCAP_",
    "execveat_flags": "SCAP_EXVAT_",
    "execve_flags": "SCAP_",
    "poll_flags": "SCAP_",
    "mknod_mode": "SCAP_",
}

# scap values the drivers write that no printed flag table holds: (name, value, comment)
DRIVER_EXTRA_VALUES: tuple[tuple[str, int, str], ...] = (
    ("SCAP_O_F_CREATED", 1 << 14, "open exit: the call created the file (PPM_O_F_CREATED)"),
    ("SCAP_CL_CHILD_IN_PIDNS", 1 << 29, "clone exit: the child is in a child pid namespace"),
    ("SCAP_EFD_SEMAPHORE", 1 << 0, "eventfd flags (PPM_EFD_*)"),
    ("SCAP_EFD_NONBLOCK", 1 << 1, ""),
    ("SCAP_EFD_CLOEXEC", 1 << 2, ""),
    ("SCAP_BPF_IDX_FD", 0, "bpf res_or_fd (PT_DYN index): a new fd"),
    ("SCAP_BPF_IDX_RES", 1, "bpf res_or_fd (PT_DYN index): a result or errno"),
    ("SCAP_PTRACE_IDX_UINT64", 0, "ptrace addr, data (PT_DYN index): a plain u64"),
)


def _scap_values() -> dict[str, int]:
    out: dict[str, int] = {}
    for table, prefix in DRIVER_FLAG_TABLES.items():
        for name, value in FLAG_TABLES[table]:
            out.setdefault(prefix + name, value)
    for name, value, _ in DRIVER_EXTRA_VALUES:
        out[name] = value
    return out


#: every scap value the drivers write, by its C name (SCAP_O_CREAT, SCAP_CL_CLONE_VM, ...)
SCAP_VALUES: dict[str, int] = _scap_values()

# Socket addresses as scap encodes them (PT_SOCKADDR, PT_SOCKTUPLE): a family byte (scap's
# PPM_AF_*, Linux's numbers for these three), then the family's fields packed little-endian
# (addresses in network order, ports in host order); a unix socket's NUL-terminated path
# follows its fields. (family, value, sockaddr fields, socktuple fields); C:
# SENTRY_AF_<family>, SENTRY_SOCKADDR_<family>_OFF_<field>, SENTRY_SOCKTUPLE_<family>_...
_Fields = tuple[tuple[str, str], ...]
SOCK_FAMILIES: tuple[tuple[str, int, _Fields, _Fields], ...] = (
    ("UNIX", 1, (), (("source", "Q"), ("dest", "Q"))),
    (
        "INET",
        2,
        (("addr", "4s"), ("port", "H")),
        (("sip", "4s"), ("sport", "H"), ("dip", "4s"), ("dport", "H")),
    ),
    (
        "INET6",
        10,
        (("addr", "16s"), ("port", "H")),
        (("sip", "16s"), ("sport", "H"), ("dip", "16s"), ("dport", "H")),
    ),
)


@dataclass(frozen=True, slots=True)
class SockLayout:
    """One family's encoding in a sockaddr or socktuple parameter."""

    family: int
    record: struct.Struct  # family byte, then the fields
    offsets: dict[str, int]  # each field's byte offset, "path" where a unix path starts

    @property
    def size(self) -> int:
        """The shortest parameter holding every field (the path may be empty)."""
        return self.record.size


def _sock_layout(family: int, fields: _Fields) -> SockLayout:
    record = struct.Struct("<B" + "".join(code for _, code in fields))
    offsets = _offsets((("family", "B", ""), *((n, c, "") for n, c in fields)))
    if family == 1:  # AF_UNIX: the path follows
        offsets["path"] = record.size
    return SockLayout(family, record, offsets)


#: family name -> its number (AF_INET -> 2)
AF: dict[str, int] = {name: value for name, value, _, _ in SOCK_FAMILIES}
#: family number -> layout of a PT_SOCKADDR / PT_SOCKTUPLE parameter
SOCKADDR: dict[int, SockLayout] = {v: _sock_layout(v, sa) for _, v, sa, _ in SOCK_FAMILIES}
SOCKTUPLE: dict[int, SockLayout] = {v: _sock_layout(v, st) for _, v, _, st in SOCK_FAMILIES}
