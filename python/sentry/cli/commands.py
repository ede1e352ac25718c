"""The list of subcommand modules (each defines ``register(app)``); add yours here."""

from __future__ import annotations

from types import ModuleType

from sentry.cli import capture, driver, rules, ruletest, run, tail

MODULES: list[ModuleType] = [run, rules, ruletest, tail, capture, driver]
