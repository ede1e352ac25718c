"""Falco's engine cases of today's tree on rule selection, plugin requirements and output
extras, on rules of our own (issue 15; harness: :mod:`falco_engine_harness`).

Covered (falcosecurity/falco ``unit_tests/engine/``):

- ``test_enable_rule.cpp`` and ``test_rulesets.cpp``: enabling and disabling by exact name,
  by wildcard (``*rule``, ``*second*r*``, ``*``) and by tag, in order, over the files'
  ``enabled: false``, as the configuration's ``rules:`` list does it (Falco's rulesets are
  the engine API behind it); ``-D`` as the substring match.
- ``test_plugin_requirements.cpp``: ``required_plugin_versions`` met and refused, with
  alternatives, several entries for one plugin and overlapping alternatives. Sentry has no
  plugins: its built-in ``k8saudit`` (0.18.0), ``container`` and ``json`` support stands for
  the loaded plugin, so the versions are shifted to ours.
- ``test_extra_output.cpp``: ``-p`` appends to every rule's output; ``%container.info`` is
  never printed as such.
- ``test_filter_warning_resolver.cpp``: comparing an audit field with ``<NA>`` (``=``,
  ``!=``, ``in``, ``intersects``, ``pmatch``) warns; ``exists`` does not.

Left out, with why: the cases of ``add_extra_output_format`` by rule name or tag and of
extra formatted fields (Falco 0.39's ``append_output`` configuration, which Sentry does not
offer); ``enable_rule_id`` (ruleset numbers are an engine API, not a user feature);
``test_add_source.cpp`` and ``test_alt_rule_loader.cpp`` (plugin event sources and custom
C++ loader classes); ``test_filter_evttype_resolver.cpp``: Sentry keeps Falco 0.28.1's
reading of a rule's event types (a condition like ``evt.type=openat or proc.name=nginx`` runs
on openat only; today's Falco runs it on every event, and narrows ``not evt.type != openat``
to openat): the 0.28.1 conformance cases (``rule_append`` and four network rules of 0.28.1's
``falco_rules.yaml``) expect the old reading, so Sentry reads a rule's types as today's
Falco does when its file requires engine >= 0.10.0 and as 0.28.1 did below (bb71505).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from falco_engine_harness import Case, check, write_capture

pytestmark = pytest.mark.conformance

E = "test_enable_rule.cpp: "
S = "test_rulesets.cpp: "
P = "test_plugin_requirements.cpp: "
X = "test_extra_output.cpp: "

# Three rules on the same opens (each fires twice: cat's open), two disabled in the file.
THREE = """
- rule: first actual rule
  desc: d
  condition: evt.type = open and proc.name = cat
  output: first
  priority: INFO
  tags: [process]

- rule: second disabled rule
  desc: d
  condition: evt.type = open and proc.name = cat
  output: second
  priority: INFO
  enabled: false
  tags: [exec process, common]

- rule: third disabled rule
  desc: d
  condition: evt.type = open and proc.name = cat
  output: third
  priority: INFO
  enabled: false
  tags: [exec, common]
"""
FIRST, SECOND, THIRD = "first actual rule", "second disabled rule", "third disabled rule"


def toggles(*pairs: str) -> tuple[str, ...]:
    """``-o rules[].enable.rule=X`` ... from ``"enable.rule=X"`` texts."""
    return tuple(a for p in pairs for a in ("-o", f"rules[].{p}"))


def fired(*rules: str) -> dict[str, int]:
    return dict.fromkeys(rules, 2)


SELECTION = [
    Case("the file's enabled: false holds", E + "enable_rule_name", THREE, alerts=fired(FIRST)),
    Case(
        "a name without * enables that rule only",
        E + "enable_rule_name_wildcard (exact)",
        THREE,
        args=toggles("enable.rule=second disabled rule"),
        alerts=fired(FIRST, SECOND),
    ),
    Case(
        "a name without * is exact, not a substring",
        E + "enable_rule_name_exact",
        THREE,
        args=toggles("enable.rule=disabled"),
        alerts=fired(FIRST),
    ),
    Case(
        "*rule enables every rule ending so",
        E + "enable_rule_name_wildcard (*rule)",
        THREE,
        args=toggles("enable.rule=*rule"),
        alerts=fired(FIRST, SECOND, THIRD),
    ),
    Case(
        "*second*r* enables the second rule",
        E + "enable_rule_name_wildcard (*second*r*)",
        THREE,
        args=toggles("enable.rule=*second*r*"),
        alerts=fired(FIRST, SECOND),
    ),
    Case(
        "* enables all, disabled ones included",
        E + "enable_rule_name_wildcard (*)",
        THREE,
        args=toggles("enable.rule=*"),
        alerts=fired(FIRST, SECOND, THIRD),
    ),
    Case(
        "a tag enables the disabled rules carrying it",
        E + "enable_disabled_rule_by_tag",
        THREE,
        args=toggles("enable.tag=exec process"),
        alerts=fired(FIRST, SECOND),
    ),
    Case(
        "enable all, then disable by wildcard *C*-style",
        S + "enable_disable_rules_using_names (wildcard)",
        THREE,
        args=toggles("enable.rule=*", "disable.rule=*third*"),
        alerts=fired(FIRST, SECOND),
    ),
    Case(
        "enable all, then disable all by wildcard",
        S + "enable_disable_rules_using_names (*_*)",
        THREE,
        args=toggles("enable.rule=*", "disable.rule=* *"),
        alerts={},
    ),
    Case(
        "disabling a rule that does not exist changes nothing",
        S + "enable_disable_rules_using_names (<NA>)",
        THREE,
        args=toggles("disable.rule=no such rule"),
        alerts=fired(FIRST),
    ),
    Case(
        "enabled by one tag, disabled by another of its tags",
        S + "enable_disable_rules_using_tags",
        THREE,
        args=toggles("enable.tag=common", "disable.tag=exec"),
        alerts=fired(FIRST, SECOND),
    ),
    Case(
        "enabling a tag no rule has changes nothing",
        S + "enable_disable_rules_using_tags (<NA_tag>)",
        THREE,
        args=toggles("enable.tag=no_such_tag"),
        alerts=fired(FIRST),
    ),
    Case(
        "-D disables by substring",
        S + "enable_disable_rules_using_names (substring)",
        THREE,
        args=("-o", "rules[].enable.rule=*", "-D", "disabled"),
        alerts=fired(FIRST),
    ),
]

OPENER = """
- rule: opener
  desc: d
  condition: evt.type = open and proc.name = cat
  output: "file=%fd.name"
  priority: INFO
"""


def plugins(*entries: str) -> str:
    """A rules file with ``required_plugin_versions`` items (each ``name@version`` or
    ``name@version|alt@version...``), then a rule."""
    text = ""
    for entry in entries:
        text += "- required_plugin_versions:\n"
        for req in entry.split(","):
            first, *alts = req.split("|")
            name, version = first.split("@")
            text += f"  - name: {name}\n    version: {version}\n"
            if alts:
                text += "    alternatives:\n"
                for alt in alts:
                    aname, aversion = alt.split("@")
                    text += f"      - name: {aname}\n        version: {aversion}\n"
    return text + OPENER


PLUGINS_OK = [
    ("no requirement", ()),
    ("one plugin, older version asked", ("k8saudit@0.1.0",)),
    ("one plugin, our version asked", ("k8saudit@0.18.0",)),
    ("several plugins", ("k8saudit@0.1.0,json@0.3.0",)),
    ("one plugin asked twice", ("k8saudit@0.1.0", "k8saudit@0.2.0")),
    ("an alternative met", ("k8saudit-other@0.4.0|k8saudit@0.1.0",)),
    (
        "alternatives of several plugins",
        ("k8saudit-other@0.4.0|k8saudit@0.5.0,json2@0.1.0|json@0.3.0",),
    ),
    (
        "alternatives asked twice",
        ("k8saudit-other@0.4.0|k8saudit@0.5.0", "k8saudit-other@0.7.0|k8saudit@0.9.0"),
    ),
]
PLUGINS_REFUSED = [
    ("an unknown plugin", ("k8saudit2@0.1.0",), "k8saudit2.*does not have"),
    ("a newer version than ours", ("k8saudit@0.19.0",), "newer than"),
    ("another major version", ("k8saudit@1.0.0",), "k8saudit"),
    ("one of several plugins missing", ("k8saudit@0.1.0,json3@0.3.0",), "json3"),
    ("the second ask too new", ("k8saudit@0.1.0", "k8saudit@0.20.0"), "0.20.0"),
    ("no alternative met", ("k8saudit@0.40.0|k8saudit-other@0.4.0",), "k8saudit-other"),
    ("overlapping alternatives", ("k8saudit@0.1.0|k8saudit@0.4.0",), "named twice"),
    (
        "alternatives asked twice, the second not met",
        ("k8saudit@0.4.0|k8saudit-other@0.4.0", "k8saudit@1.0.0|k8saudit-other@0.7.0"),
        "1.0.0",
    ),
]

PLUGIN_CASES = [
    *(
        Case(f"plugins met: {what}", P + "check_plugin_requirements_success", plugins(*e))
        for what, e in PLUGINS_OK
    ),
    *(
        Case(
            f"plugins refused: {what}",
            P + "check_plugin_requirements_reject",
            plugins(*e),
            loads=False,
            errors=(rf"rules.yaml:\d+: .*{says}",),
        )
        for what, e, says in PLUGINS_REFUSED
    ),
]

EXTRA_CASES = [
    Case(
        "-p is appended to every rule's output",
        X + "extra_format_all",
        OPENER,
        args=("-p", "evt.type=%evt.type"),
        alerts={"opener": 2},
        output=(r"Informational file=/etc/hosts evt.type=open$",),
    ),
    Case(
        "%container.info is expanded, never printed as such",
        X + "extra_format_do_not_replace_container_info",
        OPENER.replace('"file=%fd.name"', '"file=%fd.name (%container.info)"'),
        alerts={"opener": 2},
        output=(r"file=/etc/hosts \(.+\)$",),
        no_output=(r"%container\.info",),
    ),
]

W = "test_filter_warning_resolver.cpp: warnings_in_filtering_conditions"
NA_CASES = [
    *(
        Case(
            f"an audit field compared with <NA> warns: {cond}",
            W,
            f"""
- rule: audit rule
  desc: d
  condition: ka.verb = create and {cond}
  output: o
  priority: INFO
  source: k8s_audit
""",
            warnings=(r"rules.yaml:1: warning: .*with <NA> is unsafe",),
            alerts={},
        )
        for cond in (
            "ka.user.name = <NA>",
            "ka.user.name != <NA>",
            "ka.user.name in (admin, <NA>)",
            "ka.req.pod.containers.image intersects (<NA>)",
            "ka.user.name pmatch (<NA>)",
        )
    ),
    Case(
        "an audit field tested with exists does not warn",
        W,
        """
- rule: audit rule
  desc: d
  condition: ka.verb = create and ka.user.name exists
  output: o
  priority: INFO
  source: k8s_audit
""",
        quiet=True,
        alerts={},
    ),
]

CASES = [*SELECTION, *PLUGIN_CASES, *EXTRA_CASES, *NA_CASES]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_capture(tmp_path_factory.mktemp("capture") / "engine_selection.scap")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_falco_engine_case(case: Case, tmp_path: Path, capture: Path) -> None:
    check(case, tmp_path, capture)
