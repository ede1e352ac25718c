"""The live-story harness: tables of stories (a script that must make a rule fire, and a
near miss that must not), run live through the eBPF probe by one ``sentry run`` daemon per
table (the format: /work/notes/STORIES.md; the keys: STORY_KEYS and :func:`load_table`).

Why one daemon per table, scripts first, alerts last: a daemon start (probe load, rules
compile) takes seconds and a table has tens of stories; running every script one after
another under one daemon, then waiting once for the alerts, keeps a table to a minute or
two. The end of a pass is known by a sentinel: after the last script the harness opens a
file that only its own sentinel rule matches and waits for that alert on the daemon's
stdout; events are matched in order, so every script's alerts have been matched by then
(those held for their container's metadata go out within HOLD_S).

Attribution: the host is not quiet (other helpers' tests run beside ours), so an alert
belongs to a script only when its ``proc.env`` (an appended output field) carries
``SENTRY_STORY=<token>`` or its output (with the appended container name) contains the
token. Every script has its own token, its fire and near-miss scripts different ones.

Drops: the daemon's drop counter (``sentry_n_drops_total`` on /metrics) is read around each
pass. When the capture lost events and stories failed, those stories run once more (a lost
execve or open is a missing alert, not a product bug), and a failure still says how many
events were lost.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

import runtimes as rt
from conformance_data import REPO_ROOT, conformance_dir
from sentry_daemon import SentryDaemon

STORIES_DIR = REPO_ROOT / "tests" / "stories"
CONFORMANCE_PREFIX = "falco-"  # "falco-current/x.yaml": read in place from the conformance dir
SENTINEL_RULE = "Live story harness sentinel"
DROP_RULE = "Falco internal: syscall event drop"
HOLD_S = 1.0  # over container_engines.alert_hold_ms (500 ms by default)
PRINT = "story_env=%proc.env story_ctr=%container.name"
# What ``image:`` offers a container story. busybox: the image scripts/runtimes.sh builds
# (busybox's applets only; nc, vi, sh). host: the host's root as the lower layer of an
# overlay (podman --rootfs /:O), so a story has python3, gcc, debugfs, ssh ... in a real
# container (its own namespaces and cgroup, container.id set; no image name: podman gives
# a rootfs container no image). Anything else is passed to podman as an image reference.
IMAGES: dict[str, list[str]] = {
    "busybox": [rt.BUSYBOX_IMAGE],
    "host": ["--rootfs", "/:O"],
}
PODMAN_RUN = [
    rt.PODMAN,
    "run",
    "--rm",
    "--runtime",
    "runc",
    "--cgroup-manager",
    "cgroupfs",
    "--network",
    "none",
]
STORY_KEYS = {
    "rule",
    "where",
    "image",
    "podman",
    "near_miss_podman",
    "fire",
    "near_miss",
    "fields",
    "cannot_fire",
    "timeout",
    "alerts",
}


class TableError(Exception):
    """A table that does not say what the harness needs (file and story named)."""


@dataclass(slots=True)
class Story:
    rule: str
    line: int
    where: str = "host"
    image: str = "busybox"
    podman: list[str] = field(default_factory=list)
    near_miss_podman: list[str] | None = None  # instead of podman for the near miss
    fire: str | None = None
    near_miss: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    cannot_fire: str | None = None
    timeout: float = 60.0
    # the exact number of alerts of the rule the fire script raises (None: at least one);
    # one syscall is one alert with today's rules (engine.enter_events auto: exit events only)
    alerts: int | None = None

    @property
    def runnable(self) -> bool:
        return self.cannot_fire is None


@dataclass(slots=True)
class Table:
    path: Path
    rules: list[Path]
    cover: list[Path]
    options: dict[str, Any]
    stories: list[Story]

    @property
    def name(self) -> str:
        return self.path.stem


def resolve(spec: str) -> Path:
    """A table's rules file: ``falco-.../x.yaml`` in the conformance dir (read in place),
    anything else relative to the repository root."""
    if spec.startswith(CONFORMANCE_PREFIX):
        return conformance_dir() / spec
    return REPO_ROOT / spec


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line, so a table's problems name the story's line."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    doc = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    doc["__line__"] = node.start_mark.line + 1
    return doc


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_table(path: Path) -> Table:
    """Parse and check a table; a TableError names file:line for what is wrong."""
    doc = yaml.load(path.read_text(), Loader=_LineLoader)
    if not isinstance(doc, dict) or not isinstance(doc.get("stories"), list):
        raise TableError(f"{path}: a mapping with rules: and stories: expected")
    rules = [resolve(str(r)) for r in doc.get("rules") or []]
    if not rules:
        raise TableError(f"{path}: rules: names no rules file")
    cover = [resolve(str(r)) for r in doc.get("cover") or doc["rules"]]
    options = {k: v for k, v in (doc.get("options") or {}).items() if k != "__line__"}
    stories = [_story(path, raw) for raw in doc["stories"]]
    return Table(path, rules, cover, options, stories)


def _story(path: Path, raw: Any) -> Story:
    if not isinstance(raw, dict) or "rule" not in raw:
        raise TableError(f"{path}: a story is a mapping with rule:, got {raw!r}")
    line = raw.pop("__line__", 0)
    where = f"{path}:{line}: story {raw['rule']!r}"
    unknown = set(raw) - STORY_KEYS
    if unknown:
        raise TableError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(STORY_KEYS)})")
    fields = {str(k): str(v) for k, v in (raw.pop("fields", None) or {}).items() if k != "__line__"}
    for key in ("rule", "where", "image", "fire", "near_miss", "cannot_fire"):
        if key in raw and not isinstance(raw[key], str):
            raise TableError(f"{where}: {key}: a string, not {raw[key]!r}")
    if "alerts" in raw and (not isinstance(raw["alerts"], int) or raw["alerts"] < 1):
        raise TableError(f"{where}: alerts: a positive number, not {raw['alerts']!r}")
    for key in ("podman", "near_miss_podman"):
        if key in raw and not (
            isinstance(raw[key], list) and all(isinstance(a, str) for a in raw[key])
        ):
            raise TableError(f"{where}: {key}: a list of podman arguments, not {raw[key]!r}")
    story = Story(line=line, fields=fields, **raw)
    if story.cannot_fire is None and not (story.fire and story.near_miss):
        raise TableError(f"{where}: needs fire: and near_miss: scripts, or cannot_fire: why")
    if story.cannot_fire is not None and (story.fire or story.near_miss):
        raise TableError(f"{where}: cannot_fire and scripts at once")
    if story.where not in ("host", "container"):
        raise TableError(f"{where}: where: host or container, not {story.where!r}")
    return story


def tables() -> tuple[list[Table], dict[str, str]]:
    """Every table in tests/stories, in name order, and the problems of those that do not
    load (by file name): one broken table must not hide the others' tests."""
    good: list[Table] = []
    bad: dict[str, str] = {}
    for path in sorted(STORIES_DIR.glob("*.yaml")):
        try:
            good.append(load_table(path))
        except (TableError, yaml.YAMLError) as err:
            bad[path.name] = str(err)
    return good, bad


def default_enabled_rules(table: Table) -> dict[str, Any]:
    """The rules the table must cover: those defined in its ``cover`` files (default: its
    rules files) and enabled once all its rules files are loaded, in file order."""
    from sentry.rules.loader import load_rules

    defs = load_rules(table.rules)
    defs.raise_errors()
    covered = {str(p) for p in table.cover}
    return {
        name: rule
        for name, rule in defs.rules.items()
        if rule.enabled and str(Path(rule.loc.path)) in covered
    }


# --- running a table ----------------------------------------------------------------------


@dataclass(slots=True)
class Script:
    """One script run: its token, how it ended, the alerts that belong to it."""

    token: str
    code: int | None = None
    output: str = ""
    seconds: float = 0.0
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def of_rule(self, rule: str) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a.get("rule") == rule]

    def describe(self) -> str:
        rules = sorted({a.get("rule", "?") for a in self.alerts})
        return (
            f"token {self.token}, exit {self.code} in {self.seconds:.1f} s, alerts of rules "
            f"{rules}\n--- script output (tail) ---\n{self.output[-1500:]}"
        )


@dataclass(slots=True)
class StoryResult:
    story: Story
    fire: Script
    near_miss: Script


@dataclass(slots=True)
class TableResult:
    table: Table
    results: list[StoryResult]
    drops: float
    drop_alerts: int
    seconds: float
    stderr: str
    unavailable: str | None = None  # why container stories could not run

    def drops_note(self) -> str:
        if not self.drops and not self.drop_alerts:
            return "the capture lost no events during the table"
        return (
            f"THE CAPTURE LOST EVENTS during this table: {self.drops:.0f} drops, "
            f"{self.drop_alerts} drop alerts; a missing alert may be a lost event"
        )


def _env(token: str) -> dict[str, str]:
    """A small environment (proc.env is read from the process's memory, a long one could be
    cut), the marker first."""
    return {
        "SENTRY_STORY": token,
        "STORY": token,
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }


def _run_script(story: Story, script: str, token: str, podman: list[str]) -> Script:
    run = Script(token)
    env = _env(token)
    if story.where == "host":
        cwd = Path("/tmp") / f"story-{token}"
        cwd.mkdir()
        argv = ["bash", "-c", script]
    else:
        cwd = Path("/tmp")
        image = IMAGES.get(story.image, [story.image])
        argv = [
            *PODMAN_RUN,
            "--name",
            f"story-{token}",
            "-e",
            f"SENTRY_STORY={token}",
            "-e",
            f"STORY={token}",
            *podman,
            *image,
            "sh",
            "-c",
            f"mkdir -p /story && cd /story && {script}",
        ]
    start = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=story.timeout,
            check=False,
        )
        run.code, run.output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        parts = [p.decode(errors="replace") if isinstance(p, bytes) else p or "" for p in
                 (exc.stdout, exc.stderr)]  # fmt: skip
        run.output = f"timed out after {story.timeout} s\n{''.join(parts)}"
        if story.where == "container":
            subprocess.run([rt.PODMAN, "rm", "-f", "-t", "0", f"story-{token}"], check=False)
    finally:
        run.seconds = time.monotonic() - start
        if story.where == "host":
            shutil.rmtree(cwd, ignore_errors=True)
    return run


def _metric(daemon: SentryDaemon, name: str, **labels: str) -> float:
    status, body = daemon.request("/metrics")
    if status != 200:
        return 0.0
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def belongs(alert: dict[str, Any], token: str) -> bool:
    env = str(alert.get("output_fields", {}).get("proc.env") or "")
    return f"SENTRY_STORY={token}" in env or token in str(alert.get("output", ""))


def podman_unavailable() -> str | None:
    """Why container stories cannot run here, or None."""
    return rt._cli_up(rt.PODMAN, rt.PODMAN_SOCK)


class _Daemon(SentryDaemon):
    """SentryDaemon whose stdout (one JSON alert a line) is read as it comes, so a pass's
    alerts are known while the daemon still runs."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        super().__init__(args, cwd=cwd, start_timeout=180)
        self.lines: list[str] = []
        self._out = threading.Thread(target=self._read_out, daemon=True)
        self._out.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self._out.join(30)
        return self.proc.returncode, "".join(self.lines)


def _sentinel_rules(work: Path, sentinel: Path) -> Path:
    path = work / "sentinel_rules.yaml"
    path.write_text(
        f"- rule: {SENTINEL_RULE}\n"
        "  desc: the harness's end-of-pass marker was opened\n"
        "  condition: evt.type in (open, openat, openat2) and evt.dir=< and "
        f"fd.name startswith {sentinel}\n"
        "  output: story harness sentinel %fd.name\n"
        "  priority: EMERGENCY\n"
    )
    return path


def _daemon_args(table: Table, sentinel_rules: Path) -> list[str]:
    # The fields stories check are appended too: output_fields holds what the output names.
    checked = sorted({k for s in table.stories for k in s.fields})
    args = ["--driver", "ebpf", "--json", "-p", " ".join([PRINT, *(f"{k}=%{k}" for k in checked)])]
    for path in [*table.rules, sentinel_rules]:
        args += ["-r", str(path)]
    options = {
        "webserver.enabled": "true",
        "webserver.listen_address": "127.0.0.1",
        "webserver.listen_port": "0",
        **{k: str(v) for k, v in table.options.items()},
    }
    for key, value in options.items():
        args += ["-o", f"{key}={value}"]
    return args


def _pass(
    daemon: _Daemon, stories: list[tuple[int, Story]], tag: str, sentinel: Path
) -> tuple[list[StoryResult], float, int]:
    """Run the stories' scripts, wait for the sentinel; results, drops, drop alerts."""
    drops_before = _metric(daemon, "sentry_n_drops_total")
    alerts_before = len(daemon.lines)
    results = []
    for i, story in stories:
        assert story.fire is not None and story.near_miss is not None
        fire = _run_script(story, story.fire, f"{tag}{i:03d}f", story.podman)
        near_podman = story.near_miss_podman
        if near_podman is None:
            near_podman = story.podman
        near = _run_script(story, story.near_miss, f"{tag}{i:03d}n", near_podman)
        results.append(StoryResult(story, fire, near))
    marker = Path(f"{sentinel}-{tag}")
    marker.write_text("x\n")
    deadline = time.monotonic() + 90
    while not any(str(marker) in a.get("output", "") for a in daemon.alerts()):
        if time.monotonic() > deadline or daemon.proc.poll() is not None:
            raise AssertionError(
                "the sentinel rule never fired: the daemon does not see this host's events "
                f"(or lost them)\n{''.join(daemon.stderr)}"
            )
        marker.read_text()
        time.sleep(0.5)
    time.sleep(HOLD_S)  # alerts held for their container's metadata go out by then
    drops = _metric(daemon, "sentry_n_drops_total") - drops_before
    alerts = daemon.alerts()[alerts_before:]
    for result in results:
        for script in (result.fire, result.near_miss):
            script.alerts = [a for a in alerts if belongs(a, script.token)]
    return results, drops, sum(1 for a in alerts if a.get("rule") == DROP_RULE)


def _failed(result: StoryResult) -> bool:
    rule = result.story.rule
    return not result.fire.of_rule(rule) or bool(result.near_miss.of_rule(rule))


def run_table(table: Table, work: Path) -> TableResult:
    """Start one daemon with the table's rules, run every story's scripts, collect. When
    the capture lost events and stories failed, those run once more (a second pass), and
    their second results count; both passes' drops are reported."""
    run_id = uuid.uuid4().hex[:6]
    sentinel = work / f"sentinel-{run_id}"
    unavailable = None
    if any(s.where == "container" and s.runnable for s in table.stories):
        unavailable = podman_unavailable()
    runnable = [
        (i, s)
        for i, s in enumerate(table.stories)
        if s.runnable and (s.where == "host" or unavailable is None)
    ]
    start = time.monotonic()
    daemon = _Daemon(_daemon_args(table, _sentinel_rules(work, sentinel)), cwd=work)
    try:
        daemon.wait_for("capturing live", timeout=120)
        results, drops, drop_alerts = _pass(daemon, runnable, f"{run_id}a", sentinel)
        again = [(i, r.story) for (i, _), r in zip(runnable, results, strict=True) if _failed(r)]
        if again and (drops or drop_alerts):
            redo, more, more_alerts = _pass(daemon, again, f"{run_id}b", sentinel)
            drops, drop_alerts = drops + more, drop_alerts + more_alerts
            by_story = {id(r.story): r for r in redo}
            results = [by_story.get(id(r.story), r) for r in results]
    finally:
        code, _ = daemon.stop()
    if code != 0:
        raise AssertionError(f"sentry run exited {code}:\n{''.join(daemon.stderr)}")
    return TableResult(
        table,
        results,
        drops,
        drop_alerts,
        time.monotonic() - start,
        "".join(daemon.stderr),
        unavailable,
    )
