"""Falco's regression cases as today's Falco runs them (falcosecurity/testing's port of the
0.28.1 cases and Falco's configuration unit tests), on the 0.28.1 conformance data, through
the real ``sentry`` command.

- JSON alerts are written in today's key order with ``$FALCO_HOSTNAME`` as hostname
  (testing's StdoutOutputJsonStrict): each line compared as text, not as parsed JSON.
- ``rule_matching: all`` raises, for every rule, what that rule raises when run alone.
- the configuration's ``rules:`` selection (``-o rules[].…``) selects what ``-t`` selects.
- ``config_files`` merges a directory of files over the main configuration.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from falco_case_files import alert_counts, load_cases, sentry

pytestmark = pytest.mark.conformance


counts = alert_counts


def test_json_alerts_in_todays_key_order(falco_dir: Path) -> None:
    test = falco_dir / "test"
    res = sentry(
        [
            "run",
            "--json",
            "-r",
            str(test / "rules/single_rule.yaml"),
            "-e",
            str(test / "trace_files/cat_write.scap"),
            "-c",
            str(test / "confs/stdout_output.yaml"),
            "-o",
            "time_format_iso_8601=true",
            "-o",
            "json_include_output_property=true",
            "-o",
            "json_include_tags_property=true",
        ],
        test,
        FALCO_HOSTNAME="test-falco-hostname",
    )
    assert res.returncode == 0, res.stderr
    # 0.28.1's expected alerts (output, priority, rule, time, output_fields), written as
    # today's Falco writes them: a sorted map with hostname, source and tags added.
    want = []
    for line in (test / "output_files/single_rule_with_cat_write.json").read_text().splitlines():
        old = json.loads(line)
        new = {**old, "hostname": "test-falco-hostname", "source": "syscall", "tags": []}
        want.append(json.dumps(dict(sorted(new.items())), separators=(",", ":")))
    assert len(want) == 8
    got = res.stdout.splitlines()
    for line in want:
        assert line in got, f"missing {line}\n{res.stdout}"
    assert '"tags":[],"time":' in want[0]


def test_rule_matching_all_raises_what_each_rule_raises_alone(falco_dir: Path) -> None:
    test = falco_dir / "test"
    base = [
        "run",
        "--stats",
        "-r",
        str(test / "rules/catchall_order.yaml"),
        "-e",
        str(test / "trace_files/cat_write.scap"),
    ]
    first = counts(sentry(base, test).stderr)
    assert first == {"open_dev_null": 1}  # 0.28.1's catchall_order case: the first match
    # -D takes a substring (dev_null is in open_dev_null): disable the other by exact name
    alone = {
        rule: counts(sentry([*base, "-o", f"rules[].disable.rule={other}"], test).stderr).get(
            rule, 0
        )
        for rule, other in (("open_dev_null", "dev_null"), ("dev_null", "open_dev_null"))
    }
    assert alone["dev_null"] >= 1
    every = sentry([*base, "-o", "rule_matching=all"], test)
    assert every.returncode == 0, every.stderr
    assert counts(every.stderr) == alone


def test_config_rules_selection_selects_what_run_tags_select(falco_dir: Path) -> None:
    test = falco_dir / "test"
    case = load_cases(falco_dir, ["falco_tests.yaml"])["run_tags_a"]
    want = {rule: n for entry in case["detect_counts"] for rule, n in entry.items() if n}
    res = sentry(
        [
            "run",
            "--stats",
            "-r",
            str(test / case["rules_file"][0]),
            "-e",
            str(test / case["trace_file"]),
            "-o",
            "rules[].disable.rule=*",
            "-o",
            "rules[].enable.tag=a",
        ],
        test,
    )
    assert res.returncode == 0, res.stderr
    assert counts(res.stderr) == want


def test_config_files_directory_merges_over_the_main_file(falco_dir: Path, tmp_path: Path) -> None:
    test = falco_dir / "test"
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d/10-json.yaml").write_text("json_output: true\n")
    (tmp_path / "conf.d/20-quiet.yaml").write_text("json_include_output_property: false\n")
    main = tmp_path / "sentry.yaml"
    main.write_text(
        (test / "confs/stdout_output.yaml").read_text() + f"config_files: [{tmp_path / 'conf.d'}]\n"
    )
    res = sentry(
        [
            "run",
            "-r",
            str(test / "rules/single_rule.yaml"),
            "-e",
            str(test / "trace_files/cat_write.scap"),
            "-c",
            str(main),
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    alerts = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(alerts) == 8 and all("output" not in a for a in alerts)
    assert {a["rule"] for a in alerts} == {"open_from_cat"}
