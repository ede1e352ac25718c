"""Running Falco's engine regression cases (``unit_tests/engine/``) as Sentry conformance cases.

Falco's cases call its engine in-process and read back the compiled condition text. Ours give
the same rules behaviour our own rules text, run the real ``sentry`` command on it and judge
what a user sees: whether the files load (``sentry run`` exits 0), the errors and warnings it
prints (each as ``FILE:LINE: ...``), what ``-l RULE`` reports for a rule, and which rules fire,
how often, on one small capture (:func:`write_capture`, written by the project's story writer)
whose processes tell apart a right and a wrong reading of each rule.

A :class:`Case` says only what it expects; :func:`check` runs it and asserts.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falco_case_files import alert_counts
from falco_case_files import sentry as run_sentry

from sentry.rules.story import Story
from sentry.rules.storywriter import write_story

# A problem line as the loader prints it: FILE:LINE: [warning: ]message
PROBLEM = re.compile(r"^(?P<file>[^:\s]+\.yaml):(?P<line>\d+): (?P<warn>warning: )?(?P<msg>.*)$")


def write_capture(path: Path) -> Path:
    """The capture every case runs on. Its events, in order (each syscall an enter and an exit
    event; ``open`` unless said otherwise):

    ======== ========================== ================================
    process  cmdline                    syscall
    ======== ========================== ================================
    cat      cat /etc/hosts             open /etc/hosts, close
    pwsh     pwsh                       open /tmp/a.ps1
    bash     bash                       open /etc/shadow
    ssh      ssh host                   open /etc/ssh/ssh_config
    curl     curl 127.0.0.1             open /etc/resolv.conf
    curl     curl 1.1.1.1               open /etc/resolv.conf
    bash     bash -i (child of bash)    open /root/.bashrc
    nginx    nginx                      openat /var/log/nginx/access.log
    blkid    blkid /dev/sda             execve (from bash)
    csi-att… csi-attacher               execve (from bash)
    ======== ========================== ================================
    """
    s = Story()
    bash = s.proc("bash", tty=34816)
    cat = s.proc("cat", "/etc/hosts", parent=bash)
    s.open(cat, "/etc/hosts", syscall="open")
    s.syscall(cat, "close", {"fd": 3}, {"res": 0})
    s.open(s.proc("pwsh", parent=bash), "/tmp/a.ps1", syscall="open")
    s.open(bash, "/etc/shadow", syscall="open")
    s.open(s.proc("ssh", "host", parent=bash), "/etc/ssh/ssh_config", syscall="open")
    s.open(s.proc("curl", "127.0.0.1", parent=bash), "/etc/resolv.conf", syscall="open")
    s.open(s.proc("curl", "1.1.1.1", parent=bash), "/etc/resolv.conf", syscall="open")
    s.open(s.proc("bash", "-i", parent=bash), "/root/.bashrc", syscall="open")
    s.open(s.proc("nginx"), "/var/log/nginx/access.log", syscall="openat")
    s.execve(bash, "blkid", "/dev/sda")
    s.execve(bash, "csi-attacher")
    return write_story(s, path)


@dataclass(frozen=True)
class Case:
    """One behaviour Falco's case checks, on rules of our own.

    - ``falco``: the Falco test it stands for (``file.cpp: TEST_NAME``).
    - ``rules``: the rules file's text (dedented); ``args``: more ``sentry run`` arguments.
    - ``loads``: whether the file loads; ``errors`` / ``warnings``: regexes each of which a
      printed error / warning must match; ``quiet``: no warning at all.
    - ``alerts``: rule -> alert count on the capture (rules not named: none), with every
      matching rule raised (``rule_matching=all``) unless ``args`` says otherwise. Both
      events of a syscall match ``evt.type = open``: one open is two alerts.
    - ``info``: rule -> the ``-l RULE`` JSON keys expected (condition, output, desc ...).
    - ``output`` / ``no_output``: regexes that must / must not match an alert line.
    - ``validate_warnings``: warnings ``sentry -V`` must print (as Falco, Sentry tells of
      unused lists and macros when validating, not at each run).
    """

    name: str
    falco: str
    rules: str
    loads: bool = True
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    quiet: bool = False
    alerts: dict[str, int] | None = None
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    output: tuple[str, ...] = ()
    no_output: tuple[str, ...] = ()
    validate_warnings: tuple[str, ...] = ()


def sentry(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_sentry(args, cwd, timeout=120)


def problems(text: str) -> tuple[list[str], list[str]]:
    """The (errors, warnings) printed, each ``FILE:LINE: message``."""
    errors, warnings = [], []
    for line in text.splitlines():
        m = PROBLEM.match(line)
        if m:
            (warnings if m.group("warn") else errors).append(line)
    return errors, warnings


def check(case: Case, workdir: Path, capture: Path) -> None:
    rules = workdir / "rules.yaml"
    rules.write_text(textwrap.dedent(case.rules).lstrip("\n"))
    res = sentry(
        [
            "run",
            "--stats",
            "-r",
            str(rules),
            "-e",
            str(capture),
            "-o",
            "rule_matching=all",
            *case.args,
        ],
        workdir,
    )
    out = res.stdout + res.stderr
    assert "Traceback" not in out, out
    errors, warnings = problems(res.stderr)
    assert (res.returncode == 0) == case.loads, f"exit {res.returncode}\n{out}"
    if not case.loads:
        assert errors, f"failed without a FILE:LINE error\n{out}"
    for want in case.errors:
        assert any(re.search(want, e) for e in errors), f"no error ~ {want!r}\n{out}"
    for want in case.warnings:
        assert any(re.search(want, w) for w in warnings), f"no warning ~ {want!r}\n{out}"
    if case.quiet:
        assert warnings == [], out
    if case.loads and case.alerts is not None:
        assert alert_counts(res.stderr) == case.alerts, out
    alerts = res.stdout.splitlines()
    for want in case.output:
        assert any(re.search(want, line) for line in alerts), f"no alert ~ {want!r}\n{out}"
    for want in case.no_output:
        assert not any(re.search(want, line) for line in alerts), f"alert ~ {want!r}\n{out}"
    if case.validate_warnings:
        res = sentry(["-V", str(rules)], workdir)
        _, warnings = problems(res.stdout + res.stderr)
        for want in case.validate_warnings:
            assert any(re.search(want, w) for w in warnings), f"-V: no warning ~ {want!r}\n{res}"
    for rule, want in case.info.items():
        res = sentry(["run", "-r", str(rules), "-l", rule, "-o", "json_output=true"], workdir)
        assert res.returncode == 0, res.stdout + res.stderr
        doc = json.loads(res.stdout)
        info = next(r["info"] for r in doc["rules"] if r["info"]["name"] == rule)
        assert {k: info[k] for k in want} == want, json.dumps(info, indent=1)
