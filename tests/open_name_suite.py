"""Shared by both drivers (tests/ebpf/test_ebpf_open_name.py, tests/kmod/test_kmod_open_name.py,
with their ``live_source``). An open whose path the driver cannot read: openat() of a FIFO
for writing blocks until a reader comes, and meanwhile another thread unmaps the page that
held the path, so at the syscall's exit the path's memory is gone (the kernel read it at
the start of the call).

The driver then takes the name from the file the call opened (its path, from the returned
descriptor); and when no name is known at all, the inspector leaves the fd's name unknown
instead of resolving "" against the cwd (which made "File Written Below Root Or Root Home"
fire with file=/ for this host's daemon)."""

from __future__ import annotations

from pathlib import Path

from driver_cases import run_trigger

OPENAT_X = 307  # PPME_SYSCALL_OPENAT_2_X

TRIGGER = """
import threading, time
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.openat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
fifo = os.path.join(W, "unreadable-fifo")
os.mkfifo(fifo, 0o600)
page = libc.mmap(None, 4096, 3, 0x22, -1, 0)  # PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS
ctypes.memmove(page, fifo.encode() + b"\\0", len(fifo) + 1)

def reader():
    time.sleep(0.5)
    assert libc.munmap(page, 4096) == 0
    os.close(os.open(fifo, os.O_RDONLY))  # lets the writer's open return

t = threading.Thread(target=reader)
t.start()
fd = libc.openat(-100, page, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t.join()
print("fd", fd)
"""


def test_open_whose_path_is_unmapped_at_exit_names_the_opened_file(
    live_source: object, tmp_path: Path
) -> None:
    cap = run_trigger(live_source, TRIGGER, tmp_path)
    assert "fd 3" in cap.output or "fd " in cap.output, cap.output
    fd = int(cap.output.split("fd ", 1)[1].split()[0])
    assert fd >= 0, cap.output
    exits = [
        ev
        for ev in cap.events
        if ev.type == OPENAT_X
        and ev.param_by_name("fd") == fd
        and ev.param_by_name("flags") is not None
    ]
    fifo = str(tmp_path / "unreadable-fifo")
    # Our openat's exit: the last open exit of that fd asking to create.
    ours = [ev for ev in exits if ev.param_by_name("name") in (fifo, "", None)][-1:]
    assert [ev.param_by_name("name") for ev in ours] == [fifo], [
        (ev.param_by_name("name"), ev.param_by_name("flags")) for ev in exits[-3:]
    ]
