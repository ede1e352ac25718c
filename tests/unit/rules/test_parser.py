"""The condition parser: precedence, values and lists, quoting, and errors that point home."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sentry.errors import FilterSyntaxError
from sentry.rules.ast import (
    And,
    Compare,
    FieldRef,
    FieldValue,
    Identifier,
    Not,
    Or,
    Transform,
    Value,
    ValueList,
    macro_names,
    to_text,
)
from sentry.rules.expand import MacroError, expand, expand_list
from sentry.rules.parser import parse_condition


def cmp(field: str, op: str, value: str | None = None, arg: str | None = None) -> Compare:
    return Compare(FieldRef(field, arg), op, None if value is None else Value(value))


def test_comparison_without_spaces() -> None:
    assert parse_condition("evt.type=open") == cmp("evt.type", "=", "open")


def test_double_equals_is_equals() -> None:
    assert parse_condition("proc.name == cat") == cmp("proc.name", "=", "cat")


@pytest.mark.parametrize("op", ["!=", "<", "<=", ">", ">="])
def test_symbol_operators(op: str) -> None:
    assert parse_condition(f"fd.num{op}3") == cmp("fd.num", op, "3")


@pytest.mark.parametrize(
    "op",
    ["contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith",
     "glob", "iglob", "regex"],
)  # fmt: skip
def test_word_operators(op: str) -> None:
    assert parse_condition(f"fd.name {op} abc") == cmp("fd.name", op, "abc")


def test_and_binds_tighter_than_or() -> None:
    a, b, c = Identifier("a"), Identifier("b"), Identifier("c")
    assert parse_condition("a and b or c") == Or((And((a, b)), c))
    assert parse_condition("a or b and c") == Or((a, And((b, c))))


def test_not_binds_tighter_than_and() -> None:
    a, b = Identifier("a"), Identifier("b")
    assert parse_condition("not a and b") == And((Not(a), b))
    assert parse_condition("not (a and b)") == Not(And((a, b)))


def test_parentheses_override_precedence() -> None:
    a, b, c = Identifier("a"), Identifier("b"), Identifier("c")
    assert parse_condition("a and (b or c)") == And((a, Or((b, c))))


def test_keywords_need_word_boundaries() -> None:
    # "android" and "order" are macros, not "and"/"or" followed by something.
    assert parse_condition("android or order") == Or((Identifier("android"), Identifier("order")))
    assert parse_condition("not(a)") == Not(Identifier("a"))


def test_bare_values_keep_path_and_network_characters() -> None:
    assert parse_condition("fd.name=/etc/passwd") == cmp("fd.name", "=", "/etc/passwd")
    assert parse_condition("fd.snet = 10.0.0.0/8") == cmp("fd.snet", "=", "10.0.0.0/8")
    assert parse_condition("evt.dir = <") == cmp("evt.dir", "=", "<")
    assert parse_condition("evt.rawres >= -1") == cmp("evt.rawres", ">=", "-1")


def test_value_list_with_quotes_nesting_and_empty_items() -> None:
    tree = parse_condition("proc.name in (a, \"b c\", (d, 'e'), , f,)")
    assert tree == Compare(
        FieldRef("proc.name"),
        "in",
        ValueList((Value("a"), Value("b c", True), Value("d"), Value("e", True), Value("f"))),
    )


def test_empty_list() -> None:
    assert parse_condition("proc.name in ()") == Compare(FieldRef("proc.name"), "in", ValueList(()))


@pytest.mark.parametrize("op", ["in", "intersects", "pmatch"])
def test_list_operators(op: str) -> None:
    tree = parse_condition(f"fd.name {op} (/etc, /usr)")
    assert tree == Compare(FieldRef("fd.name"), op, ValueList((Value("/etc"), Value("/usr"))))


def test_quoted_strings_and_escapes() -> None:
    tree = parse_condition(r"""proc.cmdline = "a \"q\" b\n\x41\d" or proc.name = 'it\'s' """)
    assert isinstance(tree, Or)
    first, second = tree.args
    assert first == Compare(FieldRef("proc.cmdline"), "=", Value('a "q" b\nA\\d', True))
    assert second == Compare(FieldRef("proc.name"), "=", Value("it's", True))


def test_field_arguments() -> None:
    assert parse_condition("proc.aname[2]=sshd") == cmp("proc.aname", "=", "sshd", arg="2")
    tree = parse_condition("jevt.value[/request Object/spec.x] exists")
    assert tree == Compare(FieldRef("jevt.value", "/request Object/spec.x"), "exists", None)
    assert parse_condition("evt.arg.fd > 2") == cmp("evt.arg.fd", ">", "2")


def test_exists_is_unary() -> None:
    tree = parse_condition("ka.target.subresource exists and a")
    assert tree == And(
        (Compare(FieldRef("ka.target.subresource"), "exists", None), Identifier("a"))
    )


def test_transformers_wrap_fields() -> None:
    tree = parse_condition("tolower(basename(fd.name)) = passwd")
    assert tree == Compare(
        Transform("tolower", Transform("basename", FieldRef("fd.name"))), "=", Value("passwd")
    )
    assert parse_condition("len ( proc.args ) > 3").lhs == Transform("len", FieldRef("proc.args"))  # type: ignore[union-attr]


def test_val_on_the_right() -> None:
    tree = parse_condition("proc.name = val(proc.pname)")
    assert tree == Compare(FieldRef("proc.name"), "=", FieldValue(FieldRef("proc.pname")))


def test_macro_reference() -> None:
    tree = parse_condition("spawned_process and not shell_procs")
    assert tree == And((Identifier("spawned_process"), Not(Identifier("shell_procs"))))
    assert macro_names(tree) == {"spawned_process", "shell_procs"}


def test_multiline_condition() -> None:
    tree = parse_condition("open_write\n  and (fd.name startswith /etc\n       or fd.num=3)\n")
    assert isinstance(tree, And)


def test_positions_are_one_based_columns() -> None:
    tree = parse_condition("a and  proc.name = x")
    assert isinstance(tree, And)
    assert tree.args[0].pos == 1
    assert tree.args[1].pos == 8


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("", 1, "empty"),
        ("   ", 4, "empty"),
        ("a and", 6, "ends"),
        ("(a or b", 8, "never closed"),
        ("a or b)", 7, "unbalanced"),
        ("proc.name", 10, "operator"),
        ("proc.name =", 12, "value"),
        ("proc.name = )", 13, "value"),
        ("proc.name in abc", 14, "list"),
        ("proc.name in (a b)", 17, "','"),
        ("proc.name in (a, b", 19, "never closed"),
        ('proc.name = "abc', 13, "unterminated"),
        ("proc.aname[2 = x", 11, "]"),
        ("proc.name bogus x", 11, "operator"),
        ("name = x", 1, "not a field"),
        ("a b", 3, "expected 'and'"),
        ("and", 1, "cannot start"),
        ("= x", 1, "expected a field"),
        ("tolower(proc.name = x", 19, "')'"),
        ("proc.name = val(proc.pname", 27, "')'"),
    ],
)
def test_syntax_errors_carry_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_condition(text)
    assert info.value.column == column
    assert words in str(info.value)


def test_error_message_points_at_the_column() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_condition("proc.name in abc")
    lines = str(info.value).splitlines()
    assert lines[1].strip() == "proc.name in abc"
    assert lines[2].index("^") == lines[1].index("abc")


# Printing back --------------------------------------------------------------------------

ROUND_TRIP = [
    "evt.type in (open, openat) and evt.is_open_write=true and fd.typechar='f'",
    "not (a or b) and not c or d",
    'proc.cmdline contains "a b\\"c" and fd.name pmatch (/etc, "/x y")',
    "tolower(proc.name) = val(proc.pname) or jevt.value[/a b] exists",
    "proc.name in ()",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_to_text_parses_back_to_the_same_tree(text: str) -> None:
    tree = parse_condition(text)
    assert parse_condition(to_text(tree)) == tree


_names = st.sampled_from(["proc.name", "fd.name", "evt.type", "proc.aname[1]"])
_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)


@st.composite
def _conditions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(
        st.sampled_from(["cmp", "list", "macro"] + (["and", "or", "not"] if depth < 3 else []))
    )
    if kind == "cmp":
        value = draw(_texts)
        quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{draw(_names)} {draw(st.sampled_from(['=', '!=', 'contains', 'glob']))} {quoted}"
    if kind == "list":
        items = draw(
            st.lists(st.from_regex(r"[a-z/][a-z0-9/._-]{0,6}", fullmatch=True), max_size=4)
        )
        return f"{draw(_names)} in ({', '.join(items)})"
    if kind == "macro":
        return draw(
            st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
                lambda w: w not in ("and", "or", "not")
            )
        )
    if kind == "not":
        return f"not ({draw(_conditions(depth + 1))})"
    left, right = draw(_conditions(depth + 1)), draw(_conditions(depth + 1))
    return f"({left}) {kind} ({right})"


@given(_conditions())
def test_generated_conditions_round_trip(text: str) -> None:
    tree = parse_condition(text)
    assert parse_condition(to_text(tree)) == tree


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_our_error(text: str) -> None:
    try:
        parse_condition(text)
    except FilterSyntaxError as err:
        assert 1 <= err.column <= len(text) + 1


# Macro and list expansion ---------------------------------------------------------------


def test_expand_replaces_macros_recursively() -> None:
    macros = {"open_read": "evt.type = open and rd", "rd": parse_condition("evt.is_open_read=true")}
    tree = expand(parse_condition("open_read and not proc.name = cat"), macros)
    assert tree == And(
        (
            And((cmp("evt.type", "=", "open"), cmp("evt.is_open_read", "=", "true"))),
            Not(cmp("proc.name", "=", "cat")),
        )
    )


def test_expand_replaces_list_names_inside_value_lists() -> None:
    lists = {"shells": ["sh", "bash"], "all_shells": ["shells", "zsh", '"quoted name"']}
    tree = expand(parse_condition('proc.name in (all_shells, "shells", ksh)'), lists=lists)
    assert tree == Compare(
        FieldRef("proc.name"),
        "in",
        ValueList(
            (Value("sh"), Value("bash"), Value("zsh"), Value("quoted name", True),
             Value("shells", True), Value("ksh"))
        ),
    )  # fmt: skip
    assert expand_list("all_shells", lists) == ("sh", "bash", "zsh", "quoted name")


def test_expand_empty_list() -> None:
    tree = expand(parse_condition("proc.name in (empty)"), lists={"empty": []})
    assert tree == Compare(FieldRef("proc.name"), "in", ValueList(()))


def test_undefined_macro_is_reported_with_its_column() -> None:
    with pytest.raises(MacroError) as info:
        expand(parse_condition("a and missing_one"), {"a": "proc.name=x"})
    assert info.value.name == "missing_one"
    assert info.value.column == 7


def test_recursive_macros_are_reported() -> None:
    with pytest.raises(MacroError) as info:
        expand(parse_condition("a"), {"a": "b or proc.name=x", "b": "a"})
    assert "a -> b -> a" in str(info.value)


def test_recursive_lists_are_reported() -> None:
    with pytest.raises(MacroError):
        expand(parse_condition("proc.name in (x)"), lists={"x": ["y"], "y": ["x"]})


def test_macro_with_bad_syntax_names_the_macro() -> None:
    with pytest.raises(MacroError) as info:
        expand(parse_condition("broken"), {"broken": "proc.name ="})
    assert info.value.name == "broken"


# Falco 0.28.1's own rules and error cases -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column"), [("evt.type=execve foo", 17), ("evt.type=open bar", 15)]
)
def test_falco_test_suite_syntax_error_columns(text: str, column: int) -> None:
    # falco_tests.yaml expects "17: syntax error, unexpected 'foo', expecting 'or', 'and'".
    with pytest.raises(FilterSyntaxError) as info:
        parse_condition(text)
    assert info.value.column == column
    assert "'and', 'or'" in str(info.value)


def _falco_items(path: Path) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
    macros: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    rules: dict[str, str] = {}
    for item in yaml.safe_load(path.read_text()):
        if "macro" in item:
            macros[item["macro"]] = item["condition"]
        elif "list" in item:
            lists[item["list"]] = [str(v) for v in item["items"]]
        elif "rule" in item and "condition" in item:
            rules[item["rule"]] = item["condition"]
    return macros, lists, rules


@pytest.mark.conformance
@pytest.mark.parametrize("name", ["falco_rules.yaml", "k8s_audit_rules.yaml"])
def test_falco_default_rules_parse_and_expand(falco_dir: Path, name: str) -> None:
    macros, lists, rules = _falco_items(falco_dir / "rules" / name)
    assert rules
    for condition in macros.values():
        parse_condition(condition)
    for condition in rules.values():
        tree = expand(parse_condition(condition), macros, lists)
        assert not macro_names(tree)
        assert parse_condition(to_text(tree)) == tree


def test_deep_nesting_is_refused_with_our_error() -> None:
    deep = "(" * 150 + "a" + ")" * 150
    with pytest.raises(FilterSyntaxError) as info:
        parse_condition(deep)
    assert info.value.column == 101
    assert parse_condition("(" * 90 + "a" + ")" * 90) == Identifier("a")


def test_not_chains_cancel_in_pairs() -> None:
    assert parse_condition("not " * 5000 + "a") == Identifier("a")
    assert parse_condition("not " * 5001 + "a") == Not(Identifier("a"))
    assert parse_condition("not not (a)") == Identifier("a")
