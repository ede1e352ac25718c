"""What an execve exit says about the new program, as libs' execve_19 exit carries it (both
live drivers run these tests: ``tests/ebpf/test_ebpf_exe_image.py`` on the host,
``tests/kmod/test_kmod_exe_image.py`` in the guest; each folder's conftest gives
``live_source``).

One child runs every story once: a program run from a memfd, a copy of ``true`` run as root,
under ``capsh --drop`` and as nobody, programs in an overlayfs (one in the lower layer, one
written through the mount, so in the upper layer), and a relative open for ``fd.nameraw``.
The events go through the inspector and the field registry as ``sentry run`` reads them,
and through the real sysdig for the fields it knows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from driver_cases import Captured, run_trigger
from sentry.capture.scapwriter import ScapWriter
from sentry.fields.registry import resolve
from sentry.fields.thread import CAP_NAMES, caps_to_string
from sentry.inspect.inspector import Inspector
from sysdig_ref import need_sysdig

DROPPED = ("CAP_SYS_ADMIN", "CAP_NET_RAW")
EXE_WRITABLE, EXE_UPPER_LAYER, EXE_FROM_MEMFD, EXE_LOWER_LAYER = 1, 1 << 1, 1 << 2, 1 << 3

TRIGGER = """
import shutil, subprocess
true = shutil.which("true")
def run(*argv):
    subprocess.run(list(argv), check=True)
# a program run from a memfd (fexecve: execveat(fd, "", AT_EMPTY_PATH))
fd = os.memfd_create("sentry-payload", 0)
os.write(fd, open(true, "rb").read())
pid = os.fork()
if pid == 0:
    try:
        os.execve(fd, ["memfd-true"], {})
    except OSError as err:  # 5.10 in the guest: ENOENT; the same file through /proc
        print("fexecve failed", err.errno, flush=True)
        os.execve(f"/proc/self/fd/{fd}", ["memfd-true"], {})
os.waitpid(pid, 0)
os.close(fd)
# a copy of true, run as root, with two capabilities dropped, and as nobody
shutil.copy(true, "plain-true")
os.chmod("plain-true", 0o755)
run("./plain-true", "root")
run("capsh", "--drop=cap_sys_admin,cap_net_raw", "--", "-c", "exec ./plain-true dropped")
run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "./plain-true", "nobody")
# overlayfs: one program in the lower layer, one written through the mount (upper layer)
for d in ("lower", "upper", "work", "merged"):
    os.mkdir(d)
shutil.copy(true, "lower/lower-true")
run("mount", "-t", "overlay", "overlay", "-o",
    f"lowerdir={W}/lower,upperdir={W}/upper,workdir={W}/work", f"{W}/merged")
try:
    shutil.copy(true, "merged/upper-true")
    os.chmod("merged/upper-true", 0o755)
    run("merged/lower-true", "lower")
    run("merged/upper-true", "upper")
finally:
    run("umount", f"{W}/merged")
# a relative path with a doubled separator
os.mkdir("sub")
open("sub//raw.txt", "w").close()
# module loading that cannot succeed: a bad fd, an image that is no ELF file
sc(313, -1, b"opt=1", 0)
sc(175, b"not-an-elf-image", 16, b"opt=2")
"""


def _tools() -> None:
    for tool in ("capsh", "setpriv", "mount"):
        if shutil.which(tool) is None:
            if os.environ.get("CI"):
                pytest.fail(f"{tool} is not installed")
            pytest.skip(f"{tool} is not installed")


class Story:
    """The trigger's events, and field values at each of its execve exits."""

    def __init__(self, cap: Captured) -> None:
        self.cap = cap
        self.workdir = Path(cap.workdir)
        self.inspector = Inspector()
        self.execs: list[tuple[Any, dict[str, Any]]] = []
        self.opens: list[dict[str, Any]] = []
        names = (
            "proc.name",
            "proc.args",
            "proc.exepath",
            "proc.is_exe_writable",
            "proc.is_exe_from_memfd",
            "proc.is_exe_upper_layer",
            "thread.cap_effective",
            "thread.cap_permitted",
            "thread.cap_inheritable",
            "proc.exe_ino",
            "proc.exe_ino.ctime",
            "proc.exe_ino.mtime",
            "proc.exe_ino.ctime_duration_proc_start",
            "evt.arg.flags",
            "user.uid",
        )
        fields = {n: resolve(n) for n in names}
        raw, name = resolve("fd.nameraw"), resolve("fd.name")
        for ev in cap.events:
            self.inspector.process(ev)
            if ev.info.name == "execve" and ev.info.direction == "<" and ev.param(0) == 0:
                self.execs.append((ev, {n: f.extract(ev) for n, f in fields.items()}))
            if ev.info.name in ("openat", "open") and ev.info.direction == "<":
                self.opens.append({"fd.nameraw": raw.extract(ev), "fd.name": name.extract(ev)})

    def run_of(self, arg: str) -> tuple[Any, dict[str, Any]]:
        """The exec of a program whose first argument is arg (its comm when none)."""
        for ev, values in self.execs:
            if values["proc.args"] == arg or (arg and values["proc.name"] == arg):
                return ev, values
        raise AssertionError(
            f"no exec with args {arg!r}: "
            f"{[(v['proc.name'], v['proc.args']) for _, v in self.execs]}"
        )


@pytest.fixture(scope="module")
def story(live_source: Any, tmp_path_factory: pytest.TempPathFactory) -> Story:
    _tools()
    work = tmp_path_factory.mktemp("exe-image")
    cap = run_trigger(live_source, TRIGGER, work, timeout=60.0)
    assert "Traceback" not in cap.output, cap.output
    return Story(cap)


def _memfd_exepath(story: Story) -> str:
    """The fd's name (memfd_create's event names it) after fexecve; the path given when
    the kernel refused fexecve and the child ran /proc/self/fd/N instead."""
    if "fexecve failed" in story.cap.output:
        return next(
            ev.param_by_name("filename")
            for ev in story.cap.named("execve", ">")
            if str(ev.param_by_name("filename")).startswith("/proc/self/fd/")
        )
    return "memfd:sentry-payload"


def _bounding_set() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    raise AssertionError("no CapBnd in /proc/self/status")


def test_a_program_run_from_a_memfd_is_flagged(story: Story) -> None:
    ev, memfd = next((e, v) for e, v in story.execs if e.param_by_name("exe") == "memfd-true")
    # comm: the memfd's name ("memfd:" + the name given, cut to 15 characters) after
    # fexecve; the path's last part (the fd number) after /proc/self/fd/N
    fallback = "fexecve failed" in story.cap.output
    comm = _memfd_exepath(story).rsplit("/", 1)[1] if fallback else "memfd:sentry-pa"
    assert memfd["proc.name"] == comm, memfd
    assert memfd["proc.is_exe_from_memfd"] is True
    assert ev.param_by_name("flags") & EXE_FROM_MEMFD
    # exepath: the fd's name, which memfd_create's event gave it
    assert memfd["proc.exepath"] == _memfd_exepath(story), memfd
    _, plain = story.run_of("root")
    assert plain["proc.is_exe_from_memfd"] is False


def test_capability_sets_of_root_of_dropped_and_of_nobody(story: Story) -> None:
    bounding = _bounding_set()
    drop = sum(1 << CAP_NAMES.index(name) for name in DROPPED)
    _, root = story.run_of("root")
    # root after execve: permitted = effective = the bounding set, nothing inheritable
    assert root["thread.cap_effective"] == caps_to_string(bounding)
    assert root["thread.cap_permitted"] == caps_to_string(bounding)
    assert root["thread.cap_inheritable"] == ""
    assert "CAP_SYS_ADMIN" in root["thread.cap_effective"].split()
    _, dropped = story.run_of("dropped")
    assert dropped["thread.cap_effective"] == caps_to_string(bounding & ~drop)
    assert not set(DROPPED) & set(dropped["thread.cap_effective"].split())
    _, nobody = story.run_of("nobody")
    assert nobody["thread.cap_effective"] == nobody["thread.cap_permitted"] == ""
    assert nobody["user.uid"] == 65534


def test_exe_writable_for_its_owner_not_for_nobody(story: Story) -> None:
    # plain-true: root's, mode 755; nobody has neither ownership, a write bit nor
    # CAP_DAC_OVERRIDE
    ev, root = story.run_of("root")
    assert root["proc.is_exe_writable"] is True and ev.param_by_name("flags") & EXE_WRITABLE
    ev, nobody = story.run_of("nobody")
    assert nobody["proc.is_exe_writable"] is False
    assert not ev.param_by_name("flags") & EXE_WRITABLE


def test_overlay_upper_and_lower_layers(story: Story) -> None:
    lower_ev, lower = story.run_of("lower")
    upper_ev, upper = story.run_of("upper")
    assert upper["proc.is_exe_upper_layer"] is True
    assert upper_ev.param_by_name("flags") & EXE_UPPER_LAYER
    assert lower["proc.is_exe_upper_layer"] is False
    assert lower_ev.param_by_name("flags") & EXE_LOWER_LAYER
    _, plain = story.run_of("root")
    assert plain["proc.is_exe_upper_layer"] is False


def test_executable_inode_and_times(story: Story) -> None:
    ev, plain = story.run_of("root")
    st = os.stat(story.workdir / "plain-true")
    assert plain["proc.exe_ino"] == st.st_ino
    assert plain["proc.exe_ino.ctime"] == st.st_ctime_ns
    assert plain["proc.exe_ino.mtime"] == st.st_mtime_ns
    # the copy was changed before the child that ran it was forked
    assert plain["proc.exe_ino.ctime_duration_proc_start"] > 0
    assert ev.param_by_name("trusted_exepath") == os.path.realpath(story.workdir / "plain-true")
    assert ev.param_by_name("uid") == 0


def test_fd_nameraw_is_the_path_as_opened(story: Story) -> None:
    target = str(story.workdir / "sub" / "raw.txt")
    seen = [o for o in story.opens if o["fd.name"] == target]
    assert seen, story.opens[-5:]
    assert seen[0]["fd.nameraw"] == "sub/raw.txt"


def test_memfd_and_module_events_carry_their_parameters(story: Story) -> None:
    memfd = story.cap.named("memfd_create")
    assert [(e.param_by_name("name"), e.param_by_name("flags")) for e in memfd] == [
        ("sentry-payload", 0)
    ]
    assert memfd[0].param_by_name("fd") >= 0
    finit = story.cap.named("finit_module")
    # EBADF; ENOSYS where the kernel cannot load modules (this 6.18 host)
    assert [
        (e.param_by_name("res"), e.param_by_name("fd"), e.param_by_name("uargs")) for e in finit
    ] in ([(-9, -1, "opt=1")], [(-38, -1, "opt=1")])
    init = story.cap.named("init_module")
    assert len(init) == 1 and init[0].param_by_name("res") < 0
    assert init[0].param_by_name("img") == b"not-an-elf-image"
    assert (init[0].param_by_name("length"), init[0].param_by_name("uargs")) == (16, "opt=2")


def test_sysdig_reads_the_longer_execve_exits(story: Story, tmp_path: Path) -> None:
    need_sysdig()
    capture = tmp_path / "exe.scap"
    with ScapWriter(capture) as writer:
        writer.write_events(story.cap.events)
    out = subprocess.run(
        [
            "sysdig",
            "-r",
            str(capture),
            "-p",
            "%proc.name|%proc.args|%proc.exepath",
            "evt.type=execve and evt.dir=< and evt.failed=false and proc.name!=python3",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, TZ="UTC"),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    theirs = [line.split("|") for line in out.stdout.splitlines()]
    ours = [
        [v["proc.name"], v["proc.args"], v["proc.exepath"]]
        for _, v in story.execs
        if v["proc.name"] != "python3"
    ]
    # the same programs and arguments; the same paths wherever sysdig 0.29 makes one
    # absolute (a relative one only when it knows the cwd: it saw the process start), and
    # ours are all absolute but the memfd's (a name sysdig cannot know: it skips
    # memfd_create's event)
    assert [t[:2] for t in theirs] == [o[:2] for o in ours], (theirs, ours)
    paths = [(t[2], o[2]) for t, o in zip(theirs, ours, strict=True) if t[2][:1] == "/"]
    assert len(paths) >= 6 and all(t == o for t, o in paths), paths
    assert all(o[2][:1] == "/" for o in ours if not o[2].startswith("memfd:")), ours


def _falco_current() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
    return Path(os.environ.get("SENTRY_CONFORMANCE_DIR", default)) / "falco-current"


def test_todays_falco_rule_fires_on_the_memfd_exec_only(story: Story, tmp_path: Path) -> None:
    """Falco's current falco_rules.yaml, unmodified, over the story: "Fileless execution via
    memfd_create" fires once, for the memfd exec (the plain and overlay execs are its near
    misses)."""
    rules = _falco_current() / "falco_rules.yaml"
    if not rules.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{rules} is missing")
        pytest.skip(f"{rules} is missing")
    capture = tmp_path / "story.scap"
    with ScapWriter(capture) as writer:
        writer.write_events(story.cap.events)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sentry.cli.main import main; main()",
            "run",
            "-r",
            str(rules),
            "-e",
            str(capture),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    alerts = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    fileless = [a for a in alerts if a["rule"] == "Fileless execution via memfd_create"]
    assert len(fileless) == 1, [a["rule"] for a in alerts]
    fields = fileless[0]["output_fields"]
    assert fields["proc.exepath"] == _memfd_exepath(story)
    assert "EXE_FROM_MEMFD" in fields["evt.arg.flags"]
