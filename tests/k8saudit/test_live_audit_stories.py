"""Live k8s audit stories (issue 15): for every rule of a k8s audit rules file that is
enabled by default, an audit.k8s.io/v1 Event that must make it fire and a near miss (a
minimal change of that event) that must not, POSTed over real HTTP to ``POST /k8s-audit``
of one real ``sentry run`` daemon per table; the alerts are read from its JSON stdout.

Tables: tests/stories/k8s_audit/*.yaml (a directory of their own: tests/live_stories.py
reads tests/stories/*.yaml as eBPF script tables). A table names its ``rules`` files
(``falco-current/...``: read in place from the conformance dir), a ``base`` event every
story starts from, and ``stories``: ``rule``, ``event`` (merged over ``base``: a mapping
merges key by key, anything else replaces; ``null`` deletes the key), ``near_miss`` (merged
over the story's fire event the same way), ``fields`` (output_fields the fire alert must
carry), or ``cannot_fire`` with the reason. ``$STORY`` in any string becomes the story's
token (its fire and near-miss tokens differ); an alert belongs to a story when its output
text holds the token, so every story puts it where the rule's output prints it (an object
name, a user, a URI).

Every event of a table goes to one daemon first (one request each, each must be 200: a
fire event as an ``Event``, a near miss inside an ``EventList`` as the webhook backend sends),
then a sentinel event (its own rule) is POSTed last: events are matched in order, so once
its alert is out every story's alerts are. The daemon runs with ``rule_matching: all``:
under Falco's default ``first`` an event matched by Disallowed K8s User (any non-system
user) would raise no later rule, and each story checks its own rule.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance_data import REPO_ROOT
from live_stories import resolve  # a table's rules file, as the syscall tables name them
from needs import missing
from sentry_daemon import SentryDaemon

TABLES_DIR = REPO_ROOT / "tests" / "stories" / "k8s_audit"
SENTINEL_RULE = "K8s audit story harness sentinel"
SENTINEL_USER = "story-harness-sentinel"
STORY_KEYS = {"rule", "event", "near_miss", "fields", "cannot_fire"}


@dataclass(slots=True)
class Story:
    rule: str
    event: dict[str, Any] | None = None
    near_miss: dict[str, Any] | None = None
    fields: dict[str, str] = field(default_factory=dict)
    cannot_fire: str | None = None

    @property
    def runnable(self) -> bool:
        return self.cannot_fire is None


@dataclass(slots=True)
class Table:
    path: Path
    rules: list[Path]
    base: dict[str, Any]
    stories: list[Story]

    @property
    def name(self) -> str:
        return self.path.stem


def load_table(path: Path) -> Table:
    doc = yaml.safe_load(path.read_text())
    stories = []
    for raw in doc["stories"]:
        unknown = set(raw) - STORY_KEYS
        assert not unknown, f"{path}: story {raw.get('rule')!r}: unknown keys {unknown}"
        story = Story(**raw)
        story.fields = {str(k): str(v) for k, v in story.fields.items()}
        if story.runnable:
            assert story.event is not None and story.near_miss is not None, (
                f"{path}: story {story.rule!r}: event and near_miss, or cannot_fire"
            )
        else:
            assert (story.cannot_fire or "").strip() and story.event is None, (
                f"{path}: story {story.rule!r}: cannot_fire needs a reason and no events"
            )
        stories.append(story)
    return Table(path, [resolve(str(r)) for r in doc["rules"]], doc.get("base") or {}, stories)


def merge(base: Any, patch: Any) -> Any:
    """``patch`` over ``base``: mappings key by key (a None value deletes the key)."""
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def with_token(value: Any, token: str) -> Any:
    if isinstance(value, str):
        return value.replace("$STORY", token)
    if isinstance(value, list):
        return [with_token(v, token) for v in value]
    if isinstance(value, dict):
        return {k: with_token(v, token) for k, v in value.items()}
    return value


TABLES = [load_table(p) for p in sorted(TABLES_DIR.glob("*.yaml"))]


@dataclass(slots=True)
class Run:
    alerts: list[dict[str, Any]]
    statuses: dict[str, int]
    seconds: float
    stderr: str


def _sentinel_rules(work: Path) -> Path:
    path = work / "sentinel_rules.yaml"
    path.write_text(
        f"- rule: {SENTINEL_RULE}\n"
        "  desc: the harness's end-of-table marker\n"
        f"  condition: ka.user.name={SENTINEL_USER}\n"
        "  output: story harness sentinel %ka.auditid\n"
        "  priority: EMERGENCY\n"
        "  source: k8s_audit\n"
    )
    return path


def tokens(table: Table, story: Story, run_id: str) -> tuple[str, str]:
    i = table.stories.index(story)
    return f"s{i:02d}f-{run_id}", f"s{i:02d}n-{run_id}"


def events(table: Table, story: Story, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The story's fire and near-miss events, each with its token and its own auditID."""
    fire_token, near_token = tokens(table, story, run_id)
    fire = merge(table.base, story.event)
    near = merge(fire, story.near_miss)
    fire = with_token(merge(fire, {"auditID": str(uuid.uuid4())}), fire_token)
    near = with_token(merge(near, {"auditID": str(uuid.uuid4())}), near_token)
    return fire, near


_RUNS: dict[str, tuple[Run, str]] = {}


def _need_rules(table: Table) -> None:
    """Falco's rules are read in place from the conformance dir: skip (fail under CI) where
    they are absent."""
    absent = [str(p) for p in table.rules if not p.is_file()]
    if absent:
        missing(f"rules files not found: {absent} (set SENTRY_CONFORMANCE_DIR)")


def table_run(table: Table, tmp_factory: pytest.TempPathFactory) -> tuple[Run, str]:
    """The table's run, once per session: one daemon, every story's events, the sentinel."""
    if table.name in _RUNS:
        return _RUNS[table.name]
    _need_rules(table)
    work = tmp_factory.mktemp(f"k8s-stories-{table.name}")
    config = work / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
        "rule_matching: all\n"
    )
    args = ["-c", str(config), "--json", "--disable-source", "syscall"]
    for path in [*table.rules, _sentinel_rules(work)]:
        args += ["-r", str(path)]
    run_id = uuid.uuid4().hex[:6]
    start = time.monotonic()
    daemon = SentryDaemon(args, cwd=work, start_timeout=120)
    statuses: dict[str, int] = {}
    try:
        for story in table.stories:
            if not story.runnable:
                continue
            # The fire event alone (an Event), the near miss as the API server's webhook
            # backend sends its batches (an EventList): both bodies go through the server.
            fire, near = events(table, story, run_id)
            fire_token, near_token = tokens(table, story, run_id)
            batch = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [near]}
            for token, body in ((fire_token, fire), (near_token, batch)):
                status, answer = daemon.request(
                    "/k8s-audit", json.dumps(body).encode(), {"Content-Type": "application/json"}
                )
                # 200 and the one event taken (a near miss dropped unread would pass vacuously)
                taken = status == 200 and json.loads(answer).get("events") == 1
                statuses[token] = status if taken else -status
        sentinel = merge(table.base, {"user": {"username": SENTINEL_USER}, "auditID": run_id})
        status, body = daemon.request(
            "/k8s-audit", json.dumps(sentinel).encode(), {"Content-Type": "application/json"}
        )
        assert status == 200, body
    finally:
        code, out = daemon.stop()  # SIGTERM drains the outputs: the sentinel's alert is out
    stderr = "".join(daemon.stderr)
    assert code == 0, f"sentry run exited {code}:\n{stderr}"
    alerts = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(a["rule"] == SENTINEL_RULE and run_id in a["output"] for a in alerts), (
        f"the sentinel never fired:\n{stderr}"
    )
    _RUNS[table.name] = (Run(alerts, statuses, time.monotonic() - start, stderr), run_id)
    return _RUNS[table.name]


def _of(run: Run, token: str, rule: str) -> list[dict[str, Any]]:
    return [a for a in run.alerts if a["rule"] == rule and token in a["output"]]


def _describe(run: Run, token: str) -> str:
    mine = [a for a in run.alerts if token in a["output"]]
    return "alerts with its token:\n" + "\n".join(f"  {a['rule']}: {a['output']}" for a in mine)


def _params() -> list[Any]:
    return [
        pytest.param(t, s, id=f"{t.name}:{s.rule}") for t in TABLES for s in t.stories if s.runnable
    ]


@pytest.mark.parametrize(("table", "story"), _params())
def test_fires(table: Table, story: Story, tmp_path_factory: pytest.TempPathFactory) -> None:
    run, run_id = table_run(table, tmp_path_factory)
    token, _ = tokens(table, story, run_id)
    assert run.statuses[token] == 200, f"{story.rule}: POST {run.statuses[token]} (<0: not 1 taken)"
    got = _of(run, token, story.rule)
    assert got, f"{table.path.name}: {story.rule!r} did not fire; {_describe(run, token)}"
    want = {k: v.replace("$STORY", token) for k, v in story.fields.items()}
    seen = [{k: a["output_fields"].get(k) for k in want} for a in got]
    assert any(all(str(s[k]) == v for k, v in want.items()) for s in seen), (
        f"{story.rule}: no alert with output_fields {want}; got {seen}"
    )


@pytest.mark.parametrize(("table", "story"), _params())
def test_near_miss_is_quiet(
    table: Table, story: Story, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run, run_id = table_run(table, tmp_path_factory)
    _, token = tokens(table, story, run_id)
    assert run.statuses[token] == 200, f"{story.rule}: POST {run.statuses[token]} (<0: not 1 taken)"
    got = _of(run, token, story.rule)
    assert not got, f"{story.rule}: the near miss fired: {[a['output'] for a in got]}"


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_every_rule_has_stories_or_a_reason(table: Table) -> None:
    """The table names exactly the rules its files define, each once: those enabled by
    default with stories or a reason they cannot fire, the disabled ones with a reason (no
    rule silently uncovered, no story of a rule that is not there)."""
    from sentry.rules.loader import load_rules

    _need_rules(table)
    defs = load_rules(table.rules)
    defs.raise_errors()
    named = [s.rule for s in table.stories]
    assert len(named) == len(set(named)), f"{table.path.name}: a rule with two stories"
    assert sorted(set(defs.rules) - set(named)) == [], f"{table.path.name}: rules not named"
    assert sorted(set(named) - set(defs.rules)) == [], f"{table.path.name}: no such rules"
    disabled = {name for name, rule in defs.rules.items() if not rule.enabled}
    run = sorted(s.rule for s in table.stories if s.runnable and s.rule in disabled)
    assert run == [], f"{table.path.name}: stories of rules disabled by default"


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_bad_requests_get_4xx(table: Table, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same daemon setup refuses what is not an audit event (and raises nothing)."""
    _need_rules(table)
    work = tmp_path_factory.mktemp(f"k8s-bad-{table.name}")
    config = work / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
    )
    args = ["-c", str(config), "--json", "--disable-source", "syscall"]
    for path in table.rules:
        args += ["-r", str(path)]
    daemon = SentryDaemon(args, cwd=work, start_timeout=120)
    try:
        json_type = {"Content-Type": "application/json"}
        assert daemon.request("/k8s-audit", b"{not json", json_type)[0] == 400
        assert daemon.request("/k8s-audit", b'"a string"', json_type)[0] == 400
        good = json.dumps(table.base).encode()
        assert daemon.request("/k8s-audit", good, {"Content-Type": "text/plain"})[0] == 415
    finally:
        code, out = daemon.stop()
    assert code == 0
    assert not [line for line in out.splitlines() if line.startswith("{")], out
