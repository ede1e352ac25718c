"""Cost of the container fields: a replay whose processes run in containers.

Builds CONT.scap from the Falco conformance traces (as bench/replay.py does), with every
process placed in one of a few Docker containers (cgroups in the process list) and the
containers' metadata recorded as sysdig's container JSON events. Then, same run:

* ``tail``      ``sentry tail -e CONT -p BASE FILTER``: no container field;
* ``tail-c``    the same with ``%container.name %container.image.repository %k8s.pod.name
                %container.label[team]`` appended;
* ``sysdig-c``  ``sysdig -r CONT -p`` that container format, for reference;
* ``inspect``   the inspector over CONT in-process, no resolvers;
* ``inspect-h`` the same with resolvers attached whose Docker sockets accept and never
                answer (every container id is handed to them): what a hung runtime costs
                the event path.

Prints CPU seconds, the per-printed-event cost of the container fields and the ratios.
Usage: python bench/containers.py [--events N] [--keep PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.events.table import EVENTS
from sentry.inspect.containers import ContainerInfo, PodInfo, to_scap_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay import trace_records  # bench/ is a folder of scripts, not a package

N_CONTAINERS = 8
BASE = "%evt.num %proc.name %evt.type %fd.name"
WITH = BASE + " %container.name %container.image.repository %k8s.pod.name %container.label[team]"
FILTER = "evt.type in (open, openat) and evt.dir=<"


def _cid(i: int) -> str:
    return f"{i:02x}" * 32


def _in_container(record: bytes) -> bytes:
    """``record`` with its cgroups parameter (clone/execve exits) moved into a container."""
    etype = struct.unpack_from("<H", record, 20)[0]
    info = EVENTS.get(etype)
    names = [p.name for p in info.params] if info is not None else []
    if "cgroups" not in names:
        return record
    n = struct.unpack_from("<I", record, 22)[0]
    fmt, size = ("I", 4) if info.large_payload else ("H", 2)  # type: ignore[union-attr]
    lens = list(struct.unpack_from(f"<{n}{fmt}", record, 26))
    pos = 26 + n * size
    raws = []
    for ln in lens:
        raws.append(record[pos : pos + ln])
        pos += ln
    i = names.index("cgroups")
    tid = struct.unpack_from("<Q", record, 8)[0]
    raws[i] = f"cpu=/docker/{_cid(tid % N_CONTAINERS)}".encode() + b"\0"
    lens[i] = len(raws[i])
    body = struct.pack(f"<{n}{fmt}", *lens) + b"".join(raws)
    return record[:8] + record[8:16] + struct.pack("<I", 26 + len(body)) + record[20:26] + body


def build(path: Path, target: int, recorded: bool = True) -> int:
    records, base, meta = trace_records(_in_container)
    threads = [
        dataclasses.replace(t, cgroups=[f"cpu=/docker/{_cid(t.tid % N_CONTAINERS)}"])
        for t in meta.threads.values()
    ]
    first_ts = 1_700_000_000_000_000_000
    written = 0
    with ScapWriter(
        path,
        machine=meta.machine,
        threads=threads,
        fds=meta.fds,
        users=meta.users,
        groups=meta.groups,
        interfaces=meta.interfaces,
    ) as w:
        if recorded:
            for i in range(N_CONTAINERS):
                info = ContainerInfo(
                    _cid(i)[:12],
                    type="docker",
                    name=f"web-{i}",
                    full_id=_cid(i),
                    image="docker.io/library/busybox:latest",
                    image_repository="docker.io/library/busybox",
                    image_tag="latest",
                    labels={"team": "a", "io.kubernetes.pod.name": f"pod-{i}"},
                    pod=PodInfo(name=f"pod-{i}", namespace="default"),
                )
                w.write_event(272, to_scap_json(info), ts=first_ts - 1000 + i, tid=1)
        rnd = 0
        while written < target:
            shift = first_ts + rnd * base
            for delta, cpu, record in records:
                w.write_record((shift + delta).to_bytes(8, "little") + record[8:], cpu)
                written += 1
            rnd += 1
    return written


def _quiet(cmd: list[str]) -> float:
    """CPU seconds of the command (steadier than wall time on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=dict(os.environ, TZ="UTC"), stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _lines(cmd: list[str]) -> int:
    out = subprocess.run(
        cmd, env=dict(os.environ, TZ="UTC"), capture_output=True, text=True, check=True
    ).stdout
    return out.count("\n")


class _Hung:
    """Unix socket servers that accept and never answer."""

    def __init__(self, n: int, tmp: Path):
        self.paths = [tmp / f"hung{i}.sock" for i in range(n)]
        self.socks = []
        self.conns: list[socket.socket] = []
        for p in self.paths:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(str(p))
            s.listen(64)
            self.socks.append(s)
            threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, s: socket.socket) -> None:
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        for s in self.socks + self.conns:
            s.close()


def inspect_run(path: Path, hung: _Hung | None) -> tuple[float, int]:
    """Seconds for the inspector over the file (with resolvers on hung sockets or none)."""
    from sentry.inspect.inspector import Inspector
    from sentry.inspect.runtimes.dockerapi import DockerClient
    from sentry.inspect.runtimes.manager import Resolvers

    reader = ScapReader(path)
    insp = Inspector.from_capture(reader)
    resolvers = None
    if hung is not None:
        resolvers = Resolvers(
            insp.containers, [DockerClient(str(p), timeout=2.0) for p in hung.paths]
        )
        resolvers.start()
    insp.announce_containers()
    n = 0
    start = time.process_time()  # every thread's CPU: the resolvers' too
    for batch in reader.batches():
        for ev in batch:
            insp.process(ev)
        n += len(batch)
    took = time.process_time() - start
    if resolvers is not None:
        resolvers.stop(timeout=0.1)
    return took, n


def fields_cost(path: Path) -> tuple[float, int]:
    """ns per event for the container fields of WITH, extracted in-process on every event
    (the inspector's work subtracted: the same loop without the extraction)."""
    from sentry.fields.registry import resolve
    from sentry.inspect.inspector import Inspector

    names = ["container.name", "container.image.repository", "k8s.pod.name", "container.id"]
    fields = [resolve(n).extract for n in names] + [resolve("container.label", "team").extract]
    costs = []
    for extract_too in (False, True):
        reader = ScapReader(path)
        insp = Inspector.from_capture(reader)
        n = 0
        start = time.process_time()
        for batch in reader.batches():
            for ev in batch:
                insp.process(ev)
                if extract_too:
                    for f in fields:
                        f(ev)
            n += len(batch)
        costs.append(time.process_time() - start)
    return (costs[1] - costs[0]) / n * 1e9, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sentry-bench-"))
    path = args.keep or tmp / "CONT.scap"
    unknown = tmp / "CONT-unrecorded.scap"
    n = build(path, args.events)
    build(unknown, args.events, recorded=False)
    sentry = [str(Path(sys.executable).parent / "sentry")]
    if not Path(sentry[0]).exists():
        sentry = [sys.executable, "-m", "sentry.cli.main"]
    print(f"{n} events, {N_CONTAINERS} containers; printing filter: {FILTER}")
    printed = _lines([*sentry, "tail", "-e", str(path), "-p", WITH, FILTER])
    t_base = min(_quiet([*sentry, "tail", "-e", str(path), "-p", BASE, FILTER]) for _ in range(3))
    t_with = min(_quiet([*sentry, "tail", "-e", str(path), "-p", WITH, FILTER]) for _ in range(3))
    print(f"  tail      {t_base:7.2f} s   ({printed} lines)")
    print(
        f"  tail-c    {t_with:7.2f} s   container fields cost "
        f"{(t_with - t_base) / max(printed, 1) * 1e6:.2f} us per printed event "
        f"({t_with / t_base:.3f}x)"
    )
    if shutil.which("sysdig"):
        # sysdig 0.29 has no container.label: the same format without it.
        t_sys = min(
            _quiet(
                [
                    "sysdig",
                    "-r",
                    str(path),
                    "-p",
                    WITH.replace(" %container.label[team]", ""),
                    FILTER,
                ]
            )
            for _ in range(3)
        )
        print(f"  sysdig-c  {t_sys:7.2f} s   tail-c is {t_with / t_sys:.2f}x sysdig")
    per_event, _ = fields_cost(path)
    print(
        f"  fields    {per_event:7.0f} ns per event for 5 container/k8s fields, in-process "
        "(no socket calls: the table is read)"
    )
    hung = _Hung(2, tmp)
    ratios = []
    try:
        for _ in range(5):  # interleaved: the machine's load drifts between runs
            b = inspect_run(unknown, None)[0]
            h = inspect_run(unknown, hung)[0]
            ratios.append(h / b)
    finally:
        hung.close()
    print(f"  inspect   {b:7.2f} s   {n / b / 1e6:.2f} M events/s (last round)")
    print(
        f"  inspect-h {h:7.2f} s   {n / h / 1e6:.2f} M events/s; resolvers on hung sockets: "
        f"median {statistics.median(ratios):.3f}x of 5 interleaved rounds "
        f"({', '.join(f'{r:.2f}' for r in ratios)})"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
