"""The list of subcommand modules (each defines ``register(app)``); add yours here."""

from __future__ import annotations

from types import ModuleType

from sentry.cli import capture, driver, rules, run, tail

MODULES: list[ModuleType] = [run, rules, tail, capture, driver]
