"""The rule language as Falco 0.37-0.44 reads it (facts from Falco's unit_tests/engine and
falcosecurity/testing; the rule texts are ours): versions, plugins, ``override:``, deprecations,
unknown keys, exceptions appended."""

from __future__ import annotations

import pytest

from sentry.rules.definitions import Priority
from sentry.rules.loader import RulesLoader

RULE = """\
- rule: opener
  desc: a file was opened
  condition: evt.type=open
  output: "opened %fd.name"
  priority: info
  tags: [files]
  exceptions:
    - name: known
      fields: [proc.name]
"""


def load(*texts: str) -> RulesLoader:
    loader = RulesLoader()
    for i, text in enumerate(texts):
        loader.load_text(text, f"f{i}.yaml")
    return loader


def errors(loader: RulesLoader) -> list[str]:
    return [str(p) for p in loader.defs.errors]


def warnings(loader: RulesLoader) -> list[str]:
    return [str(p) for p in loader.defs.warnings]


# -- versions and plugins


@pytest.mark.parametrize(
    ("value", "version"),
    [
        ("0.57.0", (0, 57, 0)),
        ("0.26.0", (0, 26, 0)),
        ("15", (0, 15, 0)),
        ("9", (0, 9, 0)),
    ],
)
def test_engine_version_semver_or_integer(value: str, version: tuple[int, int, int]) -> None:
    loader = load(f"- required_engine_version: {value}\n")
    assert loader.defs.problems == []
    assert loader.defs.required_engine_version == version


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("seven", "must be a number or a semver string"),
        ("0.58.0", "require engine version 0.58.0, but this engine's version is 0.57.0"),
        ("1.0.0", "require engine version 1.0.0"),
        ("[1]", "must be a number or a semver string"),
    ],
)
def test_engine_version_refused(value: str, says: str) -> None:
    (msg,) = errors(load(f"- list: l\n  items: []\n- required_engine_version: {value}\n"))
    assert msg.startswith("f0.yaml:3: ") and says in msg


def test_builtin_plugins_answer_requirements() -> None:
    loader = load("""\
- required_plugin_versions:
    - name: container
      version: 0.4.0
    - name: k8saudit
      version: 0.1.0
    - name: json
      version: 0.7.0
""")
    assert loader.defs.problems == []
    assert [r.alternatives for r in loader.defs.required_plugins] == [
        (("container", "0.4.0"),),
        (("k8saudit", "0.1.0"),),
        (("json", "0.7.0"),),
    ]


def test_an_alternative_we_have_is_enough() -> None:
    loader = load("""\
- required_plugin_versions:
    - name: k8saudit-acme
      version: 9.0.0
      alternatives:
        - name: k8saudit
          version: 0.10.0
""")
    assert loader.defs.problems == []


@pytest.mark.parametrize(
    ("entry", "line", "says"),
    [
        (
            "    - name: gitlab\n      version: 0.1.0\n",
            2,
            "rules require plugin 'gitlab' 0.1.0, "
            "which Sentry does not have (built in: container 0.4.0, k8saudit 0.18.0, json 0.7.0)",
        ),
        ("    - name: container\n      version: 0.9.0\n", 2, "newer than Sentry's built-in"),
        ("    - name: container\n      version: 1.0.0\n", 2, "newer than Sentry's built-in"),
        (
            "    - name: container\n      version: latest\n",
            2,
            "invalid required version 'latest' for plugin 'container'",
        ),
        ("    - version: 0.1.0\n", 2, "required plugin has no 'name'"),
        (
            "    - name: json\n      version: 0.1.0\n      alternatives:\n        - name: json\n"
            "          version: 0.2.0\n",
            5,
            "named twice",
        ),
        ("    - just-a-name\n", 1, "must be a mapping"),
    ],
)
def test_bad_plugin_requirements_are_located_errors(entry: str, line: int, says: str) -> None:
    (msg,) = errors(load("- required_plugin_versions:\n" + entry))
    assert msg.startswith(f"f0.yaml:{line}: ") and says in msg, msg


def test_required_plugin_versions_must_be_a_list() -> None:
    (msg,) = errors(load("- required_plugin_versions: container\n"))
    assert msg.startswith("f0.yaml:1: ") and "must be a list" in msg


# -- override


def test_override_appends_condition_output_desc_tags_and_exceptions() -> None:
    loader = load(
        RULE,
        """\
- rule: opener
  condition: and proc.name=cat
  output: (by %proc.name)
  desc: by cat
  tags: [cat, files]
  exceptions:
    - name: known
      values: [[vi]]
    - name: paths
      fields: fd.name
      values: [/tmp/x]
  override:
    condition: append
    output: append
    desc: append
    tags: append
    exceptions: append
""",
    )
    assert errors(loader) == [] and warnings(loader) == []
    rule = loader.defs.rules["opener"]
    assert rule.condition == "evt.type=open and proc.name=cat"
    assert rule.output == "opened %fd.name (by %proc.name)"
    assert rule.desc == "a file was opened by cat"
    assert rule.tags == ["files", "cat"]  # a set: appended tags once each
    assert [(e.name, e.values) for e in rule.exceptions] == [
        ("known", [["vi"]]),
        ("paths", ["/tmp/x"]),
    ]


def test_override_replaces_priority_enabled_and_the_rest() -> None:
    loader = load(
        RULE,
        """\
- rule: opener
  condition: evt.type=openat
  priority: critical
  enabled: false
  tags: []
  warn_evttypes: false
  exceptions: []
  override:
    condition: replace
    priority: replace
    enabled: replace
    tags: replace
    warn_evttypes: replace
    exceptions: replace
""",
    )
    assert loader.defs.problems == []
    rule = loader.defs.rules["opener"]
    assert (
        rule.condition,
        rule.priority,
        rule.enabled,
        rule.tags,
        rule.exceptions,
        rule.warn_evttypes,
    ) == ("evt.type=openat", Priority.CRITICAL, False, [], [], False)
    assert rule.output == "opened %fd.name" and rule.loc.path == "f1.yaml"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            "  priority: error\n  override:\n    priority: append\n",
            "key 'priority' cannot be appended to, use 'replace' instead",
        ),
        (
            "  source: k8s_audit\n  override:\n    source: replace\n",
            "key 'source' cannot be replaced",
        ),
        (
            "  condition: x\n  override:\n    condition: merge\n",
            "invalid override operation for 'condition': 'merge' (allowed: append, replace)",
        ),
        (
            "  desc: d\n  override:\n    desc: replace\n    condition: append\n",
            "an append override for 'condition' was given but 'condition' is not defined",
        ),
        (
            "  condition: and x\n  priority: error\n  override:\n    condition: append\n",
            "unexpected key 'priority': no entry for it under 'override'",
        ),
        (
            "  enabled: true\n  override:\n    enabled: replace\n    desc: replace\n",
            "'desc' is not defined",
        ),
        (
            "  condition: and x\n  append: true\n  override:\n    condition: append\n",
            "'override' and 'append: true' cannot be used together",
        ),
    ],
)
def test_bad_overrides_are_errors(body: str, says: str) -> None:
    loader = load(RULE, "- rule: opener\n" + body)
    msgs = errors(loader)
    assert len(msgs) == 1 and says in msgs[0] and msgs[0].startswith("f1.yaml:"), msgs
    assert loader.defs.rules["opener"].condition == "evt.type=open"  # untouched


def test_override_of_an_undefined_rule_is_an_error() -> None:
    for mode in ("append", "replace"):
        (msg,) = errors(load(f"- rule: nope\n  condition: x\n  override:\n    condition: {mode}\n"))
        assert f"override ({mode}) given but no rule by that name exists yet" in msg


def test_lists_and_macros_override_replace_defines_append_needs_one() -> None:
    loader = load("""\
- list: bins
  items: [a]
  override:
    items: replace
- macro: m
  condition: evt.type=open
  override:
    condition: replace
""")
    assert loader.defs.problems == []
    assert loader.defs.lists["bins"].items == ["a"]
    assert loader.defs.macros["m"].condition == "evt.type=open"
    bad = load(
        "- list: bins\n  items: [a]\n  override:\n    items: append\n"
        "- macro: m\n  condition: or x\n  override:\n    condition: append\n"
    )
    assert [m.split(": ", 2)[1:] for m in errors(bad)] == [
        ["list 'bins'", "append given but no list by that name exists yet"],
        ["macro 'm'", "append given but no macro by that name exists yet"],
    ]


def test_list_and_macro_override_append_extend() -> None:
    loader = load(
        "- list: bins\n  items: [a]\n- macro: m\n  condition: evt.type=open\n",
        "- list: bins\n  items: [b]\n  override: {items: append}\n"
        "- macro: m\n  condition: or evt.type=openat\n"
        "  override: {condition: append}\n",
    )
    assert loader.defs.problems == []
    assert loader.defs.lists["bins"].items == ["a", "b"]
    assert loader.defs.macros["m"].condition == "evt.type=open or evt.type=openat"


# -- deprecations and unknown keys


def test_append_true_is_deprecated_but_works() -> None:
    loader = load(RULE, "- rule: opener\n  condition: and fd.num>0\n  append: true\n")
    assert errors(loader) == []
    (msg,) = warnings(loader)
    assert msg.startswith("f1.yaml:3: warning: rule 'opener': 'append' is deprecated")
    assert loader.defs.rules["opener"].condition == "evt.type=open and fd.num>0"


def test_standalone_enabled_is_deprecated_and_enabled_beside_append_is_ignored() -> None:
    loader = load(RULE, "- rule: opener\n  enabled: false\n")
    assert loader.defs.rules["opener"].enabled is False
    assert "standalone 'enabled' is deprecated" in warnings(loader)[0]
    ignored = load(
        RULE.replace("priority: info", "priority: info\n  enabled: false"),
        "- rule: opener\n  condition: and fd.num>0\n  append: true\n  enabled: true\n",
    )
    assert ignored.defs.rules["opener"].enabled is False
    assert any("'enabled' is ignored beside 'append: true'" in w for w in warnings(ignored))
    replaced = load(RULE, "- rule: opener\n  enabled: false\n  override: {enabled: replace}\n")
    assert replaced.defs.problems == [] and replaced.defs.rules["opener"].enabled is False


def test_enabled_for_an_undefined_rule_is_an_error() -> None:
    assert any(
        "'enabled' given but no rule by that name exists yet" in m
        for m in errors(load("- rule: ghost\n  enabled: true\n"))
    )


def test_unknown_keys_are_warned_where_they_are() -> None:
    loader = load(
        """\
- list: bins
  items: [a]
  overridde:
    items: append
- list: bins
  items: [b]
- macro: m
  condition: evt.type=open
  descr: typo
"""
        + RULE.replace("  tags: [files]\n", "  tag: [files]\n").replace(
            "      fields: [proc.name]\n", "      fields: [proc.name]\n      comp: [=]\n"
        )
    )
    assert errors(loader) == []
    assert warnings(loader) == [
        "f0.yaml:3: warning: list 'bins': unknown key 'overridde' ignored",
        "f0.yaml:9: warning: macro 'm': unknown key 'descr' ignored",
        "f0.yaml:15: warning: rule 'opener': unknown key 'tag' ignored",
        "f0.yaml:19: warning: rule 'opener': unknown key 'comp' ignored",
    ]
    # the typo'd override is no override: the second list redefines the first
    assert loader.defs.lists["bins"].items == ["b"]


def test_invalid_names_are_warned_and_empty_items_skipped() -> None:
    loader = load("- list: 'a b'\n  items: []\n- macro: 2fast\n  condition: x\n-\n")
    assert errors(loader) == []
    msgs = warnings(loader)
    assert len(msgs) == 2
    assert msgs[0].startswith("f0.yaml:1: warning: list 'a b': invalid list name")
    assert msgs[1].startswith("f0.yaml:3: warning: macro '2fast': invalid macro name")
    assert set(loader.defs.macros) == {"2fast"}


# -- exceptions appended (an error since Falco 0.29, a warning in 0.28.1)


@pytest.mark.parametrize(
    ("exceptions", "line", "says"),
    [
        (
            "    - name: other\n      values: [[x]]\n",
            3,
            "exception 'other': the rule has no exception by that name, and a new exception must "
            "have 'fields'",
        ),
        (
            "    - name: other\n      fields: [proc.name]\n",
            3,
            "exception 'other': a new exception appended to a rule must have 'values'",
        ),
        (
            "    - name: known\n      fields: [fd.name]\n      values: [[x]]\n",
            3,
            "an append may only add values, not fields or comps",
        ),
        ("    - name: known\n      values: [[x, y]]\n", 3, "each value must be a list as long as"),
    ],
)
@pytest.mark.parametrize("how", ["append: true", "override: {exceptions: append}"])
def test_bad_exception_appends_are_errors(exceptions: str, line: int, says: str, how: str) -> None:
    loader = load(RULE, f"- rule: opener\n  exceptions:\n{exceptions}  {how}\n")
    msgs = errors(loader)
    assert len(msgs) == 1 and msgs[0].startswith(f"f1.yaml:{line}: rule 'opener': "), msgs
    assert says in msgs[0]
    assert loader.defs.rules["opener"].exceptions[0].values == []


def test_an_exception_name_given_twice_warns_and_both_apply() -> None:
    # today's Falco: LOAD_EXCEPTION_NAME_NOT_UNIQUE is a warning; every exception is kept
    loader = load(
        RULE,
        "- rule: opener\n  exceptions:\n    - name: known\n      values: [[a]]\n"
        "    - name: known\n      values: [[b]]\n  override: {exceptions: append}\n",
    )
    assert errors(loader) == []
    assert (
        "f1.yaml:5: warning: rule 'opener': exception 'known' is given twice" in warnings(loader)[0]
    )
    assert loader.defs.rules["opener"].exceptions[0].values == [["a"], ["b"]]


def test_appending_an_exception_without_values_warns() -> None:
    loader = load(
        RULE, "- rule: opener\n  exceptions:\n    - name: known\n  override: {exceptions: append}\n"
    )
    assert errors(loader) == []
    assert "exception 'known': appended with no values" in warnings(loader)[0]


def test_redefining_a_rule_with_another_source_is_an_error() -> None:
    loader = load(RULE, RULE.replace("priority: info", "priority: info\n  source: k8s_audit"))
    (msg,) = errors(loader)
    assert "rule redefined with another source" in msg


def test_skip_if_unknown_filter_also_skips_unknown_event_types_and_output_fields() -> None:
    from sentry.outputs.format import OutputFormat
    from sentry.rules.ruleset import compile_rules

    text = """\
- rule: odd event
  desc: d
  condition: evt.type=no_such_event and proc.name=cat
  output: o
  priority: info
  skip-if-unknown-filter: SKIP
- rule: odd output
  desc: d
  condition: evt.type=open
  output: "%proc.no_such_field"
  priority: info
  skip-if-unknown-filter: SKIP
"""
    for skip, severity in (("true", "warning: "), ("false", "")):
        loader = load(text.replace("SKIP", skip))
        ruleset = compile_rules(loader.defs, output_compiler=lambda out, _s: OutputFormat(out))
        assert len(ruleset.all_rules) == 0
        got = [str(p) for p in loader.defs.problems]
        assert len(got) == 2, got
        assert got[0].startswith(f"f0.yaml:1: {severity}rule 'odd event': ")
        assert "unknown event type 'no_such_event'" in got[0]
        assert got[1].startswith(f"f0.yaml:7: {severity}rule 'odd output': ")
        assert "unknown field 'proc.no_such_field'" in got[1]
