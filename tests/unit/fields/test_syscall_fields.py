"""The syscall field families: registration, errors, and values on a real trace."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sentry.capture.scapreader import ScapReader
from sentry.errors import FieldArgumentError, UnknownFieldError
from sentry.fields.registry import AnyOf, FieldType, all_fields, resolve
from sentry.inspect.inspector import Inspector
from sentry.rules.compiler import compile_filter

FAMILIES = ("evt.", "proc.", "thread.", "fd.", "user.", "group.", "container.")


def events_of(path: Path) -> list:
    reader = ScapReader(path)
    inspector = Inspector.from_capture(reader)
    out = []
    for ev in reader:
        inspector.process(ev)
        out.append(ev.detach())
    return out


@pytest.fixture(scope="module")
def cat_events(trace_dir: Path) -> list:
    return events_of(trace_dir / "cat_write.scap")


def by_num(events: list, num: int):
    return next(e for e in events if e.num == num)


def test_every_family_registers_fields() -> None:
    names = all_fields()
    for prefix in FAMILIES:
        assert sum(1 for n in names if n.startswith(prefix)) >= 2, prefix
    assert names["fd.sip"].type is FieldType.IPADDR
    assert names["proc.aname"].type is FieldType.STRING


def test_unknown_field_suggests_near_names() -> None:
    with pytest.raises(UnknownFieldError) as err:
        resolve("proc.nmae")
    assert "proc.name" in err.value.suggestions


def test_argument_errors_are_ours() -> None:
    with pytest.raises(FieldArgumentError):
        resolve("proc.aname", "x")
    with pytest.raises(FieldArgumentError):
        resolve("evt.arg")
    assert resolve("evt.arg.fd").name == "evt.arg.fd"


def test_process_values_after_execve(cat_events: list) -> None:
    ev = by_num(cat_events, 141)  # open exit of /etc/ld.so.cache by cat
    get = lambda name, arg=None: resolve(name, arg).extract(ev)  # noqa: E731
    assert (get("proc.name"), get("proc.pid"), get("proc.ppid")) == ("cat", 20072, 11310)
    assert get("proc.cmdline") == "cat /dev/null" and get("proc.pname") == "bash"
    assert get("proc.aname", "2") == "emacs" and get("proc.apid", "0") == 20072
    assert isinstance(get("proc.aname"), AnyOf) and "bash" in get("proc.aname")
    assert get("fd.name") == "/etc/ld.so.cache" and get("fd.typechar") == "f"
    assert get("fd.directory") == "/etc" and get("fd.filename") == "ld.so.cache"
    assert get("evt.is_open_read") is True and get("evt.res") == "SUCCESS"
    assert get("evt.arg", "flags") == "O_RDONLY|O_CLOEXEC"
    assert get("evt.rawarg", "name") == "/etc/ld.so.cache"
    assert get("user.loginuid") == -1 and get("user.name") is None
    assert get("container.id") == "host" and get("container.name") == "host"
    assert get("thread.ismain") is True and get("proc.vpid") is None


def test_filters_use_the_fields(cat_events: list) -> None:
    flt = compile_filter("proc.aname = bash and fd.directory = /etc and evt.dir = <")
    nums = [e.num for e in cat_events if flt.match(e)]
    assert 141 in nums and all(by_num(cat_events, n).info.direction == "<" for n in nums)
    assert not any(compile_filter("proc.aname = cat").match(e) for e in cat_events)


def test_tail_prints_json_and_skips_missing_fields(trace_dir: Path) -> None:
    from sentry.cli.tail import tail

    out = io.StringIO()
    tail("evt.type = open and evt.dir = <", str(trace_dir / "cat_write.scap"), None, True, out)
    import orjson

    first = orjson.loads(out.getvalue().splitlines()[0])
    assert first["evt.type"] == "open" and first["proc.name"] == "cat"
    assert first["evt.num"] == 141
    # Without '*', events lacking a field are not printed (sysdig's -p rule).
    strict, loose = io.StringIO(), io.StringIO()
    path = str(trace_dir / "cat_write.scap")
    tail(None, path, "%evt.num %fd.name", False, strict)
    tail(None, path, "*%evt.num %fd.name", False, loose)
    assert 0 < len(strict.getvalue().splitlines()) < len(loose.getvalue().splitlines())


def test_tail_colours_only_on_a_terminal(trace_dir: Path) -> None:
    from sentry.cli.tail import tail

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Terminal(), io.StringIO()
    path = str(trace_dir / "syscall.scap")
    tail("evt.type = open", path, None, False, tty)
    tail("evt.type = open", path, None, False, pipe)
    assert "\x1b[" in tty.getvalue() and "\x1b[" not in pipe.getvalue()
