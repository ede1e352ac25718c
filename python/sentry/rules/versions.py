"""The versions a rules file may require: the rules engine's and the plugins'.

``required_engine_version`` is a semver string (``0.57.0``, today's falcosecurity/rules) or,
as rules files written before Falco 0.35 give it, an integer ``N`` meaning ``0.N.0``. A
requirement is met by a version of the same major number that is not older (Falco's
``compatible_with``).

``required_plugin_versions`` names the plugins whose fields a file uses. Sentry has no
plugins; what the named plugins provide is built in, and :data:`BUILTIN_PLUGINS` says which
plugin versions' fields that is: ``container`` (``container.*``, ``k8s.pod.*`` from the
runtimes), ``k8saudit`` (``ka.*`` on the audit webhook) and ``json`` (``jevt.*``). The
versions are the ones today's rules files ask for, whose fields these rules use and Sentry
extracts.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]

ENGINE_VERSION: Version = (0, 57, 0)
"""The Falco rules engine version whose rule language Sentry reads (today's rules ask for it;
Falco 0.28.1's rules ask for 9, i.e. 0.9.0)."""

BUILTIN_PLUGINS: dict[str, Version] = {
    "container": (0, 4, 0),
    "k8saudit": (0, 18, 0),
    "json": (0, 7, 0),
}

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$")


def parse_version(value: object) -> Version | None:
    """``"0.57.0"`` -> (0, 57, 0); an integer ``N`` (or its text) -> (0, N, 0); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (0, value, 0) if value >= 0 else None
    text = str(value).strip()
    if text.isdigit():
        return (0, int(text), 0)
    m = _SEMVER.match(text)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def compatible(have: Version, want: Version) -> bool:
    """Whether ``have`` satisfies a requirement of ``want``: same major, not older."""
    return have[0] == want[0] and have[1:] >= want[1:]


def text(version: Version) -> str:
    return ".".join(map(str, version))


def builtin_summary() -> str:
    return ", ".join(f"{name} {text(v)}" for name, v in BUILTIN_PLUGINS.items())
