"""The kernel-log check that ends every qemu run (scripts/kernel-log-check.sh, called by
tests/kmod/run_in_vm.sh on the guest's dmesg): which reports it fails on, that ordinary
lines of a module run pass, and, in qemu, that a report in the guest's kernel log fails a
run whose tests all passed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "kernel-log-check.sh"

# What a clean module run leaves in dmesg (5.10 guest, this suite), plus lines that merely
# contain a report's words in lower case or in other messages.
CLEAN = """\
[    4.955946] sentry: loading out-of-tree module taints kernel.
[    4.957146] sentry: module verification failed: signature and/or required key missing - \
tainting kernel
[    5.026229] sentry: loaded, 2 rings of 8388608 bytes
[   54.791967] smpboot: CPU 1 is now offline
[   55.468747] smpboot: Booting Node 0 Processor 1 APIC 0x1
[  193.951672] sentry: ring_bytes must be a power of two in [64 KiB, 1 GiB]
[  195.157382] sentry: unloaded
[  196.000001] sentry: debug: warning: no reader on ring 1 (an ordinary message)
"""

# One line of each kind of report the kernel prints (its own spellings).
REPORTS = [
    "WARNING: CPU: 1 PID: 211 at driver/ring.c:88 ring_put+0x5c/0x90 [sentry]",
    "------------[ cut here ]------------",
    "BUG: kernel NULL pointer dereference, address: 0000000000000008",
    "kernel BUG at mm/slub.c:4321!",
    "Oops: 0002 [#1] PREEMPT SMP NOPTI",
    "general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1]",
    "invalid opcode: 0000 [#1] PREEMPT SMP NOPTI",
    "BUG: KASAN: slab-use-after-free in fill_file+0x1a/0x60 [sentry]",
    "UBSAN: array-index-out-of-bounds in driver/fill_net.c:120:9",
    "BUG: KFENCE: out-of-bounds read in encode_str+0x33/0x80 [sentry]",
    "WARNING: possible circular locking dependency detected",
    "WARNING: suspicious RCU usage",
    "WARNING: inconsistent lock state",
    "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
    "rcu: INFO: rcu_sched self-detected stall on CPU",
    "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [python3:140]",
    "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1",
    "INFO: task python3:152 blocked for more than 120 seconds.",
    "refcount_t: underflow; use-after-free.",
    "list_del corruption. prev->next should be ffff888004a1b2c8, but was 0000000000000000",
    "Call Trace:",
    "Kernel panic - not syncing: Fatal exception",
]


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    log = tmp_path / "dmesg.txt"
    log.write_text(text)
    return subprocess.run(
        ["bash", str(CHECK), str(log)], capture_output=True, text=True, check=False
    )


def test_a_clean_module_run_passes(tmp_path: Path) -> None:
    done = check(tmp_path, CLEAN)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


@pytest.mark.parametrize(
    "report", REPORTS, ids=[r.split()[0] + str(i) for i, r in enumerate(REPORTS)]
)
def test_each_report_fails_and_is_shown(tmp_path: Path, report: str) -> None:
    line = f"[  101.250314] {report}"
    done = check(tmp_path, CLEAN + line + "\n" + "[  101.250400] sentry: unloaded\n")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == f"{CLEAN.count(chr(10)) + 1}:{line}\n"  # numbered, only that line


def test_unreadable_log_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(CHECK), str(tmp_path / "missing")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "cannot read" in done.stderr


GUEST_TEST = """
def test_passes_but_the_kernel_warned():
    with open("/dev/kmsg", "w") as kmsg:
        kmsg.write("<4>WARNING: CPU: 0 PID: 1 at sentry/selftest.c:1 selftest+0x0/0x10\\n")
"""


def test_run_in_vm_fails_on_a_report_in_the_guests_kernel_log(tmp_path: Path) -> None:
    """A guest run whose tests pass, with a WARNING line in the kernel log (written through
    /dev/kmsg, as the kernel's own printk would put it there): run_in_vm.sh exits 1 and
    shows it."""
    missing = [t for t in ("qemu-system-x86_64", "make") if not shutil.which(t)]
    kver = subprocess.run(
        ["dpkg-query", "-W", "-f=${Depends}", "linux-image-amd64"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    kver = kver.split(",")[0].split()[0].removeprefix("linux-image-") if kver else ""
    if missing or not kver or not Path(f"/usr/src/linux-headers-{kver}").is_dir():
        reason = f"needs qemu and Debian's kernel with headers ({missing or kver or 'none'})"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # The guest sees the host's files except /tmp: the test file and the harness's work
    # dir go under the cache directory.
    work = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sentry-vmtest-selftest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "test_warns.py").write_text(GUEST_TEST)
    env = {
        **os.environ,
        "KVER": kver,
        "WORK": str(work / "vm"),
        "VM_RESULTS": str(tmp_path / "results"),
        "VM_TIMEOUT": "600",
    }
    done = subprocess.run(
        [str(ROOT / "tests" / "kmod" / "run_in_vm.sh"), str(work / "test_warns.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    out = done.stdout + done.stderr
    assert "1 passed" in out, out[-3000:]
    assert done.returncode == 1, out[-3000:]
    assert "WARNING: CPU: 0 PID: 1 at sentry/selftest.c:1" in out
    assert "VMTEST: FAIL: the kernel log has the report(s) above" in out
    assert "selftest" in (tmp_path / "results" / "dmesg.txt").read_text()
