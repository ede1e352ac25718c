#!/usr/bin/env python3
"""Generate every wire-format header of the drivers from the one spec in python/sentry/events.

The spec: the event table (``_spec.py``, read by ``table.py``), the flag tables
(``flagnames.py``), the native values the drivers translate (``native.py``), the header
layout, sampling limit and driver flag values (``wire.py``),
the syscall tables (``syscalls.py``, ``compat_syscalls.py``). Rendered from it:

- ``include/sentry_wire.h``: the event header (struct, length, field offsets), a capture
  file's event block head (the same), the block types, the socket address layouts, the
  sampling limit; included by sentry_abi.h, so by the module and the probe, and by the C
  event walker and state tracker.
- ``include/sentry_events.h``: event numbers, parameter types, print formats, event flags
  and categories (scap's numbers).
- ``include/sentry_scap_values.h``: the scap flag encodings the drivers write.
- ``syscall_events.h`` (module): scap's syscall code of every x86_64 syscall (its generic
  events), the parameter counts of procexit and of the process records (execve, clone exits);
  which event each syscall gets and its parameters are ``include/sentry_syscall_specs.h``'s.
- ``include/sentry_compat_syscalls.h`` (both drivers): the x86_64 number of every ia32 and
  x32 call.
- ``include/sentry_sampling.h`` (both drivers): the never-drop and always-drop syscalls of
  sampling (``syscalls.py``).
- ``include/sentry_scap_flags.h`` (both drivers): native flag values and commands -> scap's
  encodings (``native.py`` with ``flagnames.py``; rendered by ``gen_scap_flags.py``).

Run it after the spec changes and commit the headers; ``--check`` exits 1 naming each stale
header (tests/unit/test_generated_headers.py, scripts/test.sh).

usage: gen_headers.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from sentry.events.compat_syscalls import (
    IA32_SYSCALLS,
    IA32_UNIFIED_FROM,
    SOCKETCALLS,
    X32_SYSCALL_BIT,
    X32_SYSCALLS,
    CompatSyscall,
    socketcall_target,
)
from sentry.events.flagnames import FLAG_TABLES
from sentry.events.syscalls import (
    ALWAYS_DROP_SYSCALLS,
    NEVER_DROP_SYSCALLS,
    X86_64_BY_NAME,
    X86_64_SYSCALLS,
)
from sentry.events.table import (
    EVENTS,
    EventCategory,
    EventFlags,
    ParamType,
    PrintFormat,
    event_by_name,
)
from sentry.events.wire import (
    AF,
    BLOCK_HEAD_LEN,
    BLOCK_MIN_LEN,
    BLOCK_TRAILER_LEN,
    BLOCK_TYPE_FIELDS,
    DRIVER_EXTRA_VALUES,
    DRIVER_FLAG_TABLES,
    EVENT_BLOCK_FIELDS,
    EVENT_BLOCK_LEN,
    EVENT_BLOCK_OFFSETS,
    EVENT_FLAGS_LEN,
    HEADER_FIELDS,
    HEADER_LEN,
    HEADER_OFFSETS,
    SAMPLING_MAX,
    SECTION_MAGIC,
    SOCKADDR,
    SOCKTUPLE,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # its sibling gen_scap_flags.py, also when loaded by a test
from gen_scap_flags import GENERATED, render_scap_flags  # noqa: E402

NR_MAX = 512


def _exit_nparams(syscall: str) -> int:
    """Parameters of the exit event the drivers write for this syscall."""
    return len(EVENTS[X86_64_BY_NAME[syscall].enter_event + 1].params)


def render() -> str:
    lines = [
        "/* SPDX-License-Identifier: GPL-2.0 */",
        GENERATED,
        "#ifndef SENTRY_SYSCALL_EVENTS_H",
        "#define SENTRY_SYSCALL_EVENTS_H",
        "",
        "/* scap's code of every x86_64 syscall, for its generic events (0: none) */",
        "static const u16 sentry_ppm_sc[SENTRY_SYSCALL_NR_MAX] = {",
    ]
    for nr in sorted(X86_64_SYSCALLS):
        sc = X86_64_SYSCALLS[nr]
        if nr >= NR_MAX:
            continue
        lines.append(f"\t[{nr}] = {sc.ppm_sc},\t/* {sc.name} */")
    procexit = event_by_name("procexit", ">")
    lines += [
        "};",
        "",
        f"#define SENTRY_PROCEXIT_TYPE {procexit.code}",
        f"#define SENTRY_PROCEXIT_NPARAMS {len(procexit.params)}",
        "/* the process records of the handlers H_PROC_EXEC and H_PROC_CLONE */",
        f"#define SENTRY_EXECVE_X_NPARAMS {_exit_nparams('execve')}",
        f"#define SENTRY_CLONE_X_NPARAMS {_exit_nparams('clone')}",
        "",
        "#endif /* SENTRY_SYSCALL_EVENTS_H */",
        "",
    ]
    return "\n".join(lines)


COMPAT_MAPPED = 0x8000
COMPAT_GENERIC = 0x4000
X32_FIRST = 512

_COMPAT_HEAD = f"""\
/* SPDX-License-Identifier: GPL-2.0 */
{GENERATED}
#ifndef SENTRY_COMPAT_SYSCALLS_H
#define SENTRY_COMPAT_SYSCALLS_H

/*
 * 32-bit calls on x86_64 (sentry.events.compat_syscalls): each entry is the x86_64 number
 * the call's events use, SENTRY_COMPAT_MAPPED, and SENTRY_COMPAT_GENERIC where the dedicated
 * event would misread the call's arguments (32-bit layouts): the generic event is written.
 * Entries without SENTRY_COMPAT_MAPPED have no x86_64 counterpart: dropped and counted.
 */
#define SENTRY_COMPAT_MAPPED 0x{COMPAT_MAPPED:x}
#define SENTRY_COMPAT_GENERIC 0x{COMPAT_GENERIC:x}
#define SENTRY_COMPAT_NR_MASK 0x1ff
#define SENTRY_X32_SYSCALL_BIT 0x{X32_SYSCALL_BIT:x}
#define SENTRY_IA32_NR_MAX {NR_MAX}
#define SENTRY_IA32_NR_SOCKETCALL 102
#define SENTRY_X32_FIRST {X32_FIRST}
#define SENTRY_X32_NR_MAX {max(X32_SYSCALLS) + 1}
#define SENTRY_SOCKETCALL_MAX {max(SOCKETCALLS) + 1}
"""

_COMPAT_TAIL = """
/*
 * The x86_64 number of a 32-bit call (with SENTRY_COMPAT_GENERIC if only the generic
 * event reads it right), or -1 if it has none. ia32: the number the task used; x32: the
 * number with SENTRY_X32_SYSCALL_BIT. socketcall is the caller's (sentry_socketcalls).
 */
static __always_inline int sentry_compat_map(__u64 nr, int ia32)
{
	__u16 v;

	if (ia32) {
		if (nr >= SENTRY_IA32_NR_MAX)
			return -1;
		v = sentry_ia32_syscalls[nr];
	} else {
		nr &= ~(__u64)SENTRY_X32_SYSCALL_BIT;
		if (nr < SENTRY_X32_FIRST)
			return nr;
		if (nr >= SENTRY_X32_NR_MAX)
			return -1;
		v = sentry_x32_syscalls[nr - SENTRY_X32_FIRST];
	}
	if (!(v & SENTRY_COMPAT_MAPPED))
		return -1;
	return v & (SENTRY_COMPAT_NR_MASK | SENTRY_COMPAT_GENERIC);
}

#endif /* SENTRY_COMPAT_SYSCALLS_H */
"""


def _entry(sc: CompatSyscall) -> str:
    if sc.x86_64 is None:
        return "0"
    flags = COMPAT_MAPPED | (COMPAT_GENERIC if sc.generic_only else 0)
    return f"0x{flags | sc.x86_64:04x}"


def render_compat() -> str:
    ia32 = dict(IA32_SYSCALLS)
    for nr in range(IA32_UNIFIED_FROM, NR_MAX):
        if nr not in ia32:  # numbered alike on every architecture since 5.1
            ia32[nr] = CompatSyscall(nr, "(unified)", nr, False)
    lines = [_COMPAT_HEAD]
    lines.append("static const __u16 sentry_ia32_syscalls[SENTRY_IA32_NR_MAX] = {")
    for nr in sorted(ia32):
        sc = ia32[nr]
        to = "dropped" if sc.x86_64 is None else X86_64_SYSCALLS.get(sc.x86_64, sc).name
        extra = ", generic" if sc.generic_only else ""
        lines.append(f"\t[{nr}] = {_entry(sc)},\t/* {sc.name} -> {to}{extra} */")
    lines += ["};", ""]
    lines.append("static const __u16 sentry_x32_syscalls[SENTRY_X32_NR_MAX - SENTRY_X32_FIRST] = {")
    for nr in sorted(X32_SYSCALLS):
        sc = X32_SYSCALLS[nr]
        extra = ", generic" if sc.generic_only else ""
        lines.append(f"\t[{nr - X32_FIRST}] = {_entry(sc)},\t/* {nr}: {sc.name}{extra} */")
    lines += [
        "};",
        "",
        "/* socketcall(call, args): the call's x86_64 number, its argument count */",
    ]
    lines.append("static const __u16 sentry_socketcalls[SENTRY_SOCKETCALL_MAX] = {")
    nargs = []
    for call in sorted(SOCKETCALLS):
        target = socketcall_target(call)
        assert target
        nr, n, generic = target
        sc = CompatSyscall(call, SOCKETCALLS[call][0], nr, generic)
        extra = ", generic" if generic else ""
        lines.append(f"\t[{call}] = {_entry(sc)},\t/* {sc.name}{extra} */")
        nargs.append(f"[{call}] = {n}")
    lines += ["};", "", "static const __u8 sentry_socketcall_nargs[SENTRY_SOCKETCALL_MAX] = {"]
    for i in range(0, len(nargs), 8):
        lines.append("\t" + ", ".join(nargs[i : i + 8]) + ",")
    lines.append("};")
    return "\n".join(lines) + "\n" + _COMPAT_TAIL


_C_TYPES = {"Q": "__u64", "I": "__u32", "H": "__u16"}


def _hex(value: int) -> str:
    return f"0x{value:08X}" if value > 0xFFFF else f"0x{value:X}"


def render_wire() -> str:
    lines = [
        "/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */",
        GENERATED,
        "#ifndef SENTRY_WIRE_H",
        "#define SENTRY_WIRE_H",
        "",
        f"/* scap event header: {HEADER_LEN} bytes, packed little-endian. */",
        "struct sentry_evt_hdr {",
    ]
    for name, code, what in HEADER_FIELDS:
        lines.append(f"\t{_C_TYPES[code]} {name};\t/* {what} */")
    lines += ["} __attribute__((packed));", "", f"#define SENTRY_EVT_HDR_LEN {HEADER_LEN}"]
    lines += [f"#define SENTRY_EVT_OFF_{n.upper()} {off}" for n, off in HEADER_OFFSETS.items()]
    lines += [
        "",
        "/* A capture file's event block up to the event header (scap_savefile.h); the event",
        " * follows, padded to 4 bytes, then a u32 repeating the block's total length. */",
        "struct sentry_evt_block_hdr {",
    ]
    for name, code, what in EVENT_BLOCK_FIELDS:
        lines.append(f"\t{_C_TYPES[code]} {name};\t/* {what} */")
    lines += ["} __attribute__((packed));", "", f"#define SENTRY_EVB_HDR_LEN {EVENT_BLOCK_LEN}"]
    lines += [f"#define SENTRY_EVB_OFF_{n.upper()} {o}" for n, o in EVENT_BLOCK_OFFSETS.items()]
    lines += [
        f"#define SENTRY_BLOCK_TRAILER_LEN {BLOCK_TRAILER_LEN}",
        f"#define SENTRY_BLOCK_HEAD_LEN {BLOCK_HEAD_LEN}\t/* type, total length */",
        f"#define SENTRY_BLOCK_MIN_LEN {BLOCK_MIN_LEN}\t/* an empty block */",
        f"#define SENTRY_EVF_FLAGS_LEN {EVENT_FLAGS_LEN}\t/* EVF blocks: u32 flags after CPU */",
        "",
        "/* Block types (scap_savefile.h; the section header is pcapng's). */",
    ]
    lines += [f"#define SENTRY_BT_{n} {_hex(v)}\t/* {w} */" for n, v, w in BLOCK_TYPE_FIELDS]
    lines += [
        f"#define SENTRY_SECTION_MAGIC {_hex(SECTION_MAGIC)}\t/* section header: byte order */",
        "",
        "/* Socket addresses as scap encodes them (PT_SOCKADDR, PT_SOCKTUPLE): the family byte,",
        " * then the family's fields (addresses in network order, ports in host order); a unix",
        " * socket's NUL-terminated path follows. _LEN: the shortest one with every field. */",
        "#define SENTRY_SOCK_OFF_FAMILY 0",
    ]
    lines += [f"#define SENTRY_AF_{name} {value}" for name, value in AF.items()]
    for kind, layouts in (("SOCKADDR", SOCKADDR), ("SOCKTUPLE", SOCKTUPLE)):
        for name, value in AF.items():
            lay = layouts[value]
            lines += [
                f"#define SENTRY_{kind}_{name}_OFF_{field.upper()} {off}"
                for field, off in lay.offsets.items()
                if field != "family"
            ]
            lines.append(f"#define SENTRY_{kind}_{name}_LEN {lay.size}")
    lines += [
        "",
        "/* SENTRY_IOCTL_SET_SAMPLING and the probe's sampling ratio: 1..SENTRY_SAMPLING_MAX */",
        f"#define SENTRY_SAMPLING_MAX {SAMPLING_MAX}",
        "",
        "#ifndef SENTRY_CDEF\t/* the compiler checks the offsets against the struct */",
        '_Static_assert(sizeof(struct sentry_evt_hdr) == SENTRY_EVT_HDR_LEN, "header size");',
    ]
    for name in HEADER_OFFSETS:
        lines.append(
            f"_Static_assert(__builtin_offsetof(struct sentry_evt_hdr, {name}) == "
            f'SENTRY_EVT_OFF_{name.upper()}, "{name} offset");'
        )
    lines.append(
        "_Static_assert(sizeof(struct sentry_evt_block_hdr) == SENTRY_EVB_HDR_LEN, "
        '"event block head size");'
    )
    for name in EVENT_BLOCK_OFFSETS:
        lines.append(
            f"_Static_assert(__builtin_offsetof(struct sentry_evt_block_hdr, {name}) == "
            f'SENTRY_EVB_OFF_{name.upper()}, "block {name} offset");'
        )
    lines += ["#endif", "", "#endif /* SENTRY_WIRE_H */", ""]
    return "\n".join(lines)


_EVENTS_HEAD = f"""\
/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
{GENERATED}
/*
 * sentry_events.h - scap event numbers and parameter types.
 *
 * The numbers are scap's (falcosecurity/libs ppm_events_public.h), so the kernel
 * module, the eBPF probe, .scap files and sysdig agree on them. Enter events are even,
 * exit events odd (enter + 1). Names are SE_ + scap's name without PPME_.
 * Rendered from python/sentry/events/_spec.py (table.py). Plain enums and defines only:
 * fed to cffi's cdef.
 */
#ifndef SENTRY_EVENTS_H
#define SENTRY_EVENTS_H

#define SE_DIRECTION_FLAG 1
"""


def _enum(name: str, comment: str, members: list[tuple[str, int]]) -> list[str]:
    head = [f"/* {comment} */"] if comment else []
    body = [f"\t{ident} = {value}," for ident, value in members]
    return ["", *head, f"enum {name} {{", *body, "};"]


def render_events() -> str:
    lines = [_EVENTS_HEAD.rstrip("\n")]
    events = [(f"SE_{info.ident}", code) for code, info in sorted(EVENTS.items())]
    lines += _enum("sentry_event_type", "", [*events, ("SE_EVENT_MAX", len(EVENTS))])
    types = [(f"SE_PT_{t.name}", t.value) for t in ParamType]
    lines += _enum(
        "sentry_param_type", "Parameter types (scap's PT_*).", [*types, ("SE_PT_MAX", len(types))]
    )
    formats = [(f"SE_PF_{f.name}", f.value) for f in PrintFormat]
    lines += _enum("sentry_print_format", "How a numeric parameter prints (scap's PF_*).", formats)
    flags = [(f"SE_EF_{n}", f.value) for n, f in EventFlags.__members__.items()]
    lines += _enum("sentry_event_flags", "Event flags (scap's EF_*).", flags)
    cats = [(f"SE_EC_{c.name}", c.value) for c in EventCategory]
    lines += _enum("sentry_event_category", "Event categories (scap's EC_*).", cats)
    lines += ["", "#endif /* SENTRY_EVENTS_H */", ""]
    return "\n".join(lines)


def _c_value(value: int) -> str:
    if value > 0 and value & (value - 1) == 0:
        return f"(1 << {value.bit_length() - 1})"
    return str(value) if value < 16 else f"0x{value:x}"


def render_scap_values() -> str:
    lines = [
        "/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */",
        GENERATED,
        "/*",
        " * sentry_scap_values.h - scap's encodings of the flags the drivers write (facts from",
        " * falcosecurity/libs' ppm_events_public.h), rendered from python/sentry/events",
        " * (flagnames.py's tables, wire.py's extras). sentry_scap_flags.h maps native values",
        " * to these.",
        " */",
        "#ifndef SENTRY_SCAP_VALUES_H",
        "#define SENTRY_SCAP_VALUES_H",
    ]
    seen: set[str] = set()
    for table, prefix in DRIVER_FLAG_TABLES.items():
        lines += ["", f"/* {table} */"]
        for name, value in FLAG_TABLES[table]:
            if prefix + name not in seen:
                seen.add(prefix + name)
                lines.append(f"#define {prefix}{name} {_c_value(value)}")
    lines += ["", "/* values no printed flag table holds */"]
    for name, value, what in DRIVER_EXTRA_VALUES:
        tail = f"\t/* {what} */" if what else ""
        lines.append(f"#define {name} {_c_value(value)}{tail}")
    lines += ["", "#endif /* SENTRY_SCAP_VALUES_H */", ""]
    return "\n".join(lines)


_SAMPLING_HEAD = f"""\
/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
{GENERATED}
/*
 * sentry_sampling.h - the syscalls that sampling ("dropping mode", SET_SAMPLING n > 1)
 * treats apart, shared by the kernel module and the eBPF probe so that both drop alike
 * (python/sentry/events/syscalls.py: NEVER_DROP_SYSCALLS, ALWAYS_DROP_SYSCALLS).
 *
 * As in scap's drivers: an event is kept when its timestamp falls in the first 1/n of
 * its second, except that the syscalls below marked never-drop (scap's UF_NEVER_DROP:
 * those that create or replace processes, file descriptors, working directory and
 * limits, the state a reader rebuilds) are always kept, and those marked always-drop
 * (UF_ALWAYS_DROP: frequent, stateless) are never kept while sampling. procexit is
 * never dropped either. Every event not written is counted in n_suppressed.
 *
 * X-macro lists of x86_64 syscall names; the includer needs the __NR_ constants
 * (asm/unistd_64.h) and defines X. Not for cffi.
 */
#ifndef SENTRY_SAMPLING_H
#define SENTRY_SAMPLING_H
"""


def _xmacro(name: str, syscalls: tuple[str, ...]) -> list[str]:
    unknown = [sc for sc in syscalls if sc not in X86_64_BY_NAME]
    if unknown:
        raise SystemExit(f"{name}: not x86_64 syscalls: {', '.join(unknown)}")
    rows: list[str] = []
    for sc in syscalls:
        item = f"X({sc})"
        if rows and len(rows[-1]) + 1 + len(item) <= 80:
            rows[-1] += " " + item
        else:
            rows.append(item)
    return [f"#define {name}(X) \\", *(f"\t{r} \\" for r in rows[:-1]), f"\t{rows[-1]}"]


def render_sampling() -> str:
    lines = [_SAMPLING_HEAD.rstrip("\n"), ""]
    lines += _xmacro("SENTRY_NEVER_DROP_SYSCALLS", NEVER_DROP_SYSCALLS)
    lines.append("")
    lines += _xmacro("SENTRY_ALWAYS_DROP_SYSCALLS", ALWAYS_DROP_SYSCALLS)
    lines += ["", "#endif /* SENTRY_SAMPLING_H */", ""]
    return "\n".join(lines)


#: every generated header, relative to driver/, and its renderer
ARTIFACTS = {
    "include/sentry_wire.h": render_wire,
    "include/sentry_events.h": render_events,
    "include/sentry_scap_values.h": render_scap_values,
    "syscall_events.h": render,
    "include/sentry_compat_syscalls.h": render_compat,
    "include/sentry_sampling.h": render_sampling,
    "include/sentry_scap_flags.h": render_scap_flags,
}


def stale(base: Path = HERE) -> list[str]:
    """The generated headers under base whose content differs from what the spec renders."""
    out = []
    for rel, fn in ARTIFACTS.items():
        path = base / rel
        if not path.is_file() or path.read_text() != fn():
            out.append(rel)
    return out


def main() -> int:
    if sys.argv[1:] == ["--check"]:
        bad = stale()
        for rel in bad:
            print(
                f"driver/{rel} is stale: run driver/gen_headers.py and commit it", file=sys.stderr
            )
        return 1 if bad else 0
    if sys.argv[1:]:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    for rel, fn in ARTIFACTS.items():
        path = HERE / rel
        text = fn()
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote driver/{rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
