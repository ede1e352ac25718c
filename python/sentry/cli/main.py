"""The ``sentry`` command: a typer app whose subcommands live one per module in this folder.

Each subcommand module defines ``register(app)``; this module only composes them and turns
our own errors into a one-line message and a non-zero exit status.
"""

from __future__ import annotations

import sys

import typer

from sentry.errors import SentryError

app = typer.Typer(
    name="sentry",
    help="Runtime security for Linux hosts and Kubernetes (Falco-compatible rules).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from sentry.version import version_lines

        print("\n".join(version_lines()))
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the Sentry, driver API and schema versions."),
) -> None:
    """Runtime security for Linux hosts and Kubernetes (Falco-compatible rules)."""


def _register_commands() -> None:
    # One line per subcommand module; each module adds its commands to the app.
    from sentry.cli import commands

    for module in commands.MODULES:
        module.register(app)


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    try:
        app()
    except SentryError as err:
        print(f"sentry: {err}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
