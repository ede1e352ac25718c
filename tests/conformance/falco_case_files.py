"""Falco 0.28.1's avocado case files for the conformance tests: reading them, checking alerts.

The case files (``test/falco_tests*.yaml``, ``test/falco_k8s_audit_tests.yaml``) carry
avocado's ``!mux`` tags; they are read as plain YAML and their ``trace_files`` mappings
(case name -> case) merged.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]


def _ignore_tags(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


class CaseLoader(yaml.SafeLoader):
    """Avocado's case files: the ``!mux`` tag (and any other) is read as plain YAML."""


CaseLoader.add_multi_constructor("!", _ignore_tags)
CaseLoader.add_constructor("tag:yaml.org,2002:value", CaseLoader.construct_yaml_str)


def load_cases(falco_dir: Path, files: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every case of ``falco_dir/test/FILE`` for each of ``files``, by name."""
    cases: dict[str, dict[str, Any]] = {}
    for name in files:
        doc = yaml.load((falco_dir / "test" / name).read_text(), Loader=CaseLoader)
        cases.update(doc["trace_files"])
    return cases


def case_names(files: Iterable[str]) -> list[str]:
    """The case names, for parametrize: collection needs them before fixtures run, so they
    are read where the ``falco_dir`` fixture looks."""
    from conformance_data import FALCO_DIR

    if not FALCO_DIR.is_dir():
        return ["<conformance data missing>"]
    return sorted(load_cases(FALCO_DIR, files))


def as_list(value: Any) -> list[Any]:
    """A case key that holds one item or a list of them, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_detection(
    case: dict[str, Any], by_rule: Mapping[str, int], by_prio: Mapping[str, int], res: object
) -> None:
    """A case's ``detect``, ``detect_level`` and ``detect_counts`` against the alerts counted
    by rule and by priority label; ``res`` (the run) is shown when one fails."""
    from sentry.rules.definitions import Priority

    if "detect" in case:
        total = sum(by_rule.values())
        if case["detect"]:
            assert total > 0, f"expected alerts\n{res}"
        else:
            assert total == 0, f"expected no alerts, got {dict(by_rule)}\n{res}"
    if case.get("detect"):
        for level in as_list(case.get("detect_level")):
            label = Priority.parse(level).label
            assert by_prio.get(label, 0) > 0, f"no {label} alert: {dict(by_prio)}\n{res}"
    for entry in as_list(case.get("detect_counts")):
        for rule, count in entry.items():
            got = by_rule.get(rule, 0)
            assert got == count, f"{rule}: {got} != {count}\n{res}"


def sentry(
    args: list[str], cwd: Path, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real ``sentry`` command, in ``cwd``, with TZ=UTC (and ``env``)."""
    return subprocess.run(
        [*SENTRY, *args],
        cwd=cwd,
        env=dict(os.environ, TZ="UTC", **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def alert_counts(stderr: str) -> dict[str, int]:
    """``Alerts by rule:`` of ``sentry run --stats``."""
    lines = stderr.splitlines()
    if "Alerts by rule:" not in lines:
        return {}
    out = {}
    for line in lines[lines.index("Alerts by rule:") + 1 :]:
        m = re.match(r"^   (.*): (\d+)$", line)
        if not m:
            break
        out[m.group(1)] = int(m.group(2))
    return out
