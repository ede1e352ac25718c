"""Falco's rules of today (falcosecurity/rules main, the k8saudit plugin's rules) load unmodified.

Read in place from ``$SENTRY_CONFORMANCE_DIR/falco-current`` (never copied). Each file alone,
and the three syscall files together as Falco users load them (stable, then incubating, then
sandbox, each redefining the macros the others define), must load and compile with zero
errors; and what they ask of the engine (``required_engine_version: 0.57.0``, the
``container``, ``k8saudit`` (or one of its alternatives) and ``json`` plugins) is met.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance_data import conformance_dir
from sentry.cli.run import output_compiler
from sentry.pipeline import load_ruleset

pytestmark = pytest.mark.conformance

CURRENT = conformance_dir() / "falco-current"
FILES = (
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
    "k8s_audit_rules.yaml",
)
SYSCALL_SET = FILES[:3]


@pytest.fixture(scope="module")
def current() -> Path:
    if not CURRENT.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"conformance data missing at {CURRENT} (set SENTRY_CONFORMANCE_DIR)")
        pytest.skip(f"today's Falco rules not found at {CURRENT}; set SENTRY_CONFORMANCE_DIR")
    return CURRENT


@pytest.mark.parametrize(
    "files", [*((f,) for f in FILES), SYSCALL_SET], ids=[*FILES, "stable+incubating+sandbox"]
)
def test_loads_unmodified_with_zero_errors(current: Path, files: tuple[str, ...]) -> None:
    ruleset, defs = load_ruleset([current / f for f in files], output_compiler=output_compiler())
    errors = [str(p) for p in defs.errors]
    assert errors == [], "\n".join(errors)
    # every rule of the files is compiled (none dropped on the way)
    assert len(ruleset.all_rules) == len(defs.rules) > 0


def test_requirements_are_read_and_met(current: Path) -> None:
    _, defs = load_ruleset([current / f for f in FILES])
    assert defs.required_engine_version == (0, 57, 0)
    asked = {name for req in defs.required_plugins for name, _ in req.alternatives}
    assert {"container", "k8saudit", "k8saudit-eks", "json"} <= asked
    k8saudit = next(r for r in defs.required_plugins if r.alternatives[0][0] == "k8saudit")
    assert len(k8saudit.alternatives) == 5  # k8saudit or its aks/eks/gke/ovh flavours
    assert k8saudit.loc.path.endswith("k8s_audit_rules.yaml") and k8saudit.loc.line > 1
