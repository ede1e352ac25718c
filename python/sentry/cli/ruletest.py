"""``sentry rules test PATH...``: run the rule tests of ``*.tests.yaml`` files.

Each case's story is written as a scap capture (or its capture named) and replayed through
the engine exactly as ``sentry run -r RULES -e CAPTURE`` does; its alerts are judged against
the case's expectations (:mod:`sentry.rules.ruletest`). Output as pytest's: a dot per passed
case, ``F`` per failed one, ``E`` per case that could not run, then each failure with what
differed and a ``N passed, N failed`` line. Exit 0 when all pass, 1 when a case failed, 2
when a test file or its rules could not be loaded (or no test file was found). ``--json``
prints one JSON object for CI.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from sentry.cli.rules import rules_app
from sentry.errors import SentryError
from sentry.rules.ruletest import TestCase, find_test_files, judge, load_test_file


@dataclass(slots=True)
class Outcome:
    case: TestCase | None
    where: str
    name: str
    outcome: str  # passed, failed, error
    messages: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)


class _Rulesets:
    """Rulesets by their files, loaded once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Path, ...], Any] = {}

    def get(self, paths: list[Path]) -> Any:
        from sentry.cli.run import output_compiler
        from sentry.pipeline import load_ruleset

        key = tuple(p.resolve() for p in paths)
        if key not in self._cache:
            missing = [p for p in paths if not p.exists()]
            if missing:
                raise SentryError(f"{missing[0]}: no such rules file")
            ruleset, defs = load_ruleset(list(paths), output_compiler=output_compiler())
            if defs.errors:
                raise SentryError("rules do not load:\n" + "\n".join(str(p) for p in defs.errors))
            self._cache[key] = ruleset
        return self._cache[key]


def run_case(case: TestCase, rulesets: _Rulesets, workdir: Path) -> Outcome:
    """Replay one case through the engine and judge its alerts."""
    from sentry.cli.run import open_capture
    from sentry.pipeline import Pipeline
    from sentry.rules.storywriter import write_story

    out = Outcome(case, case.where, case.name, "passed")
    try:
        ruleset = rulesets.get(case.rules)
        if case.story is not None:
            capture = write_story(case.story, workdir / "case.scap")
        else:
            assert case.capture is not None
            capture = case.capture
        alerts: list[Any] = []
        source, inspector = open_capture(str(capture), ruleset)
        try:
            Pipeline(ruleset, alerts.append).run(source, inspector)
        finally:
            source.close()
    except (SentryError, ValueError, OSError) as exc:
        out.outcome, out.messages = "error", [str(exc)]
        return out
    out.alerts = [a.to_dict(include_output=False, include_tags=False) for a in alerts]
    out.messages = judge(case, alerts)
    if out.messages:
        out.outcome = "failed"
    return out


@rules_app.command("test")
def test_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Test files (*.tests.yaml) or directories to search for them."),
    ],
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            "-r", "--rules", help="Rules files to test instead of each test file's 'rules'."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (for CI).")] = False,
    keyword: Annotated[
        str | None, typer.Option("-k", help="Run only the cases whose name contains this text.")
    ] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="One line per case.")] = False,
) -> None:
    """Run rule tests: each case's events or capture, and the alerts expected."""
    started = time.monotonic()
    outcomes: list[Outcome] = []
    files = find_test_files(paths)
    rulesets = _Rulesets()
    by_file: list[tuple[Path, list[Outcome]]] = []
    with tempfile.TemporaryDirectory(prefix="sentry-ruletest-") as tmp:
        for path in files:
            results: list[Outcome] = []
            try:
                cases = load_test_file(path, rules or None)
            except SentryError as exc:
                results.append(Outcome(None, str(path), "(test file)", "error", [str(exc)]))
                cases = []
            for case in cases:
                if keyword and keyword.lower() not in case.name.lower():
                    continue
                results.append(run_case(case, rulesets, Path(tmp)))
            by_file.append((path, results))
            outcomes += results
    elapsed = time.monotonic() - started
    counts = {k: sum(1 for o in outcomes if o.outcome == k) for k in ("passed", "failed", "error")}
    if as_json:
        sys.stdout.write(
            orjson.dumps(
                {
                    **counts,
                    "seconds": round(elapsed, 3),
                    "files": [str(f) for f in files],
                    "cases": [
                        {
                            "file": o.where.rsplit(":", 1)[0],
                            "where": o.where,
                            "name": o.name,
                            "outcome": o.outcome,
                            "messages": o.messages,
                            **({"alerts": o.alerts} if o.outcome == "failed" else {}),
                        }
                        for o in outcomes
                    ],
                },
                default=str,
            ).decode()
            + "\n"
        )
    else:
        _report(by_file, outcomes, counts, elapsed, verbose, not files)
    if not files or counts["error"]:
        raise typer.Exit(2)
    if counts["failed"]:
        raise typer.Exit(1)


def _report(
    by_file: list[tuple[Path, list[Outcome]]],
    outcomes: list[Outcome],
    counts: dict[str, int],
    elapsed: float,
    verbose: bool,
    none_found: bool,
) -> None:
    mark = {"passed": ".", "failed": "F", "error": "E"}
    for path, results in by_file:
        if verbose:
            for o in results:
                typer.echo(f"{o.where} {o.name} {o.outcome.upper()}")
        else:
            typer.echo(f"{path} {''.join(mark[o.outcome] for o in results)}")
    bad = [o for o in outcomes if o.outcome != "passed"]
    if bad:
        typer.echo("")
    for o in bad:
        typer.echo(f"{o.outcome.upper()} {o.where} {o.name}")
        for m in o.messages:
            typer.echo("    " + m.replace("\n", "\n    "))
    if none_found:
        typer.echo("no rule test files (*.tests.yaml) found", err=True)
    parts = [f"{counts[k]} {k}" for k in ("failed", "passed") if counts[k] or k == "passed"]
    if counts["error"]:
        parts.append(f"{counts['error']} error{'s' if counts['error'] != 1 else ''}")
    typer.echo(f"{', '.join(parts)} in {elapsed:.2f}s")


def register(app: typer.Typer) -> None:
    """The command is on ``rules_app`` (importing this module adds it)."""
