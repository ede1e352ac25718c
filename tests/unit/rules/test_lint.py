"""Today's Falco's load warnings that 0.28.1 did not give: constants that name fields or
transformers, and lists and macros nothing uses (told by validation, ``sentry -V``)."""

from __future__ import annotations

from sentry.rules.lint import unused_items, value_warnings
from sentry.rules.loader import RulesLoader
from sentry.rules.parser import parse_condition
from sentry.rules.ruleset import compile_rules

RULES = """\
- list: used_list
  items: [a, inner_list]
- list: inner_list
  items: [b]
- list: lonely_list
  items: [c]
- macro: used_macro
  condition: proc.name in (used_list)
- macro: lonely_macro
  condition: proc.name = x
- macro: self_only
  condition: self_only or proc.name = y
- rule: r
  desc: d
  condition: evt.type = open and used_macro
  output: o
  priority: INFO
  exceptions:
    - name: e
      fields: [proc.name]
      comps: [in]
      values: [[exc_list]]
- list: exc_list
  items: [d]
"""


def test_unused_lists_and_macros_are_named_with_their_line() -> None:
    loader = RulesLoader()
    loader.load_text(RULES, "t.yaml")
    got = [str(p) for p in unused_items(loader.defs)]
    assert got == [
        "t.yaml:9: warning: macro 'lonely_macro': macro not used by any rule or macro",
        "t.yaml:11: warning: macro 'self_only': macro not used by any rule or macro",
        "t.yaml:5: warning: list 'lonely_list': list not used by any rule, macro or list",
    ]


def test_constants_naming_fields_or_transformers_warn() -> None:
    tree = parse_condition(
        'proc.name = proc.pname or fd.name in (x, "fd.directory ") or proc.name = "toupper( a)"'
        " or proc.name = nginx.conf or proc.name = val(proc.pname)"
    )
    assert value_warnings(tree) == [
        "'proc.pname' may be a valid field misused as a const string value",
        "'fd.directory ' may be a valid field misused as a const string value",
        "'toupper( a)' may be a valid field transformer misused as a const string value",
    ]


def test_exception_fields_take_transformers() -> None:
    loader = RulesLoader()
    loader.load_text(
        "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n"
        "  exceptions:\n    - name: e\n      fields: [toupper( proc.name), basename(fd.name)]\n"
        "      values: [[CAT, hosts]]\n",
        "t.yaml",
    )
    ruleset = compile_rules(loader.defs)
    assert loader.defs.errors == []
    assert len(ruleset.all_rules) == 1


def test_audit_and_json_fields_compared_with_na_warn() -> None:
    for cond in ("ka.user.name = <NA>", "ka.user.name in (x, <NA>)", "jevt.value[/a] != <NA>"):
        (msg,) = value_warnings(parse_condition(cond))
        assert "with <NA> is unsafe" in msg and "exists' instead" in msg
    for cond in ("ka.user.name exists", "some.field = <NA>", "proc.name = <NA>"):
        assert value_warnings(parse_condition(cond)) == []
