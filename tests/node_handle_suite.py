"""mknod, mknodat and open_by_handle_at as libs' dedicated events, through a live driver (both
run these tests: ``tests/ebpf/test_ebpf_node_handle.py`` with the probe on the host,
``tests/kmod/test_kmod_node_handle.py`` with the module in the guest; each folder's conftest
gives ``live_source``).

One child (root) makes a FIFO with mknod, a character device (1, 3) and a socket node with
mknodat (once against the cwd, once against a directory descriptor), fails one mknod
(EEXIST), opens a file by its handle (name_to_handle_at, then open_by_handle_at through a
descriptor of its directory) and fails one open_by_handle_at (a bad mount descriptor).
What must hold: each exit carries libs' parameters (path, mode with the node type, dev in
libs' encoding; the opened file's path, dev and inode), the inspector and the fields read
them as rules do (``evt.arg.path`` absolute, ``fd.name`` of the handle's descriptor), and
the real sysdig reads the capture we write (it skips these later event numbers).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from driver_cases import AT_FDCWD, Captured, run_trigger
from sentry.capture.scapwriter import ScapWriter
from sentry.fields.registry import resolve
from sentry.inspect.inspector import Inspector
from sysdig_ref import need_sysdig

EEXIST, EBADF = 17, 9
SCAP_O_RDONLY = 1

TRIGGER = """
import stat, json
os.mkdir("sub")
d = os.open("sub", os.O_RDONLY | os.O_DIRECTORY)
facts = {"dirfd": d}
facts["fifo"] = sc(133, b"fifo1", stat.S_IFIFO | 0o640, 0)
facts["chr"] = sc(259, -100, b"null1", stat.S_IFCHR | 0o600, os.makedev(1, 3))
facts["sock"] = sc(259, d, b"sock1", stat.S_IFSOCK | 0o600, 0)
facts["exists"] = sc(133, b"fifo1", stat.S_IFIFO | 0o640, 0)
open("target", "w").write("secret")
# struct file_handle: handle_bytes, handle_type, then at most MAX_HANDLE_SZ (128) bytes
buf = ctypes.create_string_buffer(8 + 128)
ctypes.c_uint.from_buffer(buf).value = 128
mount_id = ctypes.c_int()
facts["n2h"] = libc.syscall(ctypes.c_long(303), ctypes.c_long(-100), ctypes.c_char_p(b"target"),
                            buf, ctypes.byref(mount_id), ctypes.c_long(0))
facts["n2h_errno"] = ctypes.get_errno()
mnt = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
facts["mountfd"] = mnt
fd = libc.syscall(ctypes.c_long(304), ctypes.c_long(mnt), buf, ctypes.c_long(os.O_RDONLY))
facts["handle_fd"] = fd
if fd >= 0:
    facts["data"] = os.read(fd, 100).decode()
    os.close(fd)
facts["bad"] = libc.syscall(ctypes.c_long(304), ctypes.c_long(-1), buf, ctypes.c_long(0))
st = os.stat("target")
facts["dev"], facts["ino"] = st.st_dev, st.st_ino
facts["rdev"] = os.stat("null1").st_rdev
print("FACTS" + json.dumps(facts), flush=True)
"""


class Story:
    """The trigger's events, what it saw, and field values at each of the three exits."""

    def __init__(self, cap: Captured) -> None:
        self.cap = cap
        self.workdir = Path(cap.workdir)
        line = next(x for x in cap.output.splitlines() if x.startswith("FACTS"))
        self.facts: dict[str, Any] = json.loads(line[len("FACTS") :])
        inspector = Inspector()
        names = ("evt.type", "evt.arg.path", "evt.arg.mode", "evt.res", "fd.name", "proc.name")
        fields = {n: resolve(n) for n in names}
        self.seen: list[dict[str, Any]] = []
        for ev in cap.events:
            inspector.process(ev)
            if ev.info.direction == "<" and ev.info.name in (
                "mknod",
                "mknodat",
                "open_by_handle_at",
            ):
                values = {n: f.extract(ev) for n, f in fields.items()}
                self.seen.append({"params": dict(ev.params()), **values})

    def exits(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["evt.type"] == name]


@pytest.fixture(scope="module")
def story(live_source: Any, tmp_path_factory: pytest.TempPathFactory) -> Story:
    if os.geteuid() != 0:
        pytest.skip("needs root (mknod of a device, open_by_handle_at's CAP_DAC_READ_SEARCH)")
    work = tmp_path_factory.mktemp("node-handle")
    cap = run_trigger(live_source, TRIGGER, work, timeout=60.0)
    assert "Traceback" not in cap.output, cap.output
    return Story(cap)


def test_mknod_exits_carry_path_mode_and_dev(story: Story) -> None:
    f, w = story.facts, story.workdir
    assert f["fifo"] == 0 and f["chr"] == 0 and f["sock"] == 0 and f["exists"] == -1
    mknods = [s["params"] for s in story.exits("mknod")]
    assert mknods == [
        {"res": 0, "path": "fifo1", "mode": stat.S_IFIFO | 0o640, "dev": 0},
        {"res": -EEXIST, "path": "fifo1", "mode": stat.S_IFIFO | 0o640, "dev": 0},
    ]
    ats = [s["params"] for s in story.exits("mknodat")]
    # libs' dev: the kernel's (major << 20 | minor) of the node, as the module's MKDEV
    rdev = f["rdev"]
    assert os.major(rdev) == 1 and os.minor(rdev) == 3
    assert ats == [
        {"res": 0, "dirfd": AT_FDCWD, "path": "null1", "mode": stat.S_IFCHR | 0o600,
         "dev": (1 << 20) | 3},
        {"res": 0, "dirfd": f["dirfd"], "path": "sock1", "mode": stat.S_IFSOCK | 0o600,
         "dev": 0},
    ]  # fmt: skip
    assert stat.S_ISCHR(os.stat(w / "null1").st_mode)


def test_mknod_fields_read_as_rules_read_them(story: Story) -> None:
    w = story.workdir
    paths = [
        (s["evt.type"], s["evt.arg.path"])
        for s in story.seen
        if s["evt.type"] != "open_by_handle_at"
    ]
    # relative paths resolved against the cwd, mknodat's against its directory descriptor
    assert paths == [
        ("mknod", f"{w}/fifo1"),
        ("mknodat", f"{w}/null1"),
        ("mknodat", f"{w}/sub/sock1"),
        ("mknod", f"{w}/fifo1"),
    ], paths
    # libs' mknod_mode names, walked in its order (a socket's bits show as S_IFREG there)
    modes = [s["evt.arg.mode"] for s in story.exits("mknodat")]
    assert modes[0] == "S_IWUSR|S_IRUSR|S_IFCHR", modes


def test_open_by_handle_at_names_the_file_it_opened(story: Story) -> None:
    f, w = story.facts, story.workdir
    if f["n2h"] != 0:
        pytest.skip(f"name_to_handle_at is refused on {w} (errno {f['n2h_errno']})")
    assert f["handle_fd"] >= 0 and f["data"] == "secret"
    ok, bad = story.exits("open_by_handle_at")
    assert ok["params"] == {
        "fd": f["handle_fd"],
        "mountfd": f["mountfd"],
        "flags": SCAP_O_RDONLY,
        "path": f"{w}/target",
        "dev": f["dev"],
        "ino": f["ino"],
    }
    assert ok["fd.name"] == f"{w}/target" and ok["evt.arg.path"] == f"{w}/target"
    # a failed call: its errno, no path (an empty parameter), no dev or inode
    assert bad["params"] == {
        "fd": -EBADF, "mountfd": -1, "flags": SCAP_O_RDONLY, "path": None, "dev": 0, "ino": 0,
    }  # fmt: skip


def test_sysdig_reads_the_capture(story: Story, tmp_path: Path) -> None:
    need_sysdig()
    capture = tmp_path / "node.scap"
    with ScapWriter(capture) as writer:
        writer.write_events(story.cap.events)
    out = subprocess.run(
        ["sysdig", "-r", str(capture), "-p", "%evt.type|%fd.name", "evt.type=openat and evt.dir=<"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # sysdig 0.29 knows none of the three events (numbers past its table): it skips them
    # and reads on, the opens around them included
    assert out.returncode == 0, out.stderr
    assert f"openat|{story.workdir}/target" in out.stdout.splitlines(), out.stdout[-2000:]
