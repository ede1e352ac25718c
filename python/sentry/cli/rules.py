"""``sentry rules validate PATH...`` and ``sentry rules list PATH...``.

``validate`` loads the files in order (directories by file name), compiles every rule and
prints each problem as ``FILE:LINE: item: message``; the exit status is 1 when any is an
error. ``list`` prints the rules with priority, source, tags and the event types each runs
on (``all`` when it runs on every event; ``-`` for k8s_audit rules); ``list --syscalls``
prints the syscalls each enabled rule and the state tracking need, and their union: the
interest set a live driver captures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sentry.cli.run import output_compiler, report_problems
from sentry.pipeline import load_ruleset
from sentry.rules.lint import unused_items
from sentry.rules.ruleset import Ruleset

rules_app = typer.Typer(help="Check and list rules files.", no_args_is_help=True)


@rules_app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Rules files or directories, in order.")],
    quiet_warnings: Annotated[
        bool, typer.Option("--no-warnings", help="Print errors only.")
    ] = False,
) -> None:
    """Load and compile rules; print every problem with FILE:LINE; exit 1 on errors."""
    _ruleset, defs = load_ruleset(paths, output_compiler=output_compiler())
    defs.problems.extend(unused_items(defs))  # as Falco: said on validation, not at each run
    if quiet_warnings:
        defs.problems = defs.errors
    report_problems(defs)
    n_err, n_warn = len(defs.errors), len(defs.warnings)
    verdict = "Ok" if not n_err else f"{n_err} error{'s' if n_err != 1 else ''}"
    typer.echo(
        f"{', '.join(str(p) for p in paths)}: {verdict} ({len(defs.rules)} rules, "
        f"{len(defs.macros)} macros, {len(defs.lists)} lists; {n_warn} warning"
        f"{'s' if n_warn != 1 else ''})"
    )
    if n_err:
        raise typer.Exit(1)


@rules_app.command("list")
def list_command(
    paths: Annotated[list[Path], typer.Argument(help="Rules files or directories, in order.")],
    syscalls: Annotated[
        bool,
        typer.Option(
            "--syscalls",
            help="Print the syscalls each rule and the state tracking need, and the "
            "interest set a live driver gets.",
        ),
    ] = False,
) -> None:
    """One line per rule: name, priority, source, enabled, tags, event types."""
    ruleset, defs = load_ruleset(paths, output_compiler=output_compiler())
    if defs.errors:
        report_problems(defs)
        raise typer.Exit(1)
    if syscalls:
        _list_syscalls(ruleset)
        return
    for rule in ruleset.all_rules:
        if rule.source != "syscall":
            types = "-"
        else:
            types = "all" if rule.evttypes is None else ",".join(sorted(rule.evttypes))
        state = "" if rule.enabled else " (disabled)"
        typer.echo(
            f"{rule.name}{state}\t{rule.priority.label}\t{rule.source}\t"
            f"tags={','.join(rule.tags)}\tevttypes={types}"
        )


def _list_syscalls(ruleset: Ruleset) -> None:
    """Per enabled syscall rule, the syscalls it can match; then the inspector's; then the
    union (the interest set ``sentry run`` hands the driver, or ``all``)."""
    from sentry.events.syscalls import X86_64_SYSCALLS, syscall_numbers_for_event_names
    from sentry.events.table import EVENTS
    from sentry.inspect.inspector import Inspector
    from sentry.pipeline import live_interest

    def names(numbers: set[int]) -> str:
        return ",".join(sorted(X86_64_SYSCALLS[nr].name for nr in numbers))

    for rule in ruleset.rules:
        if rule.source != "syscall":
            continue
        needed = (
            "all"
            if rule.index_types is None
            else names(syscall_numbers_for_event_names(set(rule.index_types)))
        )
        typer.echo(f"{rule.name}\tsyscalls={needed}")
    inspector = Inspector()
    state = {EVENTS[code].name for code in inspector.handled_types() if code in EVENTS}
    typer.echo(f"(state)\tsyscalls={names(syscall_numbers_for_event_names(state))}")
    interest = live_interest(ruleset, inspector)
    typer.echo(
        "(interest set)\t"
        + ("all" if interest is None else f"{len(interest)} syscalls: {names(interest)}")
    )


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
