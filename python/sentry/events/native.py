"""Native x86-64 Linux values the drivers translate into scap's encodings, and which native
value becomes which scap one: with :mod:`sentry.events.flagnames` (scap's values) the spec
of ``driver/include/sentry_scap_flags.h``, rendered by ``driver/gen_headers.py``.

The eBPF probe sees no kernel macros (vmlinux.h holds types only), so both drivers spell
the native values as these numbers (``K_<name>``); the module checks each one that names
its kernel macro against the kernel's own headers at build time.
"""

from __future__ import annotations

from typing import NamedTuple


class Native(NamedTuple):
    """One native value: ``K_<name>`` in C."""

    name: str
    value: int
    kernel: str | None  # the kernel macro the module checks it against (None: unchecked)
    note: str = ""


def _group(base: int, text: str, kernel: bool = True) -> tuple[int, tuple[Native, ...]]:
    """``NAME=value`` words (values in ``base``), each checked against the same-named macro."""
    out = []
    for word in text.split():
        name, _, value = word.partition("=")
        out.append(Native(name, int(value, base), name if kernel else None))
    return base, tuple(out)


_O_GROUP = _group(
    8,
    "O_ACCMODE=03 O_WRONLY=01 O_RDWR=02 O_CREAT=0100 O_EXCL=0200 O_TRUNC=01000 O_APPEND=02000 "
    "O_NONBLOCK=04000 O_DSYNC=010000 O_DIRECT=040000 O_LARGEFILE=0100000 "
    "O_DIRECTORY=0200000 O_CLOEXEC=02000000",
)

#: (printing base, values) per group, in the header's order
NATIVE_GROUPS: tuple[tuple[int, tuple[Native, ...]], ...] = (
    (16, (Native("OVERLAYFS_SUPER_MAGIC", 0x794C7630, None),)),
    (
        8,
        _O_GROUP[1]
        + (
            Native("O_SYNC", 0o4000000, "__O_SYNC", "__O_SYNC: O_SYNC without O_DSYNC"),
            Native(
                "O_TMPFILE", 0o20000000, "__O_TMPFILE", "__O_TMPFILE: O_TMPFILE without O_DIRECTORY"
            ),
        ),
    ),
    _group(
        16,
        "CLONE_VM=100 CLONE_FS=200 CLONE_FILES=400 CLONE_SIGHAND=800 CLONE_PTRACE=2000 "
        "CLONE_VFORK=4000 CLONE_PARENT=8000 CLONE_THREAD=10000 CLONE_NEWNS=20000 "
        "CLONE_SYSVSEM=40000 CLONE_SETTLS=80000 CLONE_PARENT_SETTID=100000 "
        "CLONE_CHILD_CLEARTID=200000 CLONE_UNTRACED=800000 CLONE_CHILD_SETTID=1000000 "
        "CLONE_NEWCGROUP=2000000 CLONE_NEWUTS=4000000 CLONE_NEWIPC=8000000 "
        "CLONE_NEWUSER=10000000 CLONE_NEWPID=20000000 CLONE_NEWNET=40000000 CLONE_IO=80000000",
    ),
    _group(
        16,
        "PROT_READ=1 PROT_WRITE=2 PROT_EXEC=4 PROT_SEM=8 PROT_GROWSDOWN=1000000 "
        "PROT_GROWSUP=2000000",
    ),
    _group(
        16,
        "MAP_SHARED=1 MAP_PRIVATE=2 MAP_FIXED=10 MAP_ANONYMOUS=20 MAP_32BIT=40 "
        "MAP_GROWSDOWN=100 MAP_DENYWRITE=800 MAP_EXECUTABLE=1000 MAP_LOCKED=2000 "
        "MAP_NORESERVE=4000 MAP_POPULATE=8000 MAP_NONBLOCK=10000",
    ),
    _group(
        16,
        "RESOLVE_NO_XDEV=1 RESOLVE_NO_MAGICLINKS=2 RESOLVE_NO_SYMLINKS=4 RESOLVE_BENEATH=8 "
        "RESOLVE_IN_ROOT=10 RESOLVE_CACHED=20",
    ),
    _group(16, "AT_SYMLINK_NOFOLLOW=100 AT_EMPTY_PATH=1000"),
    _group(16, "EFD_SEMAPHORE=1"),
    _group(
        16,
        "POLLIN=1 POLLPRI=2 POLLOUT=4 POLLERR=8 POLLHUP=10 POLLNVAL=20 POLLRDNORM=40 "
        "POLLRDBAND=80 POLLWRNORM=100 POLLWRBAND=200 POLLRDHUP=2000",
    ),
    _group(
        8,
        "S_IFMT=0170000 S_IFSOCK=0140000 S_IFREG=0100000 S_IFBLK=060000 S_IFCHR=020000 "
        "S_IFIFO=010000",
    ),
    _group(16, "MS_MGC_MSK=ffff0000 MS_MGC_VAL=c0ed0000"),
)
NATIVE: dict[str, Native] = {n.name: n for _, group in NATIVE_GROUPS for n in group}


class BitTranslation(NamedTuple):
    """A flag word translated bit by bit: ``(f & K_CLONE_VM ? SCAP_CL_CLONE_VM : 0) | ...``.

    The bits are each scap flag of ``table`` whose name is a native value (less ``skip``),
    in scap's bit order or the native one (``order``), or the explicit ``pairs``.
    """

    func: str  # the C function
    arg: str  # its parameter
    arg_type: str
    ret_type: str
    table: str  # scap's flag table (flagnames.FLAG_TABLES); "" with pairs
    prefix: str  # the scap names' C prefix (SCAP_CL_ for clone flags)
    order: str = "scap"  # or "native"
    comment: str = ""
    pairs: tuple[tuple[str, str], ...] = ()  # (native, scap C name)
    skip: tuple[str, ...] = ()


BIT_TRANSLATIONS: dict[str, BitTranslation] = {
    t.func: t
    for t in (
        BitTranslation(
            "scap_open_flags",
            "f",
            "__u64",
            "__u32",
            "file_flags",
            "SCAP_",
            skip=("O_RDONLY", "O_WRONLY", "O_RDWR"),  # the access mode: not bits
        ),
        BitTranslation("scap_clone_flags", "f", "__u64", "__u32", "clone_flags", "SCAP_CL_"),
        BitTranslation("scap_prot_flags", "p", "__u64", "__u32", "prot_flags", "SCAP_"),
        BitTranslation("scap_mmap_flags", "f", "__u64", "__u32", "mmap_flags", "SCAP_", "native"),
        BitTranslation(
            "scap_eventfd_flags",
            "f",
            "__u64",
            "__u32",
            "",
            "",
            pairs=(
                ("EFD_SEMAPHORE", "SCAP_EFD_SEMAPHORE"),
                ("O_NONBLOCK", "SCAP_EFD_NONBLOCK"),
                ("O_CLOEXEC", "SCAP_EFD_CLOEXEC"),
            ),
        ),
        BitTranslation(
            "scap_resolve_flags",
            "r",
            "__u64",
            "__u32",
            "openat2_flags",
            "SCAP_",
            comment="openat2: the kernel's RESOLVE_* in scap's order.",
        ),
        BitTranslation(
            "scap_execveat_flags", "f", "__u64", "__u32", "execveat_flags", "SCAP_EXVAT_"
        ),
        BitTranslation(
            "scap_poll_events",
            "ev",
            "__u16",
            "__u16",
            "poll_flags",
            "SCAP_",
            comment="poll events: the kernel's POLL* in scap's order (PPM_POLL*).",
        ),
    )
}

# Native command numbers the drivers translate to scap's (fcntl_commands, ptrace_requests).
FCNTL_COMMANDS: dict[str, int] = {
    "F_DUPFD": 0, "F_GETFD": 1, "F_SETFD": 2, "F_GETFL": 3, "F_SETFL": 4, "F_GETLK": 5,
    "F_SETLK": 6, "F_SETLKW": 7, "F_SETOWN": 8, "F_GETOWN": 9, "F_SETSIG": 10, "F_GETSIG": 11,
    "F_SETOWN_EX": 15, "F_GETOWN_EX": 16, "F_OFD_GETLK": 36, "F_OFD_SETLK": 37,
    "F_OFD_SETLKW": 38, "F_SETLEASE": 1024, "F_GETLEASE": 1025, "F_NOTIFY": 1026,
    "F_CANCELLK": 1029, "F_DUPFD_CLOEXEC": 1030, "F_SETPIPE_SZ": 1031, "F_GETPIPE_SZ": 1032,
}  # fmt: skip
PTRACE_REQUESTS: dict[str, int] = {
    "PTRACE_TRACEME": 0, "PTRACE_PEEKTEXT": 1, "PTRACE_PEEKDATA": 2, "PTRACE_PEEKUSR": 3,
    "PTRACE_POKETEXT": 4, "PTRACE_POKEDATA": 5, "PTRACE_POKEUSR": 6, "PTRACE_CONT": 7,
    "PTRACE_KILL": 8, "PTRACE_SINGLESTEP": 9, "PTRACE_GETREGS": 12, "PTRACE_SETREGS": 13,
    "PTRACE_GETFPREGS": 14, "PTRACE_SETFPREGS": 15, "PTRACE_ATTACH": 16, "PTRACE_DETACH": 17,
    "PTRACE_GETFPXREGS": 18, "PTRACE_SETFPXREGS": 19, "PTRACE_SYSCALL": 24,
    "PTRACE_SETOPTIONS": 0x4200, "PTRACE_GETEVENTMSG": 0x4201, "PTRACE_GETSIGINFO": 0x4202,
    "PTRACE_SETSIGINFO": 0x4203, "PTRACE_GETREGSET": 0x4204, "PTRACE_SETREGSET": 0x4205,
    "PTRACE_SEIZE": 0x4206, "PTRACE_INTERRUPT": 0x4207, "PTRACE_LISTEN": 0x4208,
    "PTRACE_PEEKSIGINFO": 0x4209, "PTRACE_GETSIGMASK": 0x420A, "PTRACE_SETSIGMASK": 0x420B,
}  # fmt: skip
#: command numbers the module checks against the kernel's macros (spot checks of each range)
COMMANDS_CHECKED: tuple[str, ...] = (
    "F_DUPFD_CLOEXEC",
    "F_OFD_SETLKW",
    "F_GETPIPE_SZ",
    "PTRACE_SYSCALL",
    "PTRACE_SETSIGMASK",
)
