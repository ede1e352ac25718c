"""Operator building blocks: glob against the C library's fnmatch, pmatch, constants, lists."""

from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sentry.fields.registry import FieldType
from sentry.rules.operators import (
    FilterTypeError,
    PathPrefixSet,
    check_operator,
    convert_constant,
    glob_to_regex,
    multi_test,
    scalar_test,
)

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.fnmatch.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]


def libc_glob(pattern: str, text: str) -> bool:
    """What sysdig's ``glob`` does: fnmatch(3) with no flags."""
    return _libc.fnmatch(pattern.encode(), text.encode(), 0) == 0


def our_glob(pattern: str, text: str) -> bool:
    return re.fullmatch(glob_to_regex(pattern), text, re.DOTALL) is not None


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("/etc/*", "/etc/ssh/sshd_config"),
        ("*.conf", ".hidden.conf"),
        ("?at", "cat"),
        ("[a-c]at", "bat"),
        ("[!a-c]at", "bat"),
        ("[^a-c]at", "rat"),
        ("[]]x", "]x"),
        ("[a-]x", "-x"),
        ("a\\*b", "a*b"),
        ("a\\*b", "axb"),
        ("[abc", "[abc"),
        ("*", ""),
        ("**a", "ba"),
        ("a.b", "axb"),
        ("(x)+", "(x)+"),
        ("[[-?]", "["),
        ("[b-a]", "a"),
        ("[a\\]]x", "]x"),
        ("a\\", "a\\"),
    ],
)
def test_glob_agrees_with_fnmatch_examples(pattern: str, text: str) -> None:
    assert our_glob(pattern, text) == libc_glob(pattern, text)


_member = st.sampled_from(list("ab/.x-!^]")) | st.builds(
    lambda lo, hi: f"{lo}-{hi}", st.sampled_from(list("a.x/")), st.sampled_from(list("bx/-"))
)
_bracket = st.builds(
    lambda neg, members: "[" + neg + "".join(members) + "]",
    st.sampled_from(["", "!", "^"]),
    st.lists(_member, min_size=1, max_size=3),
)
_glob_token = st.sampled_from([*"ab/.*?x-]!^", "\\*", "\\[", "\\a"]) | _bracket
# Well-formed patterns: glibc's handling of unclosed brackets and [. [: [= inside
# brackets is left out (nobody writes those in a rule).
_patterns = st.lists(_glob_token, max_size=6).map("".join)


@given(_patterns, st.text("ab/.x-][\\!^*", max_size=7))
def test_glob_agrees_with_fnmatch(pattern: str, text: str) -> None:
    # Brackets side by side can form '[.' inside a bracket ("[!]" + "[.]"): left out as above.
    assume(not any(f"[{c}" in pattern[1:] for c in ".:="))
    assert our_glob(pattern, text) == libc_glob(pattern, text)


def test_path_prefix_set_matches_whole_components() -> None:
    prefixes = PathPrefixSet(["/etc", "/usr/lib/", "/var/run/docker.sock"])
    assert prefixes.match("/etc")
    assert prefixes.match("/etc/passwd")
    assert prefixes.match("/usr/lib/x/y")
    assert prefixes.match("/var/run/docker.sock")
    assert not prefixes.match("/etcd")
    assert not prefixes.match("/usr/libexec")
    assert not prefixes.match("/usr")
    assert not prefixes.match("/var/run/docker")
    assert not prefixes.match("relative/etc")


def test_empty_path_prefix_set_matches_nothing() -> None:
    assert not PathPrefixSet([]).match("/etc")


@pytest.mark.parametrize(
    ("text", "ftype", "expected"),
    [
        ("42", FieldType.INT, 42),
        ("-1", FieldType.INT, -1),
        ("0x1f", FieldType.INT, 31),
        ("1000000000", FieldType.RELTIME, 1_000_000_000),
        ("ssh", FieldType.PORT, 22),
        ("8080", FieldType.PORT, 8080),
        ("true", FieldType.BOOL, True),
        ("FALSE", FieldType.BOOL, False),
        ("10.0.0.1", FieldType.IPADDR, ipaddress.ip_address("10.0.0.1")),
        ("10.0.0.1/8", FieldType.IPADDR, ipaddress.ip_network("10.0.0.0/8")),
        ("fe80::1", FieldType.IPADDR, ipaddress.ip_address("fe80::1")),
        ("192.168.0.0/16", FieldType.IPNET, ipaddress.ip_network("192.168.0.0/16")),
        ("192.168.1.1", FieldType.IPNET, ipaddress.ip_network("192.168.1.1/32")),
        ("abc", FieldType.STRING, "abc"),
        ("abc", FieldType.BYTES, b"abc"),
    ],
)
def test_constants_follow_the_field_type(text: str, ftype: FieldType, expected: object) -> None:
    assert convert_constant(text, ftype, "=", "f.x", 1) == expected


def test_binary_operators_take_hex() -> None:
    assert convert_constant("0a0B", FieldType.STRING, "bcontains", "f.x", 1) == b"\n\x0b"
    with pytest.raises(FilterTypeError):
        convert_constant("zz", FieldType.BYTES, "bstartswith", "f.x", 1)


@pytest.mark.parametrize(
    ("text", "ftype"),
    [("1.5", FieldType.INT), ("", FieldType.INT), ("yes", FieldType.BOOL),
     ("300.1.1.1", FieldType.IPADDR), ("10.0.0.0/33", FieldType.IPNET)],
)  # fmt: skip
def test_bad_constants_raise_with_the_column(text: str, ftype: FieldType) -> None:
    with pytest.raises(FilterTypeError) as info:
        convert_constant(text, ftype, "=", "f.x", 7)
    assert info.value.column == 7
    assert "f.x" in str(info.value)


@pytest.mark.parametrize(
    ("op", "ftype"),
    [("contains", FieldType.INT), ("startswith", FieldType.PORT), ("glob", FieldType.BOOL),
     ("<", FieldType.IPADDR), ("pmatch", FieldType.IPNET), ("pmatch", FieldType.BYTES)],
)  # fmt: skip
def test_operators_not_meant_for_a_type(op: str, ftype: FieldType) -> None:
    with pytest.raises(FilterTypeError):
        check_operator(op, ftype, "f.x", 3)


@pytest.mark.parametrize(
    ("op", "ftype"),
    [("=", FieldType.INT), ("in", FieldType.PORT), ("exists", FieldType.BOOL),
     ("!=", FieldType.IPADDR), ("glob", FieldType.STRING), ("pmatch", FieldType.LIST),
     ("bcontains", FieldType.BYTES)],
)  # fmt: skip
def test_operators_meant_for_a_type(op: str, ftype: FieldType) -> None:
    check_operator(op, ftype, "f.x", 3)


def test_ordering_of_mismatched_kinds_is_false_not_an_error() -> None:
    assert scalar_test("<", FieldType.STRING, ["b"])("a")
    assert not scalar_test("<", FieldType.STRING, ["b"])(3)


def test_multi_value_rules() -> None:
    in_ab = multi_test("in", scalar_test("in", FieldType.STRING, ["a", "b"]))
    assert in_ab(["a", "b", "a"])
    assert not in_ab(["a", "c"])
    assert in_ab([])
    any_ab = multi_test("intersects", scalar_test("intersects", FieldType.STRING, ["a", "b"]))
    assert any_ab(["c", "b"])
    assert not any_ab([])
    eq_a = multi_test("=", scalar_test("=", FieldType.STRING, ["a"]))
    assert eq_a(["a", "a"])
    assert not eq_a(["a", "b"])
    assert not eq_a([])
    ne_a = multi_test("!=", scalar_test("=", FieldType.STRING, ["a"]))
    assert ne_a(["a", "b"])
    assert not ne_a(["a"])
    starts = multi_test("startswith", scalar_test("startswith", FieldType.STRING, ["a"]))
    assert starts(["ab"])
    assert not starts(["ab", "ac"])
