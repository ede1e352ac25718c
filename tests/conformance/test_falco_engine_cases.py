"""Falco's rule loader regression cases of today's tree, on rules of our own (issue 15).

Covered: ``unit_tests/engine/test_rule_loader.cpp`` (falcosecurity/falco, every case but
those named below): list/macro/rule ``override:`` append and replace, before and after the
definition; the deprecated ``append: true``; override keys without their value, or with
values the override does not name; ``enabled`` through overrides and enable-only items;
a whole redefinition; ``required_engine_version`` as semver, integer and garbage; list
items with spaces; exceptions (precedence with ``or``, partial exceptions when appending
and replacing, exception names given twice, a misspelt ``values``, values that look like
fields); invalid macro and list names. The harness (:mod:`falco_engine_harness`) runs each
through the real ``sentry run`` on a small capture.

Left out, with why:

- ``exceptions_values_rhs_transformer``, ``exceptions_values_transformer_value_quoted``:
  a transformer on the right of a comparison (``proc.name = toupper(proc.pname)``) is a
  newer libs extension Sentry's condition language does not have (transformers apply to
  the field on the left; ``val(field)`` compares two fields).
- ``exceptions_values_transformer_space*``: their point is how the compiled condition text
  quotes the value; our cases check behaviour, and the value is a literal either way.
- The ``schema_validation()`` status each case asserts: Sentry reports the same problems
  (unknown keys, wrong types) as warnings or errors with FILE:LINE instead of a status.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from falco_engine_harness import Case, check, write_capture

pytestmark = pytest.mark.conformance

F = "test_rule_loader.cpp: "

# A rule on open by a shell (bash and its child bash -i: 2 opens) used as a base below.
SHELL_OPEN = """
- list: shells
  items: [bash, ash]

- rule: shell opens
  desc: a shell opens a file
  condition: evt.type = open and proc.name in (shells)
  output: "%proc.name opened %fd.name"
  priority: INFO
"""

OPEN_BASE = """
- rule: opener
  desc: base description
  condition: evt.type = open
  output: "file=%fd.name"
  priority: INFO
"""

CASES = [
    Case(
        "list override append extends the list",
        F + "list_append",
        SHELL_OPEN
        + """
- list: shells
  items: [pwsh]
  override:
    items: append
""",
        alerts={"shell opens": 6},
        quiet=True,
    ),
    Case(
        "macro override append is grouped with the macro",
        F + "condition_append",
        """
- macro: is_shell
  condition: proc.name = bash and proc.cmdline = "bash -i"

- rule: shell or cat opens
  desc: d
  condition: evt.type = open and is_shell
  output: "%proc.name"
  priority: INFO

- macro: is_shell
  condition: or proc.name = cat
  override:
    condition: append
""",
        # (open and ((bash -i) or cat)): cat's close does not match
        alerts={"shell or cat opens": 4},
        args=("-A",),
    ),
    Case(
        "rule override appends desc, condition and output",
        F + "rule_override_append",
        OPEN_BASE
        + """
- rule: opener
  desc: with more
  condition: and proc.name = cat
  output: "proc=%proc.name"
  override:
    desc: append
    condition: append
    output: append
""",
        alerts={"opener": 2},
        quiet=True,
        info={
            "opener": {
                "condition": "evt.type = open and proc.name = cat",
                "output": "file=%fd.name proc=%proc.name",
                "desc": "base description with more",
            }
        },
    ),
    Case(
        "append: true still appends, with the deprecation warning",
        F + "rule_append",
        OPEN_BASE
        + """
- rule: opener
  condition: and proc.name = cat
  append: true
""",
        alerts={"opener": 2},
        warnings=(r"rules.yaml:9: warning: .*'append' is deprecated",),
    ),
    Case(
        "rule override replaces desc and condition, keeps output",
        F + "rule_override_replace",
        OPEN_BASE
        + """
- rule: opener
  desc: replaced description
  condition: evt.type = close
  override:
    desc: replace
    condition: replace
""",
        alerts={"opener": 2},  # cat's close
        args=("-A",),  # close is one of the events Falco skips without -A
        info={
            "opener": {
                "condition": "evt.type = close",
                "output": "file=%fd.name",
                "desc": "replaced description",
            }
        },
    ),
    Case(
        "rule override mixes append and replace",
        F + "rule_override_append_replace",
        OPEN_BASE
        + """
- rule: opener
  desc: replaced
  condition: and proc.name = ssh
  priority: WARNING
  override:
    desc: replace
    condition: append
    priority: replace
""",
        alerts={"opener": 2},
        info={
            "opener": {
                "condition": "evt.type = open and proc.name = ssh",
                "desc": "replaced",
                "priority": "Warning",
            }
        },
    ),
    Case(
        "priority cannot be appended to",
        F + "rule_incorrect_override_type",
        OPEN_BASE
        + """
- rule: opener
  condition: and proc.name = cat
  priority: WARNING
  override:
    condition: append
    priority: append
""",
        loads=False,
        errors=(r"rules.yaml:1[23]: .*'priority' cannot be appended to, use 'replace'",),
    ),
    Case(
        "append: true and override together are an error (and the warning)",
        F + "rule_incorrect_append_override",
        OPEN_BASE
        + """
- rule: opener
  condition: and proc.name = cat
  append: true
  override:
    condition: append
""",
        loads=False,
        errors=(r"rules.yaml:\d+: .*override.*append|append.*override",),
        warnings=(r"'append' is deprecated",),
    ),
    Case(
        "macro override append before the macro is an error",
        F + "macro_override_append_before_macro_definition",
        """
- macro: opens
  condition: or evt.type = openat
  override:
    condition: append

- macro: opens
  condition: evt.type = open

- rule: r
  desc: d
  condition: opens
  output: o
  priority: INFO
""",
        loads=False,
        errors=(r"rules.yaml:1: .*macro.*no macro by that name",),
    ),
    Case(
        "macro append: true before the macro is an error",
        F + "macro_append_before_macro_definition",
        """
- macro: opens
  condition: or evt.type = openat
  append: true

- macro: opens
  condition: evt.type = open

- rule: r
  desc: d
  condition: opens
  output: o
  priority: INFO
""",
        loads=False,
        errors=(r"rules.yaml:1: .*no macro by that name",),
    ),
    Case(
        "macro override replace before the macro defines it; the later one wins",
        F + "macro_override_replace_before_macro_definition",
        """
- macro: opens
  condition: evt.type = openat
  override:
    condition: replace

- macro: opens
  condition: evt.type = open and proc.name = pwsh

- rule: r
  desc: d
  condition: opens
  output: o
  priority: INFO
""",
        alerts={"r": 2},
    ),
    *(
        Case(
            f"macro {how} after the macro appends",
            F + f"macro_{name}_after_macro_definition",
            f"""
- macro: opens
  condition: evt.type = open and proc.name = pwsh

- macro: opens
  condition: or evt.type = openat
{key}

- rule: r
  desc: d
  condition: opens
  output: o
  priority: INFO
""",
            alerts={"r": 4},  # pwsh's open, nginx's openat
        )
        for how, name, key in (
            ("override append", "override_append", "  override:\n    condition: append"),
            ("append: true", "append", "  append: true"),
        )
    ),
    *(
        Case(
            f"rule {how} before the rule is an error",
            F + f"rule_{name}_before_rule_definition",
            f"""
- rule: r
  condition: and proc.name = cat
{key}

- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
""",
            loads=False,
            errors=(r"rules.yaml:1: .*rule.*no rule by that name",),
        )
        for how, name, key in (
            ("override append", "override_append", "  override:\n    condition: append"),
            ("override replace", "override_replace", "  override:\n    condition: replace"),
            ("append: true", "append", "  append: true"),
        )
    ),
    *(
        Case(
            f"rule {how} after the rule narrows it",
            F + f"rule_{name}_after_rule_definition",
            OPEN_BASE
            + f"""
- rule: opener
  condition: and proc.name = curl
{key}
""",
            alerts={"opener": 4},
        )
        for how, name, key in (
            ("override append", "override_append", "  override:\n    condition: append"),
            ("append: true", "append", "  append: true"),
        )
    ),
    Case(
        "a misspelt override key is not an override: the later list replaces",
        F + "list_override_append_wrong_key",
        """
- list: disk_tools
  items: [csi-attacher]
  overide:
    items: append

- list: disk_tools
  items: [blkid]

- rule: disk tool runs
  desc: d
  condition: evt.type = execve and proc.name in (disk_tools)
  output: o
  priority: INFO
""",
        alerts={"disk tool runs": 1},
        warnings=(r"rules.yaml:3: warning: .*overide",),
    ),
    *(
        Case(
            f"list {how} before the list is an error",
            F + f"list_{name}_before_list_definition",
            f"""
- list: disk_tools
  items: [csi-attacher]
{key}

- list: disk_tools
  items: [blkid]
""",
            loads=False,
            errors=(r"rules.yaml:1: .*list.*no list by that name",),
        )
        for how, name, key in (
            ("override append", "override_append", "  override:\n    items: append"),
            ("append: true", "append", "  append: true"),
        )
    ),
    Case(
        "list override replace before the list defines it; the later one wins",
        F + "list_override_replace_before_list_definition",
        """
- list: disk_tools
  items: [csi-attacher]
  override:
    items: replace

- list: disk_tools
  items: [blkid]

- rule: disk tool runs
  desc: d
  condition: evt.type = execve and proc.name in (disk_tools)
  output: o
  priority: INFO
""",
        alerts={"disk tool runs": 1},
    ),
    *(
        Case(
            f"list {how} after the list extends it",
            F + f"list_{name}_after_list_definition",
            f"""
- list: disk_tools
  items: [blkid]

- list: disk_tools
  items: ["csi-provisioner", "csi-attacher"]
{key}

- rule: disk tool runs
  desc: d
  condition: evt.type = execve and proc.name in (disk_tools)
  output: o
  priority: INFO
""",
            alerts={"disk tool runs": 2},
        )
        for how, name, key in (
            ("override append", "override_append", "  override:\n    items: append"),
            ("append: true", "append", "  append: true"),
        )
    ),
    Case(
        "an append override for a key the item does not give is an error",
        F + "rule_override_without_field",
        OPEN_BASE
        + """
- rule: opener
  desc: more
  override:
    desc: replace
    condition: append
""",
        loads=False,
        errors=(r"rules.yaml:1[01]: .*'condition'",),
    ),
    Case(
        "a key the override does not name is an error",
        F + "rule_override_extra_field",
        OPEN_BASE
        + """
- rule: opener
  desc: more
  condition: and proc.name = cat
  priority: WARNING
  override:
    desc: replace
    condition: append
""",
        loads=False,
        errors=(r"rules.yaml:1[01]: .*'priority'",),
    ),
    Case(
        "enabled: replace without an enabled key is an error",
        F + "missing_enabled_key_with_override",
        OPEN_BASE
        + """  enabled: false

- rule: opener
  desc: more
  condition: and proc.name = cat
  override:
    desc: replace
    condition: append
    enabled: replace
""",
        loads=False,
        errors=(r"rules.yaml:\d+: .*'enabled'",),
    ),
    Case(
        "enabled: replace with enabled: true enables the rule, quietly",
        F + "rule_override_with_enabled",
        OPEN_BASE
        + """  enabled: false

- rule: opener
  desc: more
  condition: and proc.name = cat
  enabled: true
  override:
    desc: replace
    condition: append
    enabled: replace
""",
        alerts={"opener": 2},
        quiet=True,
    ),
    Case(
        "a partial exception may be appended but not replaced",
        F + "rule_override_exceptions_required_fields",
        OPEN_BASE
        + """  exceptions:
    - name: known_tools
      fields: proc.name
      comps: in
      values: [cat]

- rule: opener
  exceptions:
    - name: known_tools
      values: [ssh]
  override:
    exceptions: append

- rule: opener
  exceptions:
    - name: known_tools
      values: [pwsh]
  override:
    exceptions: replace
""",
        loads=False,
        errors=(r"rules.yaml:21: .*known_tools.*'fields'",),
    ),
    Case(
        "appending a partial exception keeps its fields and comps",
        F + "rule_override_exceptions_required_fields (the append half)",
        OPEN_BASE
        + """  exceptions:
    - name: known_tools
      fields: proc.name
      comps: in
      values: [cat]

- rule: opener
  exceptions:
    - name: known_tools
      values: [ssh, curl]
  override:
    exceptions: append
""",
        alerts={"opener": 6},  # pwsh, bash, bash -i
        quiet=True,
    ),
    Case(
        "enabled: false loads the rule disabled, quietly",
        F + "rule_not_enabled",
        OPEN_BASE + "  enabled: false\n",
        alerts={},
        quiet=True,
    ),
    Case(
        "an item with only enabled: true enables the rule",
        F + "rule_enabled_warning",
        OPEN_BASE
        + """  enabled: false

- rule: opener
  enabled: true
""",
        alerts={"opener": 14},
    ),
    Case(
        "enabled beside append: true does not enable the rule",
        F + "rule_enabled_is_ignored_by_append",
        OPEN_BASE
        + """  enabled: false

- rule: opener
  condition: and proc.name = cat
  append: true
  enabled: true
""",
        alerts={},
    ),
    Case(
        "a full redefinition replaces the rule, enabled state included",
        F + "rewrite_rule",
        OPEN_BASE
        + """  enabled: false

- rule: opener
  desc: redefined
  condition: evt.type = open and proc.name = cat
  output: "f=%fd.name"
  priority: WARNING
  enabled: true
""",
        alerts={"opener": 2},
        info={"opener": {"condition": "evt.type = open and proc.name = cat"}},
    ),
    *(
        Case(
            f"required_engine_version {version} loads quietly",
            F + name,
            f"- required_engine_version: {version}\n" + OPEN_BASE,
            quiet=True,
            alerts={"opener": 14},
        )
        for version, name in (
            ("0.26.0", "required_engine_version_semver"),
            ("26", "required_engine_version_not_semver"),
        )
    ),
    Case(
        "required_engine_version that is not a version is an error",
        F + "required_engine_version_invalid",
        "- required_engine_version: seven\n" + OPEN_BASE,
        loads=False,
        errors=(r"rules.yaml:1: .*required_engine_version",),
    ),
    Case(
        "a quoted list item with a space is one value, not a list name",
        F + "list_value_with_escaping",
        """
- list: known_cmdlines
  items: [ssh, "curl 127.0.0.1"]

- rule: known command opens
  desc: d
  condition: evt.type = open and proc.cmdline in (known_cmdlines)
  output: o
  priority: INFO
""",
        alerts={"known command opens": 2},
        quiet=True,
    ),
    Case(
        "an unused list is warned about",
        F + "list_value_with_escaping (the unused list warning)",
        """
- list: my_values
  items: [plain, "with space"]
""",
        validate_warnings=(r"rules.yaml:1: warning: list 'my_values': list not used",),
    ),
    Case(
        "exceptions apply to the whole condition, or included",
        F + "exceptions_condition",
        """
- rule: downloader opens
  desc: d
  condition: evt.type = open and proc.name = ssh or evt.type = open and proc.cmdline contains curl
  output: o
  priority: INFO
  exceptions:
    - name: local_curl
      fields: [proc.cmdline]
      comps: [contains]
      values:
        - [curl 127.0.0.1]
""",
        alerts={"downloader opens": 4},  # ssh, curl 1.1.1.1
    ),
    Case(
        "an invalid macro name is warned about",
        F + "macro_name_invalid",
        """
- macro: my-macro
  condition: evt.type = close
""",
        warnings=(r"rules.yaml:1: warning: .*my-macro",),
    ),
    Case(
        "an invalid list name is warned about",
        F + "list_name_invalid",
        """
- list: my list
  items: [open, openat]
""",
        warnings=(r"rules.yaml:1: warning: .*my list",),
    ),
    *(
        Case(
            f"an exception appended ({how}) with a misspelt values key is warned about",
            F + name,
            """
- rule: curl opens
  desc: d
  condition: evt.type = open and proc.name = curl
  output: o
  priority: INFO
  exceptions:
    - name: local
      fields: [proc.cmdline]
      comps: [contains]
      values:
        - [curl 127.0.0.1]

- rule: curl opens
  exceptions:
    - name: local
      value: curl 1.1.1.1
"""
            + key,
            alerts={"curl opens": 2},
            warnings=(r"rules.yaml:1[5-8]: warning: .*no values",),
        )
        for how, name, key in (
            ("append: true", "exceptions_append_no_values", "  append: true\n"),
            (
                "override",
                "exceptions_override_no_values",
                "  override:\n    exceptions: append\n",
            ),
        )
    ),
    Case(
        "two exceptions of one name are warned about",
        F + "exceptions_names_not_unique",
        """
- rule: curl opens
  desc: d
  condition: evt.type = open and proc.name = curl
  output: o
  priority: INFO
  exceptions:
    - name: local
      fields: [proc.cmdline]
      comps: [contains]
      values:
        - [curl 127.0.0.1]
    - name: local
      fields: [proc.cmdline]
      comps: [endswith]
      values:
        - [1.1.1.1]
""",
        warnings=(r"rules.yaml:12: warning: .*exception 'local' is given twice",),
        alerts={},  # both exceptions apply: neither curl alerts
    ),
    *(
        Case(
            f"an exception value {shown} that names a field is a string, with a warning",
            F + name,
            f"""
- rule: shell opens
  desc: d
  condition: evt.type = open and proc.name = bash
  output: o
  priority: INFO
  exceptions:
    - name: same_as_parent
      fields: [proc.name]
      comps: [=]
      values:
        - [{value}]
""",
            # not a field comparison: bash -i (parent bash) is not excepted
            alerts={"shell opens": 4},
            warnings=(r"rules.yaml:\d+: warning: .*proc\.pname.*(field|string)",),
        )
        for shown, value, name in (
            ("unquoted", "proc.pname", "exceptions_values_rhs_field_ambiguous"),
            ("quoted", '"proc.pname"', "exceptions_values_rhs_field_ambiguous_quoted"),
            ("with a space", '"proc.pname "', "exceptions_values_rhs_field_ambiguous_space_quoted"),
        )
    ),
    *(
        Case(
            f"an exception field with a transformer ({shown}) compares transformed, quietly",
            F + name,
            f"""
- rule: shell opens
  desc: d
  condition: evt.type = open and proc.name in (bash, pwsh)
  output: o
  priority: INFO
  exceptions:
    - name: upper_pwsh
      fields: [{value}]
      comps: [=]
      values:
        - [PWSH]
""",
            alerts={"shell opens": 4},
            quiet=True,
        )
        for shown, value, name in (
            ("unquoted", "toupper(proc.name)", "exceptions_fields_transformer"),
            ("quoted", '"toupper(proc.name)"', "exceptions_fields_transformer_quoted"),
            (
                "quoted, space",
                '"toupper( proc.name)"',
                "exceptions_fields_transformer_space_quoted",
            ),
        )
    ),
]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_capture(tmp_path_factory.mktemp("capture") / "engine_cases.scap")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_falco_engine_case(case: Case, tmp_path: Path, capture: Path) -> None:
    check(case, tmp_path, capture)


def test_cases_name_distinct_falco_tests() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
