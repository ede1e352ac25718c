"""The list of subcommand modules (each defines ``register(app)``); add yours here."""

from __future__ import annotations

from types import ModuleType

MODULES: list[ModuleType] = []
