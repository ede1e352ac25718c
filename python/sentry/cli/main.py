"""The ``sentry`` command: a typer app whose subcommands live one per module in this folder.

Each subcommand module defines ``register(app)``; this module only composes them and turns
our own errors into a one-line message and a non-zero exit status.

Falco's flags work as Falco users type them: the top level takes ``--version``,
``--list [SOURCE]``, ``--list-events`` (with ``--format`` / ``--markdown`` / ``-N``); any
other leading option is ``sentry run``'s (``sentry -r RULES -L`` is ``sentry run -r RULES
-L``, ``sentry -V FILE``, ``sentry --support``, ``sentry --dry-run`` ...).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sentry.cli.listing import ListFormat, event_rows, field_rows, render_events, render_fields
from sentry.errors import SentryError

app = typer.Typer(
    name="sentry",
    help="Runtime security for Linux hosts and Kubernetes (Falco-compatible rules).",
    epilog=(
        "Falco's flags work here too and mean `sentry run`: -r RULES, -c CONFIG, -o KEY=VALUE, "
        "-e CAPTURE, -L, -l RULE, -V FILE, --dry-run, --support ... "
        "(`sentry run --help` lists them all)."
    ),
    no_args_is_help=True,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Options of the top level; any other leading option belongs to ``sentry run``.
TOP_LEVEL_OPTIONS = (
    "-h",
    "--help",
    "--version",
    "--list",
    "--list-events",
    "--list-syscall-events",
    "--format",
    "--markdown",
    "-N",
)


def _print_version(value: bool) -> None:
    if value:
        from sentry.version import version_lines

        print("\n".join(version_lines()))
        raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the Sentry, engine and driver versions.",
        ),
    ] = False,
    list_source: Annotated[
        str | None,
        typer.Option(
            "--list",
            metavar="[SOURCE]",
            help="List the fields (of SOURCE only: syscall or k8s_audit) and exit.",
        ),
    ] = None,
    list_events: Annotated[
        bool,
        typer.Option(
            "--list-events",
            "--list-syscall-events",
            help="List the events (system calls, tracepoints, metaevents) and exit.",
        ),
    ] = False,
    fmt: Annotated[
        ListFormat, typer.Option("--format", help="Format of --list / --list-events.")
    ] = ListFormat.TEXT,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Same as --format markdown (Falco's older flag).")
    ] = False,
    names_only: Annotated[
        bool, typer.Option("-N", help="With --list, print field names only.")
    ] = False,
) -> None:
    """Runtime security for Linux hosts and Kubernetes (Falco-compatible rules)."""
    if markdown:
        fmt = ListFormat.MARKDOWN
    if list_source is not None:
        rows = field_rows(list_source or None)
        sys.stdout.write(render_fields(rows, fmt, names_only))
        raise typer.Exit()
    if list_events:
        sys.stdout.write(render_events(event_rows(), fmt))
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


def falco_argv(argv: list[str]) -> list[str]:
    """``argv`` (without the program name) as typer takes it: ``--list`` without a value
    gets an empty one, and a first option that only ``run`` knows puts ``run`` in front."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--list" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out[i] = "--list="
    if out and out[0].startswith("-") and out[0].split("=", 1)[0] not in TOP_LEVEL_OPTIONS:
        out.insert(0, "run")
    return out


def _register_commands() -> None:
    # One line per subcommand module; each module adds its commands to the app.
    from sentry.cli import commands

    for module in commands.MODULES:
        module.register(app)


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    try:
        app(args=falco_argv(sys.argv[1:]), prog_name="sentry")
    except SentryError as err:
        print(f"sentry: {err}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
