"""The compiler: conditions over small fake events, every operator, types, evttypes, errors.

Events here are plain dicts and the resolver reads the key named like the field; that
keeps these tests about the language, while the field families are tested on real events.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentry.errors import FieldArgumentError, SentryError, UnknownFieldError
from sentry.fields.registry import BoundField, FieldType
from sentry.rules.compiler import Filter, FilterTypeError, compile_filter
from sentry.rules.expand import MacroError
from sentry.rules.parser import parse_condition

TYPES = {
    "evt.type": FieldType.STRING,
    "evt.num": FieldType.INT,
    "evt.is_open_read": FieldType.BOOL,
    "evt.buffer": FieldType.BYTES,
    "evt.rawtime": FieldType.ABSTIME,
    "proc.name": FieldType.STRING,
    "proc.pname": FieldType.STRING,
    "proc.cmdline": FieldType.STRING,
    "proc.pid": FieldType.INT,
    "proc.ppid": FieldType.INT,
    "proc.aname": FieldType.STRING,
    "fd.name": FieldType.STRING,
    "fd.sip": FieldType.IPADDR,
    "fd.net": FieldType.IPNET,
    "fd.sport": FieldType.PORT,
    "ka.user.groups": FieldType.LIST,
    "ka.req.pod.containers.image": FieldType.LIST,
    "jevt.value": FieldType.STRING,
    "ka.response.code": FieldType.STRING,
}
WITH_ARG = {"proc.aname", "jevt.value"}
K8S = {"ka.user.groups", "ka.req.pod.containers.image", "jevt.value", "ka.response.code"}

calls: list[str] = []


def resolve(name: str, arg: str | None = None) -> BoundField:
    """A registry of the fields above; the value of ``name[arg]`` is ``event[name[arg]]``."""
    if name not in TYPES:
        raise UnknownFieldError(name, [])
    if arg is not None and name not in WITH_ARG:
        raise FieldArgumentError(f"field '{name}' takes no argument")
    key = name if arg is None else f"{name}[{arg}]"

    def extract(event: dict[str, Any]) -> Any:
        calls.append(key)
        return event.get(key)

    return BoundField(key, TYPES[name], extract, "k8s_audit" if name in K8S else "syscall")


def flt(text: str, **kwargs: Any) -> Filter:
    return compile_filter(text, resolve, **kwargs)


def matches(text: str, **event: Any) -> bool:
    return flt(text).match({k.replace("_", ".", 1): v for k, v in event.items()})


def ev(**fields: Any) -> dict[str, Any]:
    return {k.replace("__", "."): v for k, v in fields.items()}


# Boolean structure ---------------------------------------------------------------------


def test_and_or_not() -> None:
    f = flt("proc.name = cat and not fd.name = /etc/passwd or proc.pid = 1")
    assert f.match(ev(proc__name="cat", fd__name="/tmp/x"))
    assert not f.match(ev(proc__name="cat", fd__name="/etc/passwd"))
    assert f.match(ev(proc__name="ls", fd__name="/etc/passwd", proc__pid=1))
    assert not f.match(ev(proc__name="ls", proc__pid=2))


def test_short_circuit_skips_later_fields() -> None:
    f = flt("proc.name = cat and fd.name = x")
    calls.clear()
    f.match(ev(proc__name="ls"))
    assert calls == ["proc.name"]


def test_long_chains() -> None:
    f = flt("proc.pid = 1 or proc.pid = 2 or proc.pid = 3 or proc.pid = 4 or proc.pid = 5")
    assert [f.match(ev(proc__pid=i)) for i in range(7)] == [False] + [True] * 5 + [False]
    g = flt("proc.pid > 0 and proc.pid > 1 and proc.pid > 2 and proc.pid > 3")
    assert [g.match(ev(proc__pid=i)) for i in range(6)] == [False] * 4 + [True] * 2


def test_missing_field_fails_comparisons_but_not_their_negation() -> None:
    event = ev(proc__name="cat")
    assert not flt("fd.name = x").match(event)
    assert not flt("fd.name != x").match(event)
    assert flt("not fd.name = x").match(event)
    assert not flt("fd.name exists").match(event)
    assert flt("proc.name exists").match(event)


def test_macros_and_lists_expand_when_given() -> None:
    f = flt(
        "open_read and proc.name in (shells)",
        macros={"open_read": "evt.type in (open, openat) and evt.is_open_read = true"},
        lists={"shells": ["sh", "bash"]},
    )
    assert f.match(ev(evt__type="openat", evt__is_open_read=True, proc__name="bash"))
    assert not f.match(ev(evt__type="openat", evt__is_open_read=True, proc__name="cat"))
    assert f.evttypes == frozenset({"open", "openat"})


def test_undefined_macro_is_an_error() -> None:
    with pytest.raises(MacroError):
        flt("no_such_macro and proc.name = x")


def test_compiles_a_tree_too() -> None:
    f = compile_filter(parse_condition("proc.name = cat"), resolve)
    assert f.match(ev(proc__name="cat"))
    assert f.text == "proc.name = cat"


def test_filter_describes_itself() -> None:
    f = flt("proc.name = cat and ka.user.groups in (a) and proc.name != x")
    assert f.fields == ("proc.name", "ka.user.groups")
    assert f.sources == frozenset({"syscall", "k8s_audit"})
    assert "proc.name = cat" in repr(f)


# Constant folding -----------------------------------------------------------------------


def test_empty_list_never_matches_and_folds() -> None:
    f = flt("proc.name in ()")
    assert not f.match(ev(proc__name=""))
    assert f.evttypes == frozenset()
    g = flt("not proc.name in () and proc.name = a")
    assert g.match(ev(proc__name="a"))
    calls.clear()
    flt("proc.name in () or proc.name = a").match(ev(proc__name="a"))
    assert calls == ["proc.name"]


def test_folded_branches_still_check_their_fields() -> None:
    with pytest.raises(UnknownFieldError):
        flt("proc.name in () and nosuch.field = 1")


# Every operator ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ("proc.name = cat", "cat", True),
        ("proc.name = cat", "cats", False),
        ("proc.name == cat", "cat", True),
        ("proc.name != cat", "cat", False),
        ("proc.name != cat", "dog", True),
        ("proc.name < d", "cat", True),
        ("proc.name > d", "cat", False),
        ("proc.name <= cat", "cat", True),
        ("proc.name >= cat", "cau", True),
        ("proc.name contains at", "cat", True),
        ("proc.name contains ta", "cat", False),
        ("proc.name icontains AT", "cAt", True),
        ("proc.name bcontains 6174", "cat", True),
        ("proc.name bcontains 7461", "cat", False),
        ("proc.name startswith ca", "cat", True),
        ("proc.name startswith at", "cat", False),
        ("proc.name bstartswith 6361", "cat", True),
        ("proc.name endswith at", "cat", True),
        ("proc.name endswith ca", "cat", False),
        ("proc.name glob 'c?t'", "cat", True),
        ("proc.name glob 'c*'", "cat", True),
        ("proc.name glob 'C*'", "cat", False),
        ("proc.name iglob 'C*'", "cat", True),
        ("proc.name glob '[a-c]at'", "cat", True),
        ("proc.name glob '[!a-c]at'", "cat", False),
        ("proc.name regex 'c.t'", "cat", True),
        ("proc.name regex 'a'", "cat", False),  # whole value, not a search
        ("proc.name regex '.*a.*'", "cat", True),
        ("proc.name in (dog, cat)", "cat", True),
        ("proc.name in (dog, cow)", "cat", False),
        ("proc.name intersects (dog, cat)", "cat", True),
        ("proc.name exists", "cat", True),
        ("proc.name exists", "", True),
    ],
)
def test_string_operators(condition: str, value: str, expected: bool) -> None:
    assert flt(condition).match(ev(proc__name=value)) is expected


@pytest.mark.parametrize(
    ("condition", "path", "expected"),
    [
        ("fd.name pmatch (/etc)", "/etc/passwd", True),
        ("fd.name pmatch (/etc)", "/etc", True),
        ("fd.name pmatch (/etc)", "/etcd/x", False),
        ("fd.name pmatch (/etc/)", "/etc/passwd", True),
        ("fd.name pmatch (/usr/lib, /etc/ssh)", "/etc/ssh/sshd_config", True),
        ("fd.name pmatch (/usr/lib, /etc/ssh)", "/etc/passwd", False),
        ("fd.name pmatch (/)", "/anything", True),
        ("fd.name glob /etc/*", "/etc/ssh/sshd_config", True),  # '*' crosses '/'
        ("fd.name glob '*'", "", True),
    ],
)
def test_path_operators(condition: str, path: str, expected: bool) -> None:
    assert flt(condition).match(ev(fd__name=path)) is expected


@pytest.mark.parametrize(
    ("condition", "pid", "expected"),
    [
        ("proc.pid = 10", 10, True),
        ("proc.pid != 10", 10, False),
        ("proc.pid < 10", 9, True),
        ("proc.pid <= 10", 10, True),
        ("proc.pid > 10", 10, False),
        ("proc.pid >= 10", 10, True),
        ("proc.pid in (1, 10)", 10, True),
        ("proc.pid in (1, 2)", 10, False),
        ("proc.pid = 0x10", 16, True),
        ("proc.pid > -1", 0, True),
    ],
)
def test_numeric_operators(condition: str, pid: int, expected: bool) -> None:
    assert flt(condition).match(ev(proc__pid=pid)) is expected


def test_booleans() -> None:
    assert flt("evt.is_open_read = true").match(ev(evt__is_open_read=True))
    assert not flt("evt.is_open_read = true").match(ev(evt__is_open_read=False))
    assert flt("evt.is_open_read != true").match(ev(evt__is_open_read=False))
    assert flt("evt.is_open_read = false").match(ev(evt__is_open_read=0))


def test_ip_addresses_and_networks() -> None:
    addr = ipaddress.ip_address("10.1.2.3")
    assert flt("fd.sip = 10.1.2.3").match(ev(fd__sip=addr))
    assert not flt("fd.sip = 10.1.2.4").match(ev(fd__sip=addr))
    assert flt("fd.sip = 10.0.0.0/8").match(ev(fd__sip=addr))
    assert flt("fd.sip in (127.0.0.1, 10.1.0.0/16)").match(ev(fd__sip=addr))
    assert not flt("fd.sip in (::1, 192.168.0.0/16)").match(ev(fd__sip=addr))
    assert flt("fd.sip != 127.0.0.1").match(ev(fd__sip=addr))
    assert flt("fd.sip = ::1").match(ev(fd__sip=ipaddress.ip_address("::1")))
    assert flt("fd.sip = 10.1.2.3").match(ev(fd__sip="10.1.2.3"))  # text from a json source
    assert flt("fd.net = 10.0.0.0/8").match(ev(fd__net=addr))
    assert flt("fd.net = 10.1.0.0/16").match(ev(fd__net=ipaddress.ip_network("10.1.2.0/24")))
    assert not flt("fd.net = 10.1.0.0/16").match(ev(fd__net=ipaddress.ip_network("10.0.0.0/8")))


def test_ports_by_number_or_service_name() -> None:
    assert flt("fd.sport = 22").match(ev(fd__sport=22))
    assert flt("fd.sport in (http, https)").match(ev(fd__sport=443))


def test_bytes_fields() -> None:
    buf = memoryview(b"GET /index.html HTTP/1.1\r\n")
    assert flt("evt.buffer contains index").match(ev(evt__buffer=buf))
    assert flt("evt.buffer bstartswith 474554").match(ev(evt__buffer=buf))
    assert flt("evt.buffer bcontains 0d0a").match(ev(evt__buffer=buf))
    assert flt("evt.buffer glob 'GET *'").match(ev(evt__buffer=buf))
    assert not flt("evt.buffer startswith POST").match(ev(evt__buffer=buf))


# Several values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "groups", "expected"),
    [
        ("ka.user.groups intersects (admins, x)", ["devs", "admins"], True),
        ("ka.user.groups intersects (ops, x)", ["devs", "admins"], False),
        ("ka.user.groups in (devs, admins, ops)", ["devs", "admins"], True),
        ("ka.user.groups in (devs, ops)", ["devs", "admins"], False),  # every value must be in
        ("ka.user.groups in (devs)", [], True),
        ("ka.user.groups = devs", ["devs"], True),
        ("ka.user.groups = devs", ["devs", "admins"], False),  # the set must be exactly {devs}
        ("ka.user.groups != devs", ["devs", "admins"], True),
        ("ka.user.groups contains dev", ["devs"], True),
        ("ka.user.groups contains dev", ["devs", "admins"], False),  # one value only
        ("ka.user.groups exists", [], False),
        ("tolower(ka.user.groups) in (devs)", ["DEVS"], True),
        ("len(ka.user.groups) = 2", ["a", "b"], True),
    ],
)
def test_list_values_follow_falco(condition: str, groups: list[str], expected: bool) -> None:
    assert flt(condition).match(ev(ka__user__groups=groups)) is expected


def test_list_values_on_scalar_fields() -> None:
    # Multi-valued extraction on a field typed as a string (json sources).
    f = flt("proc.name intersects (bash, sh)")
    assert f.match(ev(proc__name=["zsh", "sh"]))
    assert not flt("proc.name = sh").match(ev(proc__name=["zsh", "sh"]))


def test_json_fields_compare_numbers_and_treat_blank_as_missing() -> None:
    # Falco's k8s audit fields are text; < and > read them as numbers.
    assert flt("ka.response.code >= 400").match(ev(ka__response__code="403"))
    assert not flt("ka.response.code >= 400").match(ev(ka__response__code="99"))
    assert not flt("ka.response.code < 400").match(ev(ka__response__code="abc"))
    assert flt("ka.response.code startswith 2").match(ev(ka__response__code="201"))
    assert not flt("jevt.value[/x] exists").match({"jevt.value[/x]": ""})
    assert flt("jevt.value[/x] exists").match({"jevt.value[/x]": "a"})
    assert flt("proc.name exists").match(ev(proc__name=""))  # syscall fields: "" is a value


# Transformers and val() -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "name", "expected"),
    [
        ("tolower(proc.name) = bash", "BaSh", True),
        ("toupper(proc.name) = BASH", "bash", True),
        ("basename(proc.name) = bash", "/usr/bin/bash", True),
        ("basename(proc.name) = ''", "/usr/bin/", True),
        ("b64(proc.name) = 'hello'", "aGVsbG8=", True),
        ("b64(proc.name) exists", "not base64!", False),
        ("len(proc.name) = 4", "bash", True),
        ("len(proc.name) > 4", "bash", False),
        ("tolower(basename(proc.name)) = bash", "/BIN/BASH", True),
    ],
)
def test_transformers(condition: str, name: str, expected: bool) -> None:
    assert flt(condition).match(ev(proc__name=name)) is expected


def test_val_compares_two_fields() -> None:
    f = flt("proc.name = val(proc.pname)")
    assert f.match(ev(proc__name="bash", proc__pname="bash"))
    assert not f.match(ev(proc__name="bash", proc__pname="sshd"))
    assert not f.match(ev(proc__name="bash"))
    g = flt("proc.pid > val(proc.ppid)")
    assert g.match(ev(proc__pid=10, proc__ppid=1))
    h = flt("proc.cmdline contains val(proc.name)")
    assert h.match(ev(proc__cmdline="bash -c x", proc__name="bash"))


# evttypes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("evt.type = open", {"open"}),
        ("evt.type in (open, openat)", {"open", "openat"}),
        ("evt.type = open or evt.type = close", {"open", "close"}),
        ("evt.type in (open, close) and evt.type in (close, read)", {"close"}),
        ("evt.type = open and proc.name = cat", {"open"}),
        ("(evt.type = open and proc.name = x) or (evt.type = read and fd.name = y)",
         {"open", "read"}),
        ("proc.name = cat", None),
        ("evt.type = open or proc.name = cat", None),
        ("evt.type != open", None),
        ("not evt.type = open", None),
        ("evt.type in ()", set()),
        ("tolower(evt.type) = open", None),
    ],
)  # fmt: skip
def test_evttypes(condition: str, expected: set[str] | None) -> None:
    types = flt(condition).evttypes
    assert (None if types is None else set(types)) == expected


# Errors ---------------------------------------------------------------------------------


def test_unknown_field_comes_from_resolve() -> None:
    with pytest.raises(UnknownFieldError):
        flt("proc.nme = cat")


def test_bad_argument_comes_from_resolve() -> None:
    with pytest.raises(FieldArgumentError):
        flt("proc.name[2] = cat")


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("proc.pid contains 1", "operator 'contains'"),
        ("proc.pid = abc", "not a number"),
        ("proc.pid in (1, x)", "not a number"),
        ("evt.is_open_read = yes", "boolean"),
        ("fd.sip = nohost", "fd.sip"),
        ("fd.sip glob 10.*", "operator 'glob'"),
        ("fd.sport = nosuchservice", "service"),
        ("proc.name bcontains xyz", "hex"),
        ("proc.name regex '('", "regex"),
        ("tolower(proc.pid) = 1", "transformer"),
        ("proc.name = val(proc.pid)", "val("),
        ("proc.name glob val(proc.pname)", "val()"),
    ],
)
def test_type_errors_are_ours_and_clear(condition: str, words: str) -> None:
    with pytest.raises(FilterTypeError) as info:
        flt(condition)
    assert isinstance(info.value, SentryError)
    assert words in str(info.value)
    assert info.value.column >= 1


def test_type_error_points_at_the_comparison() -> None:
    with pytest.raises(FilterTypeError) as info:
        flt("proc.name = a and proc.pid = abc")
    assert info.value.column in (19, 30)


# Against the real sysdig --------------------------------------------------------------------

SYSDIG_CASES = [
    ("cat_write.scap", "evt.type=open"),
    ("cat_write.scap", "evt.type in (open, close) and evt.dir=<"),
    ("cat_write.scap", "not evt.type=open and proc.name=cat"),
    ("cat_write.scap", "proc.name in (cat, bash) and (evt.type=read or evt.type=write)"),
    ("cat_write.scap", "evt.type=open or (evt.type=close and evt.dir=>)"),
    ("cat_write.scap", "proc.name endswith at and not (evt.dir = > or evt.type = brk)"),
    ("cat_write.scap", "fd.name glob /etc/*"),
    ("cat_write.scap", "fd.name glob '/lib/*/libc.so.?'"),
    ("cat_write.scap", "fd.name pmatch (/etc)"),
    ("cat_write.scap", "fd.name pmatch (/et, /usr/lib/locale)"),
    ("cat_write.scap", "fd.name contains ld.so"),
    ("cat_write.scap", "fd.name icontains LD.SO"),
    ("cat_write.scap", "fd.name startswith /lib"),
    ("cat_write.scap", "fd.num > 2 or evt.type = close"),
    ("cat_write.scap", "fd.typechar='f' and evt.is_open_read=true"),
    ("cat_write.scap", "proc.name != cat"),
    ("cat_write.scap", "fd.name != /dev/null"),  # no fd: false, as sysdig's <NA>
    ("cat_write.scap", "not fd.name = /dev/null"),  # ... and true under not
    ("cat_write.scap", "fd.name exists and not fd.name contains lib"),
    ("cat_write.scap", 'fd.name glob "/???/*" or fd.name glob "*[0-9]"'),
    ("cat_write.scap", "evt.type != close and evt.type != open"),
    ("cat_write.scap", "not (evt.type = close or evt.type = open) and thread.tid > 0"),
    ("cat_write.scap", 'proc.cmdline contains "cat " and evt.type in (mmap, brk)'),
    ("connect_localhost.scap", "fd.sip=127.0.0.1"),
    ("connect_localhost.scap", "fd.sip in (127.0.0.1, 10.0.0.1)"),
    ("connect_localhost.scap", "fd.net=127.0.0.0/8"),
    ("connect_localhost.scap", "fd.sport in (80, 8080) and fd.l4proto=tcp"),
    ("connect_localhost.scap", "fd.type=ipv4 and not fd.cip != 127.0.0.1"),
    ("connect_localhost.scap", 'fd.name contains "127.0.0.1:"'),
]


@pytest.mark.sysdig
@pytest.mark.conformance
@pytest.mark.parametrize(("trace", "condition"), SYSDIG_CASES)
def test_same_events_as_sysdig(trace_dir: Path, trace: str, condition: str) -> None:
    """``sentry tail`` selects exactly the events ``sysdig -r`` selects with the filter."""
    from sentry.cli.tail import compile_tail_filter, open_capture, selected_events

    path = str(trace_dir / trace)
    done = subprocess.run(
        ["sysdig", "-r", path, "-p", "%evt.num", condition],
        capture_output=True, text=True, env={**os.environ, "TZ": "UTC"}, check=True,
    )  # fmt: skip
    assert not done.stderr.strip()
    expected = {int(n) for n in done.stdout.split()}
    source, inspector = open_capture(path)
    try:
        ours = {ev.num for ev in selected_events(source, inspector, compile_tail_filter(condition))}
    finally:
        source.close()
    assert ours == expected


def test_memberships_on_one_field_merge_into_one_lookup() -> None:
    f = flt("proc.name = a or proc.pid = 1 or proc.name in (b, c) or proc.name = d")
    calls.clear()
    assert not f.match(ev(proc__name="x", proc__pid=2))
    assert calls == ["proc.name", "proc.pid"]
    assert all(f.match(ev(proc__name=n)) for n in "abcd")
    g = flt("not proc.name = a and not proc.name in (b, c) and proc.pid = 1")
    calls.clear()
    assert not g.match(ev(proc__name="b", proc__pid=1))
    assert calls == ["proc.name"]
    assert g.match(ev(proc__name="x", proc__pid=1))
    assert g.match(ev(proc__pid=1))  # a missing name is in no set


def test_list_fields_do_not_merge() -> None:
    # For several values "in" needs all of them inside: merging would change the result.
    f = flt("ka.user.groups in (a) or ka.user.groups in (b)")
    assert not f.match(ev(ka__user__groups=["a", "b"]))


# Against a plain interpreter of the language ------------------------------------------------

_REF_FIELDS = {"proc.name": "str", "fd.name": "str", "proc.pid": "int", "ka.user.groups": "list"}
_WORDS = ["a", "b", "ab", "ba"]


def _ref_single(op: str, v: Any, consts: list[Any]) -> bool:
    c = consts[0] if consts else None
    if op == "=":
        return bool(v == c)
    if op == "!=":
        return bool(v != c)
    if op in ("in", "intersects"):
        return v in consts
    if op == "<":
        return bool(v < c)
    if op == ">":
        return bool(v > c)
    if op == "contains":
        return bool(c in v)
    if op == "startswith":
        return bool(v.startswith(c))
    if op == "endswith":
        return bool(v.endswith(c))
    if op == "icontains":
        return bool(c.lower() in v.lower())
    if op == "glob":
        return fnmatch.fnmatchcase(v, c)
    raise AssertionError(op)


def _ref_eval(node: Any, event: dict[str, Any]) -> bool:
    """The language's meaning, written as directly as possible."""
    from sentry.rules.ast import And, Compare, Not, Or, ValueList

    if isinstance(node, And):
        return all(_ref_eval(a, event) for a in node.args)
    if isinstance(node, Or):
        return any(_ref_eval(a, event) for a in node.args)
    if isinstance(node, Not):
        return not _ref_eval(node.arg, event)
    assert isinstance(node, Compare)
    v = event.get(node.lhs.name)
    op = node.op
    if v is None:
        return False
    if op == "exists":
        return not isinstance(v, list) or len(v) > 0
    items = node.rhs.items if isinstance(node.rhs, ValueList) else [node.rhs]
    kind = _REF_FIELDS[node.lhs.name]
    consts = [int(i.text) if kind == "int" else i.text for i in items]
    if op in ("in", "intersects") and not consts:
        return False
    if isinstance(v, list):
        if op == "=":
            return len(v) > 0 and all(x == consts[0] for x in v)
        if op == "!=":
            return not (len(v) > 0 and all(x == consts[0] for x in v))
        if op == "in":
            return all(x in consts for x in v)
        if op == "intersects":
            return any(x in consts for x in v)
        return len(v) == 1 and _ref_single(op, v[0], consts)
    return _ref_single(op, v, consts)


@st.composite
def _ref_condition(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["cmp", "cmp", "and", "or", "not"] if depth < 3 else ["cmp"]))
    if kind == "not":
        return f"not ({draw(_ref_condition(depth + 1))})"
    if kind in ("and", "or"):
        parts = draw(st.lists(_ref_condition(depth + 1), min_size=2, max_size=4))
        return f" {kind} ".join(f"({p})" for p in parts)
    name = draw(st.sampled_from(sorted(_REF_FIELDS)))
    kind_of = _REF_FIELDS[name]
    ops = ["=", "!=", "in", "intersects", "exists", "<", ">"]
    if kind_of != "int":
        ops += ["contains", "startswith", "endswith", "icontains", "glob"]
    if kind_of == "list":
        ops = [o for o in ops if o not in ("<", ">")]
    op = draw(st.sampled_from(ops))
    words = [*_WORDS, "A", "a*", "?b", "*"] if op in ("glob", "icontains") else _WORDS
    value = st.integers(-2, 2).map(str) if kind_of == "int" else st.sampled_from(words)
    if op == "exists":
        return f"{name} exists"
    if op in ("in", "intersects"):
        return f"{name} {op} ({', '.join(draw(st.lists(value, max_size=3)))})"
    return f"{name} {op} {draw(value)}"


_ref_events = st.fixed_dictionaries(
    {},
    optional={
        "proc.name": st.sampled_from(_WORDS),
        "fd.name": st.sampled_from(_WORDS),
        "proc.pid": st.integers(-2, 2),
        "ka.user.groups": st.lists(st.sampled_from(_WORDS), max_size=3),
    },
)


@given(_ref_condition(), st.lists(_ref_events, min_size=1, max_size=5))
def test_compiled_filters_agree_with_a_plain_interpreter(
    text: str, events: list[dict[str, Any]]
) -> None:
    f = flt(text)
    tree = parse_condition(text)
    for event in events:
        assert f.match(event) == _ref_eval(tree, event), (text, event)


def test_type_error_shows_the_condition_with_a_pointer() -> None:
    with pytest.raises(FilterTypeError) as info:
        flt("proc.name = a and proc.pid = abc")
    lines = str(info.value).splitlines()
    assert lines[1].strip() == "proc.name = a and proc.pid = abc"
    assert lines[2].index("^") == lines[1].index("abc")
