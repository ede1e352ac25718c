"""Falco 0.28.1's test cases (syscall, exceptions and k8s audit files) run through sentry.

Each case becomes one test that runs the real CLI in a subprocess, as Falco's harness runs
falco: ``sentry run`` for a replay (``-r``/``-e``/``-c``/``-D``/``-T``/``-t``/``-A``/``-o``)
or ``sentry rules validate`` for ``validate_rules_file``. What is checked, per case key:

- ``detect``, ``detect_level``, ``detect_counts``: from the alert counts ``sentry run
  --stats`` prints on stderr (by rule and by priority).
- ``exit_status``; ``rules_warning`` / ``rules_events``: the evt.type warnings and the event
  types ``sentry rules list`` reports per rule.
- ``stdout_is``, ``stdout_contains``, ``stderr_contains`` (and ``_not_``): Falco's wording is
  not ours, so each Falco message is mapped to the message Sentry gives for the same problem
  (:data:`MEANINGS`) and must appear in our output, naming the same item (the YAML snippet
  Falco quotes) and the same file. Expectations about alert text are matched literally.
- ``output_strictly_contains``: every expected line (text, or a JSON object compared on
  Falco's keys) is in our stdout / output file.

A case is skipped, with its reason, only for what Sentry deliberately does not copy (gRPC) or
data the conformance set does not ship; ``test_skips_are_few`` holds them under 5 %.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from falco_case_files import (
    SENTRY,
    CaseLoader,
    as_list,
    case_names,
    check_detection,
    load_cases,
)

pytestmark = pytest.mark.conformance

CASE_FILES = ("falco_tests.yaml", "falco_tests_exceptions.yaml", "falco_k8s_audit_tests.yaml")
OUTPUT_DIR = Path("/tmp/falco_outputs")  # where Falco's test configs write file/program output

# Falco's message (regex) -> what Sentry says for the same problem (regex; \1.. from Falco's).
MEANINGS: list[tuple[str, str]] = [
    (r"Rules content is not yaml array of objects", r"must be a YAML list of items"),
    (r"Rules content is not yaml\n", r"must be a YAML list of items"),
    (
        r"Unexpected element of type (\w+)\. Each element should be a yaml associative array",
        r"each item must be a mapping",
    ),
    (
        r"Value of required_engine_version must be a number",
        r"required_engine_version must be a number",
    ),
    (r"mapping values are not allowed in this context", r"not valid YAML: mapping values"),
    (r"List must have property items", r"list has no 'items'"),
    (r"Macro must have property condition", r"macro has no 'condition'"),
    (r"Rule must have property (\w+)", r"rule has no '\1'"),
    (
        r"Rule must have exceptions or condition property",
        r"append needs a 'condition' or 'exceptions'",
    ),
    (
        r"(Macro|List|Rule) \S.* has 'append' key but no \w+ by that name already exists",
        r"append given but no \1 by that name exists",
    ),
    (r"Undefined macro '([^']+)' used in filter", r"undefined macro '\1'"),
    (r"syntax error, unexpected '([^']+)'", r"does not parse: .*column"),
    (r"(Rule|List|Macro) name is empty", r"\1 name is empty"),
    (
        r"Invalid output format '.*': 'invalid formatting token (\w+)'",
        r"output: invalid output format .*%\1: unknown field",
    ),
    (
        r"Rule exception item (\w+): must have fields property",
        r"exception '\1'(?: has no 'fields'|: the rule has no exception by that name, and a new "
        r"exception must have 'fields')",
    ),
    (r"Rule exception item must have name property", r"exception has no 'name'"),
    (
        r"Rule exception item (\w+): field name ([\w.]+) is not a supported filter field",
        r"exception '\1': unknown field '\2'",
    ),
    (
        r"Rule exception item (\w+): fields and comps lists must have equal length",
        r"exception '\1': 'fields' and 'comps' must have the same length",
    ),
    (
        r"Rule exception item (\w+): comparison operator ([\w-]+) is not a supported",
        r"exception '\1': unknown comparison operator '\2'",
    ),
    (
        r"Exception item (\w+): fields and values lists must have equal length",
        r"exception '\1': each value must be a list as long as 'fields'",
    ),
    (
        r"Skipping rule \"([^\"]+)\"\. contains unknown filter ([\w.]+)",
        r"warning: rule '\1': skipped: .*unknown field '\2'",
    ),
    (
        r"(?m)^rule \"([^\"]+)\"\. contains unknown filter ([\w.]+)",
        r"rule '\1': condition uses unknown field '\2'",
    ),
    (
        r"Rules require engine version (\d+), but engine version is",
        r"require engine version \1, but",
    ),
    (
        r"You can not specify both disabled .-D/-T. and enabled .-t. rules",
        r"cannot both disable rules \(-D/-T\) and run only tagged rules \(-t\)",
    ),
]
# Parts of Falco's messages that carry no meaning of their own once mapped above.
FALCO_ONLY = [
    r"^\d+ errors:$",
    r"^\d+ warnings:$",
    r"^---$",
    r"Could not load rules file",
    r"^Compilation error when compiling",
    r": Ok$",
]

SKIPS = {
    "grpc": "Sentry has no gRPC output (use http_output or program_output)",
}

# Cases whose expected result later Falco changed, and that later Falco's own port of these
# cases (falcosecurity/testing, tests/falco/legacy_test.go) checks the new way: Sentry
# follows today's Falco, so these keys replace 0.28.1's. Each names what changed.
SUPERSEDED: dict[str, dict[str, Any]] = {
    # An exception appended under a name the rule lacks: 0.28.1 warned "no set of fields
    # matching name ex2" and loaded; since 0.29 it is an error, LOAD_ERR_VALIDATE on
    # exception ex2, "Rule exception must have fields property with a list of fields".
    "rule_exception_append_item_not_in_rule": {
        "exit_status": 1,
        "stderr_contains": "Rule exception item ex2: must have fields property",
    },
}


@pytest.fixture(scope="module")
def cases(falco_dir: Path) -> dict[str, dict[str, Any]]:
    return load_cases(falco_dir, CASE_FILES)


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[str]):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.both = proc.stdout + "\n" + proc.stderr

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"

    def counts(self, section: str) -> dict[str, int]:
        """``Alerts by rule:`` / ``Alerts by priority:`` blocks of ``--stats``."""
        out: dict[str, int] = {}
        lines = self.stderr.splitlines()
        if section not in lines:
            return out
        for line in lines[lines.index(section) + 1 :]:
            m = re.match(r"^   (.*): (\d+)$", line)
            if not m:
                break
            out[m.group(1)] = int(m.group(2))
        return out


def run_sentry(args: list[str], cwd: Path) -> Result:
    env = dict(os.environ, TZ="UTC")
    proc = subprocess.run(
        [*SENTRY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return Result(proc)


def run_args(case: dict[str, Any], test_dir: Path, falco_dir: Path) -> list[str]:
    rules = as_list(case.get("rules_file")) or [str(falco_dir / "rules" / "falco_rules.yaml")]
    args = ["run", "--stats"]
    for r in rules:
        args += ["-r", str(test_dir / r)]
    args += ["-e", str(test_dir / case["trace_file"])]
    args += [
        "-c",
        str(test_dir / case["conf_file"]) if "conf_file" in case else str(falco_dir / "falco.yaml"),
    ]
    for d in as_list(case.get("disabled_rules")):
        args += ["-D", str(d)]
    for t in as_list(case.get("disable_tags")):
        args += ["-T", str(t)]
    for t in as_list(case.get("run_tags")):
        args += ["-t", str(t)]
    if case.get("all_events"):
        args.append("-A")
    if case.get("json_output"):
        args.append("--json")
    if "json_include_output_property" in case:
        value = str(case["json_include_output_property"]).lower()
        args += ["-o", f"json_include_output_property={value}"]
    if "priority" in case:
        args += ["-o", f"priority={case['priority']}"]
    if case.get("time_iso_8601"):
        args += ["-o", "time_format_iso_8601=true"]
    return args


def _fill(template: str, groups: tuple[str, ...]) -> str:
    """``\\1``.. in one of our regexes replaced by Falco's matched text, escaped."""
    return re.sub(r"\\(\d)", lambda g: re.escape(groups[int(g.group(1)) - 1]), template)


def check_meaning(expected: str, res: Result, stream: str, where: str) -> None:
    """Every message in Falco's ``expected`` text has its Sentry counterpart in our output."""
    mapped = False
    for falco_re, ours in MEANINGS:
        m = re.search(falco_re, expected)
        if not m:
            continue
        mapped = True
        ours_re = _fill(ours, m.groups())
        assert re.search(ours_re, res.both, re.IGNORECASE), (
            f"{where}: Falco says {m.group(0)!r}; expected ours to match {ours_re!r}\n{res}"
        )
    files = re.findall(r"([\w.-]+\.yaml): \d+ (?:errors|warnings):", expected)
    for fname in files:
        assert re.search(rf"{re.escape(fname)}:\d+: ", res.both), (
            f"{where}: the problem must be located in {fname}\n{res}"
        )
    snippet = expected.split("---\n")[1] if expected.count("---\n") >= 2 else ""
    if snippet:
        try:
            doc = yaml.load(snippet, Loader=CaseLoader)
        except yaml.YAMLError:
            doc = None  # the snippet is the broken YAML itself
        items = [i for i in doc if isinstance(i, dict)] if isinstance(doc, list) else []
        last = items[-1] if items else None
        for kind in ("rule", "macro", "list"):
            if last and kind in last and last[kind]:
                assert f"{kind} '{last[kind]}'" in res.both, (
                    f"{where}: our message must name {kind} '{last[kind]}'\n{res}"
                )
    if not mapped:
        leftover = [
            ln
            for ln in expected.splitlines()
            if ln.strip() and not any(re.search(p, ln) for p in FALCO_ONLY)
        ]
        if leftover and not snippet:
            text = res.stdout if stream == "stdout" else res.stderr
            assert re.search(expected, text, re.MULTILINE) or expected in text, (
                f"{where}: expected {expected!r} in our output\n{res}"
            )


def check_not(expected: str, res: Result, stream: str, where: str) -> None:
    text = res.stdout if stream == "stdout" else res.stderr
    assert not re.search(expected, text), f"{where}: must not contain {expected!r}\n{res}"


def check_strict(case: dict[str, Any], res: Result, test_dir: Path) -> None:
    for spec in as_list(case.get("output_strictly_contains")):
        for target, expected_file in spec.items():
            got = res.stdout if target == "stdout" else Path(target).read_text()
            want = (test_dir / expected_file).read_text().splitlines()
            if case.get("json_output"):
                ours = [json.loads(ln) for ln in got.splitlines() if ln.startswith("{")]
                for line in want:
                    exp = json.loads(line)
                    assert any(all(o.get(k) == v for k, v in exp.items()) for o in ours), (
                        f"no alert has {exp}\n{res}"
                    )
            else:
                lines = got.splitlines()
                for line in want:
                    assert line in lines, f"missing line {line!r} in {target}\n{res}"


def check_warnings(case: dict[str, Any], test_dir: Path, res: Result) -> None:
    expected = case.get("rules_warning")
    if expected is None:
        return
    warned = set(re.findall(r"warning: rule '([^']+)': matches too many evt.type", res.stderr))
    if expected is False:
        # rule problems read FILE:LINE: warning: ... (config notes are not about rules)
        assert not re.search(r"(?m)^\S+:\d+: warning: ", res.stderr), (
            f"no rules warnings expected\n{res}"
        )
    else:
        assert warned == set(expected), f"warned {sorted(warned)}, want {sorted(expected)}"
    events = case.get("rules_events")
    if events:
        listed = run_sentry(
            ["rules", "list", *(str(test_dir / r) for r in as_list(case.get("rules_file")))],
            test_dir,
        )
        assert listed.code == 0, str(listed)
        got = {}
        for line in listed.stdout.splitlines():
            name, *_rest, types = line.split("\t")
            got[name] = set(types.removeprefix("evttypes=").split(","))
        for entry in events:
            for rule, types in entry.items():
                assert got.get(rule) == set(types), f"{rule}: {got.get(rule)} != {set(types)}"


@pytest.mark.parametrize("name", case_names(CASE_FILES))
def test_case(name: str, cases: dict[str, dict[str, Any]], falco_dir: Path) -> None:
    case = {**cases[name], **SUPERSEDED.get(name, {})}
    test_dir = falco_dir / "test"
    for key, reason in SKIPS.items():
        if key in case:
            pytest.skip(reason)
    trace = test_dir / case["trace_file"]
    if not trace.exists():
        pytest.skip(f"{case['trace_file']} is not part of the conformance data")
    if OUTPUT_DIR.exists():
        shutil.rmtree(OUTPUT_DIR)
    OUTPUT_DIR.mkdir(parents=True)

    if "validate_rules_file" in case:
        res = run_sentry(
            [
                "rules",
                "validate",
                *(str(test_dir / r) for r in as_list(case["validate_rules_file"])),
            ],
            test_dir,
        )
    else:
        res = run_sentry(run_args(case, test_dir, falco_dir), test_dir)

    expected_code = case.get("exit_status", 0)
    assert (res.code != 0) == (expected_code != 0), f"exit status, want {expected_code}\n{res}"
    for key in ("stdout_is", "stdout_contains", "stderr_contains"):
        for text in as_list(case.get(key)):
            check_meaning(str(text), res, key.split("_")[0], f"{name}.{key}")
    for key, stream in (("stdout_not_contains", "stdout"), ("stderr_not_contains", "stderr")):
        for text in as_list(case.get(key)):
            check_not(str(text), res, stream, f"{name}.{key}")
    if "validate_rules_file" not in case and expected_code == 0:
        check_detection(case, res.counts("Alerts by rule:"), res.counts("Alerts by priority:"), res)
        check_warnings(case, test_dir, res)
        check_strict(case, res, test_dir)


def test_skips_are_few(cases: dict[str, dict[str, Any]], falco_dir: Path) -> None:
    """At most 5 % of Falco's cases may be skipped; each reason is printed."""
    test_dir = falco_dir / "test"
    skipped = {}
    for name, case in cases.items():
        reason = next((r for k, r in SKIPS.items() if k in case), None)
        if reason is None and not (test_dir / case["trace_file"]).exists():
            reason = f"{case['trace_file']} is not part of the conformance data"
        if reason:
            skipped[name] = reason
    for name, reason in sorted(skipped.items()):
        print(f"skipped {name}: {reason}")
    assert len(skipped) <= 0.05 * len(cases), skipped
