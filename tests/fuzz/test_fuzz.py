"""Fuzzing the parts that read what others write: rules YAML, conditions, webhook bodies,
capture files. Only our own errors may escape (SentryError and its kinds), never another
exception. Bounded in CI (SENTRY_FUZZ_EXAMPLES, default 200 examples per target); set it
higher for a longer run."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentry.capture.k8saudit import AuditFormatError, parse_body
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.errors import CaptureError, SentryError
from sentry.rules.loader import RulesLoader
from sentry.rules.parser import parse_condition
from sentry.rules.ruleset import compile_rules

EXAMPLES = int(os.environ.get("SENTRY_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_WORDS = [
    "evt.type",
    "proc.name",
    "fd.name",
    "=",
    "!=",
    "in",
    "and",
    "or",
    "not",
    "(",
    ")",
    ",",
    "'",
    '"',
    "open",
    "m",
    "startswith",
    "exists",
    "tolower(",
    "val(",
    "[",
    "]",
    "contains",
    "/etc",
    "\\",
    "glob",
    "pmatch",
    "x.y[1]",
]


@FUZZ
@given(st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join) | st.text(max_size=200))
def test_condition_parser_raises_only_its_own_errors(text: str) -> None:
    with contextlib.suppress(SentryError):
        parse_condition(text)


_YAML_BITS = [
    "- rule: r\n",
    "- macro: m\n",
    "- list: l\n",
    "  condition: ",
    "  output: ",
    "  desc: d\n",
    "  priority: WARNING\n",
    "  items: ",
    "[a, b]\n",
    "{a: b}\n",
    "evt.type = open\n",
    "m\n",
    "&a x\n",
    "*a\n",
    "  append: true\n",
    "  tags: ",
    "  exceptions:\n",
    "    - name: e\n",
    "      fields: [proc.name]\n",
    "      values: [[a]]\n",
    "---\n",
    "  enabled: false\n",
    "!!binary x\n",
    "'\n",
    "  override: {condition: append}\n",
    "<<: *a\n",
    "- required_engine_version: 9\n",
]


@FUZZ
@given(st.lists(st.sampled_from(_YAML_BITS), max_size=30).map("".join) | st.text(max_size=300))
def test_rules_loader_reports_problems_never_raises(text: str) -> None:
    loader = RulesLoader()
    loader.load_text(text, "fuzz.yaml")
    with contextlib.suppress(SentryError):
        compile_rules(loader.defs)


@FUZZ
@given(
    st.binary(max_size=400)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda kids: (
            st.lists(kids, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "kind",
                        "items",
                        "verb",
                        "user",
                        "objectRef",
                        "apiVersion",
                        "stageTimestamp",
                        "responseStatus",
                    ]
                ),
                kids,
                max_size=5,
            )
        ),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode())
)
def test_webhook_body_parser_raises_only_audit_format_errors(body: bytes) -> None:
    with contextlib.suppress(AuditFormatError):
        parse_body(body)


@pytest.fixture(scope="module")
def capture_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("fuzz") / "base.scap"
    with ScapWriter(path) as w:
        for i in range(20):
            w.write_event("open<", 3, f"/etc/f{i}", 1, 0, 0, ts=10 + i, tid=1)
            w.write_event("close>", 3, ts=11 + i, tid=1)
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_scap_reader_raises_only_capture_errors(
    tmp_path: Path, capture_bytes: bytes, data: st.DataObject
) -> None:
    raw = bytearray(capture_bytes)
    for _ in range(data.draw(st.integers(0, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = tmp_path / "f.scap"
    path.write_bytes(bytes(raw))
    try:
        for evt in ScapReader(path):
            for i in range(evt.nparams):
                evt.param(i)
    except CaptureError:
        pass
