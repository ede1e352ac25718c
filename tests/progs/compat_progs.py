"""32-bit programs (ia32 and x32) against a live driver: shared by tests/kmod/test_ia32_kmod.py
(the module, in the guest) and tests/ebpf/test_ia32_ebpf.py (the probe, host and guest).

``compat.c`` is built static with gcc's multilib C libraries (tests/progs/Makefile) into a
temporary directory; x32 runs only where the kernel enables it (Debian builds it disabled;
the guest boots with ``syscall.x32=y``).
"""

from __future__ import annotations

import errno
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RULES = REPO / "rules" / "sentry_rules.yaml"
RULE = "File Written Below Root Or Root Home"
PROGRAMS = {"ia32": "compat32", "x32": "compatx32"}

# "*": every matching event, also those lacking a field.
FORMAT = "*%proc.name ## %evt.type ## %evt.dir ## %evt.arg.flags ## %fd.name ## %evt.args"


def build(out: Path) -> dict[str, Path]:
    """Both programs, built into out (the test fails if the 32-bit C libraries are missing)."""
    done = subprocess.run(
        ["make", "-s", "-C", str(HERE), f"OUT={out}"], capture_output=True, text=True
    )
    assert done.returncode == 0, f"building tests/progs (gcc-multilib?): {done.stderr}"
    return {abi: out / name for abi, name in PROGRAMS.items()}


def x32_enabled() -> bool:
    return "syscall.x32=y" in Path("/proc/cmdline").read_text()


def runnable(binary: Path, abi: str) -> None:
    """Skip (fail where the kernel was booted to run it) if this kernel cannot exec binary."""
    try:
        subprocess.run([str(binary)], capture_output=True, check=False)
    except OSError as err:
        if err.errno != errno.ENOEXEC:
            raise
        if abi == "x32" and not x32_enabled():
            pytest.skip("this kernel runs no x32 programs (Debian: boot with syscall.x32=y)")
        pytest.fail(f"this kernel cannot exec the {abi} program: {err}")


class Listener:
    """A TCP listener on 127.0.0.1 for the program to connect to (accepts and closes)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            conn.close()

    def close(self) -> None:
        self.sock.close()


def compat_run_code(binary: Path, file1: Path, file2: Path, port: int) -> str:
    """Code for driver_cases.run_trigger: the child execs the program, which execs true."""
    argv = [str(binary), str(file1), str(file2), str(port), "/bin/true"]
    return f"import os\nos.execv({str(binary)!r}, {argv!r})\n"


def check_capture(
    events: list[Any], tmp_path: Path, binary: Path, file1: Path, file2: Path, port: int
) -> None:
    """The events of one run of the program, written to a .scap and read by real sysdig."""
    from sentry.capture.scapwriter import ScapWriter
    from sysdig_ref import sysdig_lines

    scap = tmp_path / "compat.scap"
    with ScapWriter(scap) as writer:
        writer.write_events(events)
    lines = [ln.split(" ## ") for ln in sysdig_lines(scap, FORMAT, "evt.dir=<")]
    name = binary.name

    def found(etype: str, proc: str, fd: str | None = None) -> list[list[str]]:
        return [
            ln
            for ln in lines
            if len(ln) == 6 and ln[1] == etype and ln[0] == proc and (fd is None or ln[4] == fd)
        ]

    seen = "\n".join(" ## ".join(ln) for ln in lines[-60:])
    # the exec into the 32-bit program: its execve exit names it
    assert found("execve", name), seen
    # libc's open (openat) and the raw open syscall, with their flags
    for etype, path in (("openat", file1), ("open", file2)):
        opened = found(etype, name, str(path))
        assert opened, f"no {etype} of {path} by {name}:\n{seen}"
        assert "O_WRONLY" in opened[0][3] and "O_CREAT" in opened[0][3], opened
    assert found("socket", name), seen
    connected = [ln for ln in found("connect", name) if f"->127.0.0.1:{port}" in ln[4]]
    assert connected, f"no connect to 127.0.0.1:{port}:\n{seen}"
    # and the 64-bit program it execs
    assert [ln for ln in found("execve", "true") if "from-compat" in ln[5]], seen


class Run:
    """``sentry run --driver DRIVER --json`` with the default rules; stdout lines collected."""

    def __init__(self, driver: str):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from sentry.cli.main import main; main()",
                "run",
                "-r",
                str(RULES),
                "--json",
                "--driver",
                driver,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def stop(self) -> None:
        self.proc.send_signal(2)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def seed_alert(driver: str, binary: Path, tmp_path: Path, deadline: float = 300) -> dict:
    """The seed alert for the program writing a file below /, through sentry run."""
    target = Path(f"/hoge-{uuid.uuid4().hex[:8]}.sh")
    listener = Listener()
    run = Run(driver)
    try:
        end = time.monotonic() + deadline  # rule loading is slow under emulation
        while time.monotonic() < end:
            if run.proc.poll() is not None:
                err = run.proc.stderr.read() if run.proc.stderr else ""
                pytest.fail(f"sentry run exited {run.proc.returncode}: {err[-2000:]}")
            subprocess.run(
                [
                    str(binary),
                    str(target),
                    str(tmp_path / "second"),
                    str(listener.port),
                    "/bin/true",
                ],
                check=True,
            )
            stop = time.monotonic() + 2
            while time.monotonic() < stop:
                try:
                    line = run.lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if not line.startswith("{"):
                    continue
                alert = json.loads(line)
                if alert.get("rule") == RULE and alert.get("output_fields", {}).get(
                    "fd.name"
                ) == str(target):
                    return alert
        pytest.fail(f"no alert for {target} within {deadline} s")
    finally:
        run.stop()
        listener.close()
        target.unlink(missing_ok=True)


def check_alert(alert: dict, binary: Path) -> None:
    assert ": Error File below / or /root opened for writing (" in alert["output"]
    assert alert["priority"] == "Error"
    assert alert["output_fields"]["proc.name"] == binary.name


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("progs"))


@pytest.fixture
def listener() -> Iterator[Listener]:
    lis = Listener()
    yield lis
    lis.close()
