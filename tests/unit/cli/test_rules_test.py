"""``sentry rules test``: the shipped rule tests pass, a wrong expectation fails the command
(saying what differed), captures work as cases, and a bad test file is a FILE:LINE error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sentry.rules.loader import load_rules
from sentry.rules.ruletest import load_test_file
from sentry.rules.story import O_CREAT, O_TRUNC, O_WRONLY, Story
from sentry.rules.storywriter import write_story

REPO = Path(__file__).resolve().parents[3]
SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
SEED = "File Written Below Root Or Root Home"


def rules_test(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SENTRY, "rules", "test", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )


def seed_case(name: str, fd_name: str, priority: str = "Error") -> str:
    return f"""\
  - name: {name}
    processes:
      - {{id: bash, comm: bash, tty: 34816}}
      - {{id: vi, comm: vi, args: [hoge.sh], parent: bash}}
    events:
      - {{proc: vi, open: /hoge.sh, flags: O_WRONLY|O_CREAT|O_TRUNC}}
    alerts:
      - rule: {SEED}
        priority: {priority}
        output_fields: {{fd.name: {fd_name}, proc.name: vi}}
"""


def test_the_shipped_rule_tests_pass() -> None:
    done = rules_test("rules/", "--json")
    report = json.loads(done.stdout)
    failures = [c for c in report["cases"] if c["outcome"] != "passed"]
    assert done.returncode == 0 and not failures, json.dumps(failures, indent=1)
    assert report["passed"] >= 100 and report["failed"] == 0 and report["error"] == 0


def test_every_default_rule_has_a_case_that_fires_it() -> None:
    cases = load_test_file(REPO / "rules" / "tests" / "sentry_rules.tests.yaml")
    expected = {a.rule for c in cases for a in c.alerts}
    defined = set(load_rules([REPO / "rules" / "sentry_rules.yaml"]).rules)
    assert sorted(defined - expected) == []
    assert any(not c.alerts and not c.other_alerts for c in cases)  # near misses: no alert


def test_a_wrong_expectation_fails_the_command_and_says_what_differed(tmp_path: Path) -> None:
    tests = tmp_path / "mine.tests.yaml"
    tests.write_text(
        f"rules: [{REPO / 'rules' / 'sentry_rules.yaml'}]\ntests:\n"
        + seed_case("right", "/hoge.sh")
        + seed_case("wrong field", "/etc/passwd")
        + seed_case("wrong priority", "/hoge.sh", "Warning")
    )
    done = rules_test(tests)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert f"{tests} .FF" in out
    assert f"FAILED {tests}:13 wrong field" in out
    assert "fd.name is '/hoge.sh', expected '/etc/passwd'" in out
    assert "priority is Error, expected Warning" in out
    assert out.rstrip().splitlines()[-1].startswith("2 failed, 1 passed in ")
    assert "Traceback" not in done.stderr

    report = json.loads(rules_test(tests, "--json").stdout)
    assert (report["passed"], report["failed"]) == (1, 2)
    wrong = next(c for c in report["cases"] if c["name"] == "wrong field")
    assert wrong["where"] == f"{tests}:13" and wrong["outcome"] == "failed"
    assert wrong["alerts"][0]["output_fields"]["fd.name"] == "/hoge.sh"


def test_an_absent_alert_and_an_unexpected_one_are_failures(tmp_path: Path) -> None:
    tests = tmp_path / "quiet.tests.yaml"
    tests.write_text(f"""\
rules: [{REPO / "rules" / "sentry_rules.yaml"}]
tests:
  - name: expects silence but vi writes /hoge.sh
    processes: [{{comm: bash}}, {{comm: vi, parent: bash}}]
    events: [{{proc: vi, open: /hoge.sh, flags: O_WRONLY|O_CREAT}}]
    alerts: []
  - name: expects an alert on a read
    processes: [{{comm: bash}}, {{comm: vi, parent: bash}}]
    events: [{{proc: vi, open: /hoge.sh, flags: O_RDONLY}}]
    alerts: [{SEED}]
""")
    done = rules_test(tests)
    assert done.returncode == 1
    assert f"unexpected alert '{SEED}' (Error): File below / or /root opened" in done.stdout
    assert f"expected alert '{SEED}': the rule did not alert" in done.stdout


def test_a_case_can_name_a_capture(tmp_path: Path) -> None:
    s = Story()
    vi = s.lineage("bash", "vi")
    s.open(vi, "/root/notes.txt", O_WRONLY | O_CREAT | O_TRUNC)
    write_story(s, tmp_path / "seed.scap")
    tests = tmp_path / "cap.tests.yaml"
    tests.write_text(f"""\
rules: [{REPO / "rules" / "sentry_rules.yaml"}]
tests:
  - name: the capture's write
    capture: seed.scap
    alerts:
      - rule: {SEED}
        output_fields: {{fd.name: /root/notes.txt, proc.pid: {vi.tid}}}
""")
    done = rules_test(tmp_path, "-v")  # a directory: its *.tests.yaml files
    assert done.returncode == 0, done.stdout
    assert f"{tests}:3 the capture's write PASSED" in done.stdout
    # -r replaces the file's rules: without the rule, the case fails.
    empty = tmp_path / "none.yaml"
    empty.write_text("- list: nothing\n  items: []\n")
    assert rules_test(tests, "-r", empty).returncode == 1


def test_a_bad_test_file_is_a_located_error(tmp_path: Path) -> None:
    tests = tmp_path / "bad.tests.yaml"
    tests.write_text(f"""\
rules: [{REPO / "rules" / "sentry_rules.yaml"}]
tests:
  - name: typo
    events:
      - {{proc: vi, opne: /x}}
    alerts: []
""")
    done = rules_test(tests)
    assert done.returncode == 2
    assert f"{tests}:5: test 'typo': an event has one action of open" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    missing = rules_test(tmp_path / "nope.tests.yaml")
    assert missing.returncode == 1 and "no such file or directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    assert rules_test(tmp_path / "empty").returncode == 2
