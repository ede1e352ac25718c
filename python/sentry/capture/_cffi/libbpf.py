"""A small cffi (ABI mode) binding of libbpf.so.1: open, size, load and attach a BPF object.

Only what the eBPF source needs. Every failure becomes a :class:`DriverError` naming the
step and the kernel's reason; libbpf's own log (the verifier's on a load failure) is kept
and attached to the error rather than printed.
"""

from __future__ import annotations

import errno
import functools
import os
from typing import Any

import cffi

from sentry.errors import DriverError

_CDEF = """
struct bpf_object;
struct bpf_program;
struct bpf_map;
struct bpf_link;
typedef int (*libbpf_print_fn_t)(int level, const char *fmt, void *args);
libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn);
struct bpf_object *bpf_object__open_file(const char *path, const void *opts);
int bpf_object__load(struct bpf_object *obj);
void bpf_object__close(struct bpf_object *obj);
struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj, const char *name);
struct bpf_map *bpf_object__next_map(const struct bpf_object *obj, const struct bpf_map *map);
struct bpf_program *bpf_object__next_program(const struct bpf_object *obj,
                                             struct bpf_program *prog);
const char *bpf_program__name(const struct bpf_program *prog);
int bpf_program__set_autoload(struct bpf_program *prog, bool autoload);
int bpf_program__fd(const struct bpf_program *prog);
int bpf_obj_get_info_by_fd(int bpf_fd, void *info, uint32_t *info_len);
struct bpf_link *bpf_program__attach(const struct bpf_program *prog);
int bpf_link__destroy(struct bpf_link *link);
const char *bpf_map__name(const struct bpf_map *map);
int bpf_map__fd(const struct bpf_map *map);
int bpf_map__set_max_entries(struct bpf_map *map, uint32_t max_entries);
int bpf_map__set_inner_map_fd(struct bpf_map *map, int fd);
void *bpf_map__initial_value(struct bpf_map *map, size_t *psize);
uint32_t bpf_map__value_size(const struct bpf_map *map);
int bpf_map_create(int map_type, const char *map_name, uint32_t key_size, uint32_t value_size,
                   uint32_t max_entries, const void *opts);
int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags);
int bpf_map_lookup_elem(int fd, const void *key, void *value);
int bpf_map_delete_elem(int fd, const void *key);
long libbpf_get_error(const void *ptr);
struct btf;
struct btf *btf__load_vmlinux_btf(void);
int btf__find_by_name_kind(const struct btf *btf, const char *type_name, uint32_t kind);
void btf__free(struct btf *btf);
int libbpf_num_possible_cpus(void);
int vsnprintf(char *str, size_t size, const char *fmt, void *ap);
int close(int fd);
"""

BPF_MAP_TYPE_RINGBUF = 27
BTF_KIND_FUNC = 12

ffi = cffi.FFI()
ffi.cdef(_CDEF)

_lib: Any = None
_log: list[str] = []


_LOG_CHUNK = 1 << 23  # the verifier's log arrives as one message of up to megabytes
_alloc = ffi.new_allocator(should_clear_after_alloc=False)


LIBBPF_DEBUG = 2


def _print(level: int, fmt: Any, args: Any) -> int:
    if level >= LIBBPF_DEBUG:  # warnings and info carry the verifier's verdict; skip debug
        return 0
    buf = _alloc("char[]", _LOG_CHUNK)
    _libc.vsnprintf(buf, _LOG_CHUNK, fmt, args)
    text = ffi.string(buf).decode(errors="replace")
    _log.append(text[-20000:])
    del _log[:-400]  # keep the tail: the verifier's last lines say what failed
    return 0


_print_cb = ffi.callback("int(int, const char *, void *)", _print)
_libc: Any = ffi.dlopen(None)


def lib() -> Any:
    """libbpf.so.1, opened once; DriverError when it is not installed."""
    global _lib
    if _lib is None:
        try:
            _lib = ffi.dlopen("libbpf.so.1")
        except OSError as err:
            raise DriverError(
                f"eBPF: libbpf.so.1 not found ({err}); install libbpf1 (Debian/Ubuntu) or "
                "libbpf (Fedora)"
            ) from None
        _lib.libbpf_set_print(_print_cb)
    return _lib


def take_log() -> str:
    """libbpf's messages since the last call (verifier output on a failed load)."""
    text = "".join(_log)
    _log.clear()
    return text


@functools.cache
def kernel_has_kfunc(name: str) -> bool:
    """Whether the running kernel's BTF (/sys/kernel/btf/vmlinux) has kernel function
    name: where libbpf looks for a program's kfuncs."""
    btf = lib().btf__load_vmlinux_btf()
    if btf == ffi.NULL:
        take_log()
        return False
    try:
        return lib().btf__find_by_name_kind(btf, name.encode(), BTF_KIND_FUNC) > 0
    finally:
        lib().btf__free(btf)


def check(ret: int, what: str) -> int:
    """ret as a libbpf return code: negative errno -> DriverError."""
    if ret < 0:
        code = -ret
        name = errno.errorcode.get(code, str(code))
        raise DriverError(f"eBPF: {what} failed: {os.strerror(code)} ({name})")
    return ret


def check_ptr(ptr: Any, what: str) -> Any:
    """A libbpf pointer result: NULL -> DriverError carrying errno."""
    if ptr == ffi.NULL:
        code = ffi.errno or errno.EINVAL
        log = take_log().strip()
        detail = f"\n{log[-3000:]}" if log else ""
        raise DriverError(f"eBPF: {what} failed: {os.strerror(code)}{detail}")
    return ptr


def find_map(lib: Any, obj: Any, suffix: str) -> Any:
    """The map whose name ends with suffix (libbpf prefixes data sections' names)."""
    m = lib.bpf_object__next_map(obj, ffi.NULL)
    while m != ffi.NULL:
        if ffi.string(lib.bpf_map__name(m)).decode().endswith(suffix):
            return m
        m = lib.bpf_object__next_map(obj, m)
    raise DriverError(f"eBPF object has no {suffix} section")


def section_bytes(lib: Any, obj: Any, suffix: str) -> bytes:
    size = ffi.new("size_t *")
    ptr = lib.bpf_map__initial_value(find_map(lib, obj, suffix), size)
    return bytes(ffi.buffer(ptr, size[0]))
