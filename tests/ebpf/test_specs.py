"""The probe's syscall table agrees with the event table and the syscall map (no root needed)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from driver_cases import FIXED_SIZES
from needs import missing
from sentry.errors import DriverError
from sentry.events.syscalls import X86_64_SYSCALLS
from sentry.events.table import EVENTS

H_TABLE = 0
VARIABLE = 0  # recipe size 0: a string, buffer, address or tuple

# The probe's syscall table (driver/include/sentry_syscall_specs.h:
# struct sentry_syscall_spec[], section .rodata.specs), read from the object file with the
# loader's own section reader.
SPEC_MAX_PARAMS = 14
_EVENT_SPEC = struct.Struct(f"<HBB{4 * SPEC_MAX_PARAMS}s")
_SYSCALL_SPEC = struct.Struct(f"<{_EVENT_SPEC.size}s{_EVENT_SPEC.size}sI")


class EventRecipe(NamedTuple):
    type: int
    nparams: int
    handler: int
    params: tuple[tuple[int, int, int, int], ...]  # (kind, arg, size, aux)


class SyscallRecipe(NamedTuple):
    nr: int
    enter: EventRecipe
    exit: EventRecipe


def _recipe(raw: bytes) -> EventRecipe:
    etype, n, handler, params = _EVENT_SPEC.unpack(raw)
    quads = tuple(
        (params[4 * i], params[4 * i + 1], params[4 * i + 2], params[4 * i + 3])
        for i in range(min(n, SPEC_MAX_PARAMS))
    )
    return EventRecipe(etype, n, handler, quads)


def syscall_recipes(lib: Any, path: Path) -> dict[int, SyscallRecipe]:
    """The probe's table of syscalls with a dedicated event, read from the object file."""
    from sentry.capture._cffi.libbpf import ffi, section_bytes

    obj = lib.bpf_object__open_file(str(path).encode(), ffi.NULL)
    assert obj != ffi.NULL, f"cannot open {path}"
    try:
        data = section_bytes(lib, obj, ".rodata.specs")
    finally:
        lib.bpf_object__close(obj)
    out = {}
    for nr in range(len(data) // _SYSCALL_SPEC.size):
        enter, exit_, defined = _SYSCALL_SPEC.unpack_from(data, nr * _SYSCALL_SPEC.size)
        if defined:
            out[nr] = SyscallRecipe(nr, _recipe(enter), _recipe(exit_))
    return out


@pytest.fixture(scope="module")
def recipes() -> dict:
    from sentry.capture import bpfobject
    from sentry.capture._cffi.libbpf import lib

    try:
        path = bpfobject.object_path()
    except DriverError as err:
        if "needs" in str(err):
            missing(str(err))
        raise
    return syscall_recipes(lib(), path)


def test_every_dedicated_syscall_has_a_recipe(recipes: dict) -> None:
    missing = [
        sc.name
        for nr, sc in X86_64_SYSCALLS.items()
        if sc.enter_event and nr < 512 and nr not in recipes
    ]
    assert missing == []


def test_recipes_use_the_syscall_maps_events(recipes: dict) -> None:
    for nr, rec in recipes.items():
        sc = X86_64_SYSCALLS[nr]
        assert rec.enter.type == sc.enter_event, sc.name
        assert rec.exit.type == sc.enter_event + 1, sc.name


def test_recipe_parameters_match_the_event_table(recipes: dict) -> None:
    for nr, rec in recipes.items():
        for recipe in (rec.enter, rec.exit):
            if recipe.handler != H_TABLE:
                continue
            info = EVENTS[recipe.type]
            name = f"{X86_64_SYSCALLS[nr].name} {info.name}{info.direction}"
            # exactly the table's parameters, in its order (the module's layouts)
            assert recipe.nparams == len(info.params), name
            for (kind, _arg, size, _aux), pinfo in zip(recipe.params, info.params, strict=True):
                want = FIXED_SIZES.get(pinfo.type)
                if want is not None:
                    assert size == want, f"{name} {pinfo.name}: {size} bytes, want {want}"
                else:
                    assert kind and size in (VARIABLE, 1, 9), f"{name} {pinfo.name}"
