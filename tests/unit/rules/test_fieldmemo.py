"""FieldMemo: one extraction per field and event, shared by every rule of a ruleset."""

from __future__ import annotations

from sentry.rules.fieldmemo import FieldMemo


def test_field_memo_extracts_once_per_event_and_refreshes_per_event() -> None:
    calls: list[int] = []

    class Ev:
        def __init__(self, num: int):
            self.num = num

    memo = FieldMemo()
    extract = memo._cached("x.y", lambda ev: calls.append(ev.num) or ev.num * 10)
    first, second = Ev(1), Ev(2)
    assert [extract(first), extract(first), extract(second), extract(second)] == [10, 10, 20, 20]
    assert calls == [1, 2]
    assert memo.resolve("proc.name").extract is not None
