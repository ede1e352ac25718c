"""Falco's command-line flags, run as a user types them: the real ``sentry`` in a child
process, its stdout and exit status checked (``--list``, ``--list-events``, ``-L``, ``-l``,
``-V``, ``--dry-run``, ``--support``, ``--version``, ``tail --driver``)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance_data import conformance_dir
from sentry.cli.main import falco_argv
from sentry.rules.ast import Compare, FieldValue, base_field, walk
from sentry.rules.parser import parse_condition

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
REPO_ROOT = Path(__file__).resolve().parents[3]
CURRENT = conformance_dir() / "falco-current"
RULES_FILES = [
    *(
        CURRENT / name
        for name in (
            "falco_rules.yaml",
            "falco-incubating_rules.yaml",
            "falco-sandbox_rules.yaml",
            "k8s_audit_rules.yaml",
        )
    ),
    *(REPO_ROOT / "rules" / name for name in ("sentry_rules.yaml", "k8s_audit_rules.yaml")),
]

RULES = """
- list: marker_files
  items: [/tmp/marker-a, /tmp/marker-b]
- macro: marker_opened
  condition: evt.type in (open, openat) and fd.name in (marker_files)
- rule: Marker Opened
  desc: A marker file was opened (a test rule with a long description that the listing
    wraps onto a second line below the first one, as Falco's -L does).
  condition: marker_opened
  output: marker opened (file=%fd.name proc=%proc.name)
  priority: WARNING
  tags: [test, marker]
- rule: Marker Deleted
  desc: A marker file was deleted.
  condition: evt.type = unlinkat and evt.arg.name in (marker_files)
  output: marker deleted (%evt.arg.name)
  priority: NOTICE
"""


def sentry(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SENTRY_DRIVER"}
    return subprocess.run(
        [*SENTRY, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env
    )


def ok(*args: str) -> str:
    done = sentry(*args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


# ---- --list / --list-events


@pytest.fixture(scope="module")
def listed() -> list[dict[str, object]]:
    """``sentry --list --format json``: the field classes with their fields."""
    return json.loads(ok("--list", "--format", "json"))


def test_list_describes_every_field(listed: list[dict[str, object]]) -> None:
    from sentry.fields.registry import all_fields

    fields = [f for cls in listed for f in cls["fields"]]  # type: ignore[attr-defined]
    assert sorted(f["name"] for f in fields) == sorted(all_fields())
    undescribed = [f["name"] for f in fields if not str(f["desc"]).strip()]
    assert undescribed == []
    for cls in listed:
        assert all(f["name"].startswith(f"{cls['name']}.") for f in cls["fields"])  # type: ignore[attr-defined]


def test_list_text_has_one_line_per_field(listed: list[dict[str, object]]) -> None:
    text = ok("--list")
    assert "Field Class:   proc" in text and "Event Sources: syscall" in text
    for cls in listed:
        for f in cls["fields"]:  # type: ignore[attr-defined]
            assert re.search(rf"^{re.escape(f['name'])}(\[[^]]*\])? +\S", text, re.M), f["name"]


def test_list_by_source_and_names_only() -> None:
    audit = ok("--list", "k8s_audit", "-N").split()
    syscall = ok("--list=syscall", "-N").split()
    assert "ka.verb" in audit and "jevt.value" in audit
    assert all(n.startswith(("ka.", "jevt.")) for n in audit)
    assert "proc.name" in syscall and not any(n.startswith("ka.") for n in syscall)
    assert sorted(audit + syscall) == sorted(ok("--list", "-N").split())


def test_list_markdown_is_falcos_table() -> None:
    md = ok("--list", "syscall", "--markdown")
    assert "## Field Class: fd" in md
    assert "Name | Type | Description" in md
    assert re.search(r"^`fd\.name` \| STRING \| \S", md, re.M)
    assert md == ok("--list", "syscall", "--format", "markdown")


def test_list_unknown_source_is_a_clear_error() -> None:
    done = sentry("--list", "nosuch")
    assert done.returncode == 1
    assert "unknown source 'nosuch'" in done.stderr and "Traceback" not in done.stderr


def _used_fields(path: Path) -> set[str]:
    """Every field a rules file names: in conditions (rules, macros, appends, overrides),
    outputs and exception fields."""
    used: set[str] = set()

    def condition(text: str) -> None:
        text = text.strip()
        for op in ("and ", "or "):  # an appended condition starts with its operator
            if text.startswith(op):
                text = text[len(op) :]
        for node in walk(parse_condition(text)):
            if isinstance(node, Compare):
                used.add(base_field(node.lhs).name)
                if isinstance(node.rhs, FieldValue):
                    used.add(node.rhs.field.name)

    for item in yaml.safe_load(path.read_text()) or []:
        for entry in (item, *(v for v in item.get("override", {}).values() if isinstance(v, dict))):
            if isinstance(entry.get("condition"), str):
                condition(entry["condition"])
            if isinstance(entry.get("output"), str):
                used.update(re.findall(r"%\(?([a-zA-Z_][\w.]*[\w])", entry["output"]))
            for exc in entry.get("exceptions") or ():
                names = exc.get("fields") or []
                used.update([names] if isinstance(names, str) else names)
    return used


@pytest.mark.parametrize("path", RULES_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_list_covers_every_field_the_rules_use(path: Path, listed: list[dict[str, object]]) -> None:
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"rules file missing: {path} (set SENTRY_CONFORMANCE_DIR)")
        pytest.skip(f"{path} not found; set SENTRY_CONFORMANCE_DIR")
    fields = {f["name"]: f["arg"] for cls in listed for f in cls["fields"]}  # type: ignore[attr-defined]
    used = _used_fields(path)
    assert len(used) > 10
    # evt.arg.name and the like: a field that takes a key, spelled with a dot.
    missing = sorted(
        name
        for name in used
        if name not in fields
        and not any(name.startswith(f"{known}.") and arg == "key" for known, arg in fields.items())
    )
    assert missing == [], f"{path.name} uses fields that --list does not list"


def test_list_events_lists_the_event_table() -> None:
    from sentry.events.table import EVENTS

    text = ok("--list-events")
    assert text.startswith("Syscall events:\n")
    assert "Tracepoint events:" in text and "Metaevents:" in text
    assert re.search(r"^< openat\(FD fd, FD dirfd, FSRELPATH name, FLAGS32 flags, ", text, re.M)
    doc = json.loads(ok("--list-events", "--format", "json"))
    listed = sorted(
        (e["name"], e["dir"], tuple(p["name"] for p in e["params"]))
        for kind in doc.values()
        for e in kind
    )
    current = sorted(
        (i.name, i.direction, tuple(p.name for p in i.params))
        for i in EVENTS.values()
        if not (i.old_version or i.unused or i.name.startswith("NA"))
    )
    assert listed == current
    assert ok("--list-syscall-events") == text  # Falco's older name
    md = ok("--list-events", "--format", "markdown")
    assert "Default | Dir | Event" in md
    assert re.search(r"^No \| `>` \| \*\*read\*\*\(FD fd, UINT32 size\)$", md, re.M)
    assert re.search(r"^Yes \| `<` \| \*\*execve\*\*\(", md, re.M)


# ---- -L / -l / -V / --dry-run / --support / --version


def test_describe_all_rules(rules: Path) -> None:
    out = ok("-r", str(rules), "-L")
    lines = out.splitlines()
    assert lines[0].split() == ["Rule", "Description"]
    first = next(i for i, line in enumerate(lines) if line.startswith("Marker Opened "))
    assert lines[first][51:].startswith("A marker file was opened (a test rule")
    assert lines[first + 1].startswith(" " * 51) and "wraps" in out
    assert re.search(r"^Marker Deleted +A marker file was deleted\.$", out, re.M)


def test_describe_one_rule_and_json(rules: Path) -> None:
    one = ok("run", "-r", str(rules), "-l", "Marker Deleted")
    assert "Marker Deleted" in one and "Marker Opened" not in one
    doc = json.loads(ok("-r", str(rules), "-L", "-o", "json_output=true"))
    assert doc["required_engine_version"] == "0.0.0"  # the file asks for none
    info = {r["info"]["name"]: r for r in doc["rules"]}
    assert info["Marker Opened"]["info"]["priority"] == "Warning"
    assert info["Marker Opened"]["info"]["tags"] == ["test", "marker"]
    assert info["Marker Opened"]["details"]["events"] == ["open", "openat"]
    assert [m["info"]["name"] for m in doc["macros"]] == ["marker_opened"]
    assert doc["lists"][0]["info"]["items"] == ["/tmp/marker-a", "/tmp/marker-b"]
    done = sentry("-r", str(rules), "-l", "No Such Rule")
    assert done.returncode == 1 and "no rule named 'No Such Rule'" in done.stderr


def test_validate_says_ok_or_invalid_per_file(rules: Path, tmp_path: Path) -> None:
    out = ok("-V", str(rules))
    assert f"{rules}: Ok" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- rule: Bad\n  desc: d\n  condition: proc.nme = x\n  output: o\n  priority: INFO\n"
    )
    done = sentry("--validate", str(rules), "-V", str(bad))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{rules}: Ok" in done.stdout and f"{bad}: Invalid" in done.stdout
    assert f"{bad}:1: rule 'Bad': condition uses unknown field 'proc.nme'" in done.stdout
    doc = json.loads(sentry("-V", str(bad), "-o", "json_output=true").stdout)
    assert doc["load_results"][0]["successful"] is False
    assert doc["load_results"][0]["errors"][0]["line"] == 1


def test_dry_run_loads_everything_and_opens_nothing(rules: Path, tmp_path: Path) -> None:
    # The kernel module cannot be opened on this host (no /dev/sentry0): a dry run never tries.
    done = sentry("--dry-run", "-r", str(rules), "--driver", "kmod")
    assert done.returncode == 0, done.stderr
    assert "dry run: configuration and 2 rules loaded" in done.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(RULES + "- rule: Broken\n  condition: evt.type =\n")
    done = sentry("--dry-run", "-r", str(broken))
    assert done.returncode == 1 and "broken.yaml:" in done.stderr
    config = tmp_path / "sentry.yaml"
    config.write_text("priority: nonsense\n")
    done = sentry("--dry-run", "-r", str(rules), "-c", str(config))
    assert done.returncode == 1 and "priority" in done.stderr and "Traceback" not in done.stderr


def test_support_is_json_with_rules_digests(rules: Path, tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    (rules_dir / "b.yaml").write_text("- list: b\n  items: [x]\n")
    (rules_dir / "a.yaml").write_text("- list: a\n  items: [y]\n")
    config = tmp_path / "sentry.yaml"
    included = tmp_path / "extra.yaml"
    included.write_text("priority: warning\n")
    config.write_text(f"json_output: true\npriority: notice\nconfig_files: [{included}]\n")
    doc = json.loads(ok("--support", "-c", str(config), "-r", str(rules), "-r", str(rules_dir)))
    assert [f["name"] for f in doc["rules_files"]] == [
        str(rules),
        str(rules_dir / "a.yaml"),
        str(rules_dir / "b.yaml"),
    ]
    for f in doc["rules_files"]:
        data = Path(f["name"]).read_bytes()
        assert f["sha256"] == hashlib.sha256(data).hexdigest()
        assert f["variants"][0]["content"] == data.decode()
    assert doc["config"] == config.read_text()
    assert [(f["name"], f["sha256"]) for f in doc["config_files"]] == [
        (str(config), hashlib.sha256(config.read_bytes()).hexdigest()),
        (str(included), hashlib.sha256(included.read_bytes()).hexdigest()),
    ]
    assert doc["system_info"]["release"] == os.uname().release
    assert doc["version"] == (REPO_ROOT / "driver" / "VERSION").read_text().strip()
    assert doc["engine_info"]["driver_api_version"].isdigit()
    assert doc["cmdline"].startswith("sentry --support -c ")
    done = sentry("--support", "-r", str(tmp_path / "missing.yaml"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot read rules file" in done.stderr and "missing.yaml" in done.stderr


def test_version_in_falcos_layout() -> None:
    out = ok("--version").splitlines()
    version = (REPO_ROOT / "driver" / "VERSION").read_text().strip()
    assert out[0] == f"Sentry version: {version}"
    assert re.fullmatch(r"Engine: +\d+(\.\d+)*", out[1]), out[1]
    assert out[2] == "Driver:"
    assert re.fullmatch(r"  API version: +\d+", out[3])
    assert re.fullmatch(r"  Schema version: +\d+", out[4])
    assert out[5] == f"  Default driver: {version}"


def test_tail_takes_driver_as_run_does() -> None:
    done = sentry("tail", "--driver", "nosuch", "evt.type = open")
    assert done.returncode == 1 and "unknown driver 'nosuch'" in done.stderr
    assert "Traceback" not in done.stderr
    done = sentry("tail", "--driver", "ebpf", "-e", "x.scap")
    assert done.returncode == 1 and "--driver chooses the live capture" in done.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--list"], ["--list="]),
        (["--list", "-N"], ["--list=", "-N"]),
        (["--list", "syscall"], ["--list", "syscall"]),
        (["-V", "r.yaml"], ["run", "-V", "r.yaml"]),
        (["--support"], ["run", "--support"]),
        (["-r", "r.yaml", "-L"], ["run", "-r", "r.yaml", "-L"]),
        (["--version"], ["--version"]),
        (["-h"], ["-h"]),
        (["run", "-L"], ["run", "-L"]),
        (["tail", "--driver", "ebpf"], ["tail", "--driver", "ebpf"]),
    ],
)
def test_falco_style_argv(argv: list[str], expected: list[str]) -> None:
    assert falco_argv(argv) == expected
