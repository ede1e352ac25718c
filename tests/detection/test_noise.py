"""Noise suite (issue 16, "quiet on everyday work"): ordinary admin and developer work on
this host, run while `sentry run --driver ebpf` watches it with the default rules, must raise
no alert at all.

Activities (each one a step, its alerts counted apart): building the kernel module and the
eBPF probe (copies in a temp dir), `pip install` of a small local package into a venv,
`apt-get install --reinstall` of a small package (dpkg -i of the cached .deb when apt cannot
fetch), git clone/commit/gc, tar/gzip, compiling and running C, `podman run --rm` and
`docker run --rm` with their default networks, a CRI pod started and removed through
containerd, `logrotate -f` of a test config, `run-parts` of a test directory, and ssh to
localhost through a private sshd started for the suite.

Attributing alerts. The host runs other things meanwhile (the sandbox's own daemons, other
helpers' tests, their containers), so an alert counts only when it comes from the suite:
- every activity runs with the environment variable SENTRY_NOISE=<token>:<activity>; the
  alerts carry ``proc.env`` (an appended output field), and an alert whose process has the
  marker belongs to that activity. The environment is inherited through any depth of
  children, through double-forked daemons (podman's conmon) and re-parenting, where an
  ancestry field (proc.apid[N]) would lose the trail at a fixed depth or at re-parenting;
  only programs that scrub it (sshd, sudo) drop it, and the suite's sshd is its own child
  and so carries it, and its sessions are recognised by their ancestry instead
  (proc.apid[1..6] holding that sshd's pid).
- what container runtimes' daemons start (containerd's shim, runc, runc's init) does not
  inherit from us: those alerts count when they name one of the suite's containers, by
  container.id or by the full id in the command line or arguments (``runc ... <id>``,
  ``containerd-shim -id <id>``). The ids are known: --cidfile for podman and docker, the
  CRI answer for the pod.
Alerts from runtime daemons that name no container of ours are printed, not counted: they
may be another helper's. The test process's own setup (the log file logrotate rotates, its
removal; the runtimes' `image inspect` checks) carries no marker and is not counted either.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import runtimes as rt
from needs import missing

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[2]
SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
KERNELDIR = Path("/usr/src/linux-headers-6.1.0-57-amd64")
APT_PACKAGE = "bc"
ANCESTRY = 6
EXTRA = (
    "cid_full=%container.full_id pcmd=%proc.pcmdline exepath=%proc.exepath "
    "pexepath=%proc.pexepath name=%proc.name pname=%proc.pname "
    + " ".join(f"a{i}=%proc.apid[{i}]" for i in range(1, ANCESTRY + 1))
    + " env=%proc.env"
)
RUNTIME_DAEMONS = (
    "dockerd",
    "containerd",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "podman",
    "conmon",
    "runc",
)


@dataclass
class Suite:
    token: str
    tmp: Path
    containers: dict[str, str] = field(default_factory=dict)  # full id -> activity
    sshd_pids: dict[int, str] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)

    def env(self, activity: str) -> dict[str, str]:
        return {**os.environ, "SENTRY_NOISE": f"{self.token}:{activity}"}

    def sh(self, activity: str, script: str, timeout: float = 900) -> str:
        """Run ``script`` under bash with the activity's marker; fails the test if it fails."""
        start = time.monotonic()
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.tmp,
            env=self.env(activity),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.times[activity] = self.times.get(activity, 0.0) + time.monotonic() - start
        if proc.returncode != 0:
            pytest.fail(
                f"{activity}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
            )
        return proc.stdout

    def activity_of(self, alert: dict) -> str | None:
        """The suite's activity that raised ``alert``, or None (not ours)."""
        f = alert.get("output_fields", {})
        env = f.get("proc.env") or ""
        mark = f"SENTRY_NOISE={self.token}:"
        if mark in env:
            return env.split(mark, 1)[1].split()[0]
        for i in range(1, ANCESTRY + 1):
            if f.get(f"proc.apid[{i}]") in self.sshd_pids:
                return self.sshd_pids[f[f"proc.apid[{i}]"]]
        text = " ".join(
            str(f.get(k) or "")
            for k in ("container.full_id", "proc.cmdline", "proc.pcmdline", "evt.args")
        )
        text += " " + alert.get("output", "")
        for cid, activity in self.containers.items():
            if cid in text or f.get("container.id") == cid[:12]:
                return activity
        return None


class LiveSentry:
    """`sentry run --driver ebpf --json -p EXTRA` with the default rules; alerts collected."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [*SENTRY, "run", "--driver", "ebpf", "--json", "-p", EXTRA],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.alerts: queue.Queue[dict] = queue.Queue()
        self.stderr: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not self._ready.wait(180) or self.proc.poll() is not None:
            self.stop()
            pytest.fail("sentry run did not start capturing:\n" + "".join(self.stderr))

    def _out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.alerts.put(json.loads(line))

    def _err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            if "capturing live" in line:
                self._ready.set()
        self._ready.set()

    def drain(self, settle: float = 5.0) -> list[dict]:
        """Every alert so far, once none came for ``settle`` seconds."""
        got: list[dict] = []
        while True:
            try:
                got.append(self.alerts.get(timeout=settle))
            except queue.Empty:
                return got

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- the activities ------------------------------------------------------------------------


def build_kmod(s: Suite) -> None:
    if not (KERNELDIR / "Makefile").exists():
        missing(f"kernel headers {KERNELDIR}")
    s.sh(
        "kmod-build",
        f"cp -r {ROOT}/driver kmod && make -C kmod KERNELDIR={KERNELDIR} clean >/dev/null"
        f" && make -C kmod KERNELDIR={KERNELDIR} -j2 >/dev/null && ls kmod/*.ko",
    )


def build_ebpf(s: Suite) -> None:
    s.sh(
        "ebpf-build",
        f"mkdir -p bpfout && make -C {ROOT}/driver/bpf OUTPUT=$PWD/bpfout "
        ">/dev/null && ls bpfout/sentry.bpf.o",
    )


def pip_install(s: Suite) -> None:
    s.sh(
        "pip-install",
        textwrap.dedent("""\
        mkdir -p pkg/noisepkg
        printf 'def hello():\\n    return 1\\n' > pkg/noisepkg/__init__.py
        printf '[project]\\nname = "noisepkg"\\nversion = "0.1"\\n' > pkg/pyproject.toml
        printf '[build-system]\\nrequires = ["setuptools"]\\n' >> pkg/pyproject.toml
        printf 'build-backend = "setuptools.build_meta"\\n' >> pkg/pyproject.toml
        python3 -m venv --system-site-packages --without-pip venv
        venv/bin/python -m pip install -q --no-index --no-build-isolation ./pkg
        venv/bin/python -c 'import noisepkg; assert noisepkg.hello() == 1'
        """),
    )


def apt_reinstall(s: Suite) -> None:
    deb = sorted(Path("/var/cache/apt/archives").glob(f"{APT_PACKAGE}_*.deb"))
    out = s.sh(
        "apt-reinstall",
        f"""
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install --reinstall -y {APT_PACKAGE}; then
            dpkg -i {deb[-1] if deb else "/nonexistent.deb"}
        fi""",
    )
    assert f"Setting up {APT_PACKAGE} " in out, out[-2000:]


def git_work(s: Suite) -> None:
    s.sh(
        "git",
        textwrap.dedent("""\
        export GIT_AUTHOR_NAME=n GIT_AUTHOR_EMAIL=n@example.com
        export GIT_COMMITTER_NAME=n GIT_COMMITTER_EMAIL=n@example.com
        git init -q origin && cd origin && for i in 1 2 3; do echo $i > f$i; done
        git add . && git commit -qm one && cd ..
        git clone -q origin clone && cd clone && echo 4 > f4 && git add f4
        git commit -qm two && git gc -q && git log --oneline | wc -l
        """),
    )


def tar_gzip(s: Suite) -> None:
    s.sh(
        "tar-gzip",
        f"tar -czf src.tgz -C {ROOT} driver && mkdir -p untar && "
        "tar -xzf src.tgz -C untar && gzip -k -9 src.tgz -c > again.gz && gunzip -t again.gz",
    )


def compile_c(s: Suite) -> None:
    s.sh(
        "compile-c",
        "printf '#include <stdio.h>\\nint main(void){puts(\"hi\");return 0;}\\n'"
        " > hi.c && cc -O2 -o hi hi.c && ./hi",
    )


def cli_container(s: Suite, cli: str, require: object) -> None:
    require()  # type: ignore[operator]
    cidfile = s.tmp / f"{cli.rsplit('/', 1)[-1]}.cid"
    activity = f"{cli.rsplit('/', 1)[-1]}-run"
    try:
        s.sh(activity, f"{cli} run --rm --cidfile {cidfile} {rt.BUSYBOX_IMAGE} true")
    finally:
        if cidfile.exists():
            s.containers[cidfile.read_text().strip()] = activity


def cri_pod(s: Suite) -> None:
    rt.require_containerd()
    start = time.monotonic()
    with rt.cri_pod(rt.kube_pod_name(), namespace="default") as pod:
        s.containers[pod.container_id] = "cri-pod"
        s.containers[pod.sandbox_id] = "cri-pod"
    s.times["cri-pod"] = time.monotonic() - start


def log_rotation(s: Suite) -> None:
    if shutil.which("logrotate") is None:
        missing("logrotate is not installed")
    log = Path(f"/var/log/sentry-noise-{s.token}.log")
    with log.open("a") as out:  # as a program logs: appending (a truncation is an alert)
        out.write("line\n" * 100)
    (s.tmp / "logrotate.conf").write_text(
        f"{log} {{\n  rotate 2\n  compress\n  missingok\n  create 0640 root root\n}}\n"
    )
    try:
        for _ in range(3):
            s.sh(
                "logrotate",
                f"logrotate -f -s {s.tmp}/lr.state {s.tmp}/logrotate.conf && echo more >> {log}",
            )
    finally:
        for p in log.parent.glob(log.name + "*"):
            p.unlink()


def cron_job(s: Suite) -> None:
    d = s.tmp / "cron.daily"
    d.mkdir()
    (d / "cleanup").write_text(
        "#!/bin/sh\nfind /tmp -maxdepth 1 -name 'nothing*' -mtime +30 -delete\ndate > /dev/null\n"
    )
    (d / "report").write_text("#!/bin/sh\ndf -h > /dev/null; uptime > /dev/null\n")
    for p in d.iterdir():
        p.chmod(0o755)
    s.sh("run-parts", f"run-parts --report {d}")


def ssh_localhost(s: Suite) -> None:
    if shutil.which("sshd", path="/usr/sbin:/usr/bin") is None:
        missing("openssh-server (sshd) is not installed")
    keys = s.tmp / "ssh"
    keys.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "id")], check=True
    )
    shutil.copy(keys / "id.pub", keys / "allowed")
    (keys / "sshd_config").write_text(
        textwrap.dedent(f"""\
        Port 0
        ListenAddress 127.0.0.1
        HostKey /etc/ssh/ssh_host_ed25519_key
        AuthorizedKeysFile {keys}/allowed
        PermitRootLogin prohibit-password
        PasswordAuthentication no
        UsePAM yes
        PidFile {keys}/sshd.pid
        StrictModes no
        """)
    )
    port = 22000 + int(s.token[:3], 16) % 1000
    Path("/run/sshd").mkdir(exist_ok=True)
    sshd = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(keys / "sshd_config"), "-p", str(port)],
        env=s.env("ssh"),
        stderr=subprocess.PIPE,
        text=True,
    )
    s.sshd_pids[sshd.pid] = "ssh"
    try:
        time.sleep(1.0)
        ssh = (
            f"ssh -i {keys}/id -p {port} -o StrictHostKeyChecking=no "
            f"-o UserKnownHostsFile={keys}/known -o BatchMode=yes root@127.0.0.1"
        )
        for _ in range(20):
            if (
                subprocess.run(
                    [*ssh.split(), "true"], capture_output=True, check=False, env=s.env("ssh")
                ).returncode
                == 0
            ):
                break
            time.sleep(0.5)
        s.sh(
            "ssh",
            f"{ssh} 'uname -a; ls /etc >/dev/null' && scp -O -q -i {keys}/id -P {port} "
            f"-o StrictHostKeyChecking=no -o UserKnownHostsFile={keys}/known "
            f"{keys}/sshd_config root@127.0.0.1:{s.tmp}/copied",
        )
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)


ACTIVITIES = [
    ("compile-c", compile_c),
    ("tar-gzip", tar_gzip),
    ("git", git_work),
    ("pip-install", pip_install),
    ("run-parts", cron_job),
    ("logrotate", log_rotation),
    ("ssh", ssh_localhost),
    ("apt-reinstall", apt_reinstall),
    ("podman-run", lambda s: cli_container(s, rt.PODMAN, rt.require_podman)),
    ("docker-run", lambda s: cli_container(s, rt.DOCKER, rt.require_docker)),
    ("cri-pod", cri_pod),
    ("ebpf-build", build_ebpf),
    ("kmod-build", build_kmod),
]


@pytest.fixture(scope="module")
def sentry() -> Iterator[LiveSentry]:
    if os.geteuid() != 0:
        missing("live capture needs root")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        missing("kernel without BTF: the eBPF probe cannot run")
    live = LiveSentry()
    yield live
    live.stop()


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Where the activities work: a source directory, as an admin builds software in
    (/usr/local/src), not a temp dir, where running what one built is what the rule
    "Program Run From Temporary Directory" is there to see."""
    path = Path("/usr/local/src") / f"sentry-noise-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


DROP_RULE = "Falco internal: syscall event drop"
# Rounds of the activities that alerted while the capture lost events; a round that lost
# none decides. A host busy with other work can overrun the capture more than once.
RETRIES = 3


def _round(
    sentry: LiveSentry, suite: Suite, names: list[str], workdir: Path
) -> tuple[dict[str, list[dict]], list[dict], int, int]:
    """Run the named activities in ``workdir``; their alerts by activity, runtime daemons'
    alerts that name no container of ours, the capture's drop alerts meanwhile, all alerts."""
    workdir.mkdir()
    suite.tmp = workdir
    for name, run in ACTIVITIES:
        if name in names:
            run(suite)
    alerts = sentry.drain()
    ours: dict[str, list[dict]] = {}
    foreign: list[dict] = []
    for alert in alerts:
        activity = suite.activity_of(alert)
        if activity is not None:
            ours.setdefault(activity, []).append(alert)
        elif (alert.get("output_fields", {}).get("proc.name") or "") in RUNTIME_DAEMONS:
            foreign.append(alert)
    drops = sum(1 for a in alerts if a.get("rule") == DROP_RULE)
    return ours, foreign, drops, len(alerts)


def _report(ours: dict[str, list[dict]]) -> list[str]:
    report = []
    for activity, got in sorted(ours.items()):
        rules = Counter(a["rule"] for a in got)
        report.append(f"{activity}: {len(got)} alerts {dict(rules)}")
        for a in got[:5]:
            f = a["output_fields"]
            report.append(
                f"    {a['rule']}: {f.get('proc.name')} exepath={f.get('proc.exepath')} "
                f"parent={f.get('proc.pname')} | {a['output'].split(' cid_full=')[0][:400]}"
            )
    return report


def test_everyday_work_raises_no_alert(sentry: LiveSentry, workdir: Path) -> None:
    """Every activity's alert fails the test. Only when the capture lost events meanwhile
    (the host's other work can overrun it; a lost clone or execve leaves a process without
    its parent or program, and runc's init or sshd then look like any program) do the
    activities that alerted run again (up to RETRIES rounds), and must be quiet in a round
    that lost none."""
    suite = Suite(token=uuid.uuid4().hex[:12], tmp=workdir)
    only = os.environ.get("NOISE_ONLY", "").split(",") if os.environ.get("NOISE_ONLY") else []
    names = [name for name, _ in ACTIVITIES if not only or name in only]
    start = time.monotonic()
    ours, foreign, drops, total = _round(sentry, suite, names, workdir / "first")
    elapsed = time.monotonic() - start
    times = ", ".join(f"{k} {v:.0f} s" for k, v in suite.times.items())
    print(
        f"noise suite: {len(names)} activities in {elapsed:.0f} s ({times}); "
        f"{total} alerts on the host, {sum(map(len, ours.values()))} from the suite, "
        f"{drops} drop alerts"
    )
    first = _report(ours)
    if os.environ.get("NOISE_DUMP"):
        Path(os.environ["NOISE_DUMP"]).write_text(json.dumps(ours, indent=1))
    again = 0
    while ours and drops and again < RETRIES:
        again += 1
        print("the capture lost events; again:", "\n".join(_report(ours) if again > 1 else first))
        ours, more, drops, _ = _round(sentry, suite, sorted(ours), workdir / f"again{again}")
        foreign += more
    for alert in foreign:
        print("not counted (runtime daemon, no container of ours):", alert["output"][:300])
    lost = f"\n(the capture lost events: {drops} drop alerts)" if drops else ""
    assert not ours, "everyday work raised alerts:\n" + "\n".join(_report(ours)) + lost
