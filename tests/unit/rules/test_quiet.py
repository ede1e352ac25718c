"""Quiet open paths (rules/quiet.py): the partial evaluation that decides which files' opens
the eBPF probe may leave out, on our default rules, Falco 0.28.1's rules and small rules
that make a path loud."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance_data import REPO_ROOT
from sentry.pipeline import load_ruleset
from sentry.rules.parser import parse_condition
from sentry.rules.quiet import (
    DEFAULT_CANDIDATES,
    blocking_rules,
    evaluate,
    quiet_paths,
    quiet_paths_for,
    worlds,
)
from sentry.service.config import load_config

DEFAULT_RULES = REPO_ROOT / "rules" / "sentry_rules.yaml"


def _rules(tmp_path: Path, *conditions: str, base: Path | None = None) -> list[object]:
    """The selected rules of ``base`` (if any) plus one rule per condition."""
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "".join(
            f"- rule: extra {i}\n  desc: d\n  condition: {cond}\n  output: o %proc.name\n"
            "  priority: WARNING\n"
            for i, cond in enumerate(conditions)
        )
    )
    ruleset, defs = load_ruleset(([base] if base else []) + [extra])
    assert not defs.errors, defs.errors
    return list(ruleset.rules)


def test_the_default_rules_leave_the_device_files_quiet_and_etc_files_loud() -> None:
    ruleset, defs = load_ruleset([DEFAULT_RULES])
    assert not defs.errors
    assert quiet_paths(ruleset.rules) == list(DEFAULT_CANDIDATES)
    # Rules about /etc do look at opens of /etc files: those are never quiet.
    loud = blocking_rules(ruleset.rules, "/etc/shadow")
    assert "Password File Read By Unexpected Program" in loud
    assert "File Written Below Etc" in loud
    assert quiet_paths(ruleset.rules, ["/etc/shadow", "/etc/passwd", "/dev/null"]) == ["/dev/null"]


def test_falco_0_28_1_rules_leave_the_device_files_quiet(falco_dir: Path) -> None:
    ruleset, _ = load_ruleset([falco_dir / "rules" / "falco_rules.yaml"])
    assert len(ruleset.rules) > 40
    assert quiet_paths(ruleset.rules) == list(DEFAULT_CANDIDATES)
    loud = blocking_rules(ruleset.rules, "/etc/shadow")
    assert {"Read sensitive file untrusted", "Write below etc"} <= set(loud)
    # "Create files below dev" names /dev/null among its exceptions and asks for O_CREAT,
    # which the probe's held opens never have: false for them, decided from both.
    assert "Create files below dev" not in blocking_rules(ruleset.rules, "/dev/zero")


def test_a_rule_naming_dev_null_makes_only_dev_null_loud(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path, "evt.type in (open, openat) and fd.name = /dev/null", base=DEFAULT_RULES
    )
    assert quiet_paths(rules) == [p for p in DEFAULT_CANDIDATES if p != "/dev/null"]
    assert blocking_rules(rules, "/dev/null") == ["extra 0"]


@pytest.mark.parametrize(
    ("condition", "loud"),
    [
        # opens of any file by some process: every path can match
        ("evt.type = openat and proc.name = cat", set(DEFAULT_CANDIDATES)),
        ("fd.directory = /dev and evt.type = close", set(DEFAULT_CANDIDATES)),
        ("evt.arg.name startswith /dev/u", {"/dev/urandom"}),
        ("fd.filename in (zero, full) and evt.type = open", {"/dev/zero", "/dev/full"}),
        (
            "fd.name pmatch (/dev) and not fd.name = /dev/null",
            set(DEFAULT_CANDIDATES) - {"/dev/null"},
        ),
        # the descriptor or the name missing (an enter, a close) is a world of its own
        ("evt.type = openat and not fd.name exists", set(DEFAULT_CANDIDATES)),
        ("evt.type = close and not evt.arg.name = /x", set(DEFAULT_CANDIDATES)),
        # another process copying a held descriptor is an event about the file
        ("evt.type = pidfd_getfd", set(DEFAULT_CANDIDATES)),
        # events the probe always writes, with the held open before them: no matter
        ("evt.type = execve and proc.name = sh", set()),
        ("evt.type in (read, write, dup, fcntl, mmap) and fd.name = /dev/null", set()),
        ("evt.type = openat and fd.name startswith /etc", set()),
        # only opens that neither create nor truncate are held
        ("evt.type = openat and evt.arg.flags contains O_CREAT", set()),
        ("evt.type = openat and evt.is_open_create = true", set()),
        ("evt.type = openat and evt.arg.flags contains O_RDWR", set(DEFAULT_CANDIDATES)),
        ("evt.type = openat and evt.num < 0", set()),
        ("evt.type = openat and tolower(fd.name) = /dev/null", set(DEFAULT_CANDIDATES)),
    ],
)
def test_what_makes_a_path_loud(tmp_path: Path, condition: str, loud: set[str]) -> None:
    rules = _rules(tmp_path, condition)
    assert set(DEFAULT_CANDIDATES) - set(quiet_paths(rules)) == loud


def test_kleene_logic_over_the_worlds() -> None:
    cases = worlds("/dev/null")
    known = cases[0]  # descriptor, name and flags all there
    assert evaluate(parse_condition("fd.name = /dev/null"), known) is True
    assert evaluate(parse_condition("proc.name = x"), known) is None
    assert evaluate(parse_condition("proc.name = x and fd.name = /etc"), known) is False
    assert evaluate(parse_condition("proc.name = x or fd.name = /dev/null"), known) is True
    assert evaluate(parse_condition("not proc.name = x"), known) is None
    assert evaluate(parse_condition("evt.type = execve"), known) is False
    assert evaluate(parse_condition("evt.type in (openat, execve)"), known) is None
    missing = cases[-1]
    assert evaluate(parse_condition("fd.name = /dev/null"), missing) is False
    assert evaluate(parse_condition("fd.name != /dev/null"), missing) is False


def test_the_config_turns_it_off(tmp_path: Path) -> None:
    ruleset, _ = load_ruleset([DEFAULT_RULES])
    on = load_config(None, [])
    assert quiet_paths_for(ruleset, on) == list(DEFAULT_CANDIDATES)
    off = load_config(None, ["quiet_opens.enabled=false"])
    assert quiet_paths_for(ruleset, off) == []
    some = load_config(None, ["quiet_opens.paths[0]=/dev/zero"])
    assert "/dev/zero" in quiet_paths_for(ruleset, some)
