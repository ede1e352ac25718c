"""Output channels against real peers on this machine: an HTTP receiver on 127.0.0.1, a
unix datagram socket standing in for syslog, a child program, a file. Every alert must be
either delivered once or counted as undelivered."""

from __future__ import annotations

import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from full_disk import full_disk
from http_receiver import receiver_process
from sentry.outputs.channels import (
    Delivery,
    FileChannel,
    HttpChannel,
    Message,
    ProgramChannel,
    StdoutChannel,
    SyslogChannel,
)
from sentry.outputs.dispatch import Outputs
from sentry.outputs.tokenbucket import TokenBucket


def _msg(i: int, priority: str = "warning") -> Message:
    doc = {
        "output": f"alert {i}",
        "priority": priority.capitalize(),
        "rule": f"rule {i}",
        "time": "2026-01-01T00:00:00.000000000Z",
        "output_fields": {"n": i},
    }
    return Message(
        text=f"alert {i}", json=json.dumps(doc).encode(), priority=priority, rule=f"rule {i}"
    )


class _Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.content_types: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.bodies.append(json.loads(body))
                    receiver.content_types.append(self.headers["Content-Type"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.stop()


def test_http_receiver_gets_each_alert_once_as_falco_json(receiver: _Receiver) -> None:
    delivery = Delivery(HttpChannel(receiver.url), max_retries=2, backoff=0.01)
    for i in range(20):
        delivery.put(_msg(i))
    delivery.close(timeout=30)
    assert sorted(b["rule"] for b in receiver.bodies) == sorted(f"rule {i}" for i in range(20))
    assert set(receiver.content_types) == {"application/json"}
    assert {"output", "priority", "rule", "time", "output_fields"} <= set(receiver.bodies[0])
    assert delivery.stats.delivered == 20 and delivery.stats.undelivered == 0


def test_killing_the_http_receiver_loses_nothing_silently(tmp_path: Path) -> None:
    received = tmp_path / "received.jsonl"
    with receiver_process(received) as (proc, url):
        logged: list[str] = []
        delivery = Delivery(
            HttpChannel(url, timeout=2), max_retries=1, backoff=0.01, log=logged.append
        )
        for i in range(10):
            delivery.put(_msg(i))
        while delivery.stats.delivered < 10:
            threading.Event().wait(0.01)
        proc.kill()  # the receiver dies mid-run
        proc.wait()
        for i in range(10, 20):
            delivery.put(_msg(i))
        delivery.close(timeout=30)
    st = delivery.stats
    bodies = [json.loads(line) for line in received.read_text().splitlines()]
    assert [b["rule"] for b in bodies] == [f"rule {i}" for i in range(10)]
    assert st.delivered == len(bodies)
    assert st.delivered + st.undelivered == 20
    assert st.failed == 10
    assert any("http output failed" in line for line in logged)


def test_http_server_error_answers_are_failures_not_deliveries() -> None:
    class Refusing(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_error(503)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        delivery = Delivery(HttpChannel(url), max_retries=1, backoff=0.01, log=lambda _t: None)
        delivery.put(_msg(1))
        delivery.close(timeout=30)
        assert (delivery.stats.delivered, delivery.stats.failed) == (0, 1)
        assert delivery.stats.retries == 1
    finally:
        server.shutdown()
        server.server_close()


def test_syslog_socket_receives_each_alert_with_priority(tmp_path: Path) -> None:
    path = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    try:
        delivery = Delivery(SyslogChannel(path, facility="local0"))
        delivery.put(_msg(1, "critical"))
        delivery.put(_msg(2, "debug"))
        delivery.close(timeout=10)
        first, second = sock.recv(4096).decode(), sock.recv(4096).decode()
    finally:
        sock.close()
    # <PRI> = facility local0 (16) * 8 + severity
    assert first.startswith("<130>") and first.endswith(
        "sentry[" + first.split("[")[1].split("]")[0] + "]: alert 1"
    )
    assert second.startswith("<135>") and second.endswith(": alert 2")
    assert delivery.stats.delivered == 2


def test_syslog_without_listener_counts_failures(tmp_path: Path) -> None:
    delivery = Delivery(
        SyslogChannel(str(tmp_path / "absent.sock")),
        max_retries=1,
        backoff=0.01,
        log=lambda _t: None,
    )
    delivery.put(_msg(1))
    delivery.close(timeout=10)
    assert (delivery.stats.delivered, delivery.stats.failed) == (0, 1)


@pytest.mark.parametrize("keep_alive", [True, False])
def test_program_gets_alerts_on_stdin(tmp_path: Path, keep_alive: bool) -> None:
    out = tmp_path / "program.txt"
    delivery = Delivery(ProgramChannel(f"cat >> {out}", keep_alive=keep_alive))
    for i in range(5):
        delivery.put(_msg(i))
    delivery.close(timeout=10)
    assert out.read_text().splitlines() == [f"alert {i}" for i in range(5)]


def test_program_that_dies_is_restarted(tmp_path: Path) -> None:
    out = tmp_path / "program.txt"
    # Each child reads one line and exits: the channel must start a new one each time.
    delivery = Delivery(ProgramChannel(f"head -n 1 >> {out}", keep_alive=True), backoff=0.01)
    for i in range(3):
        delivery.put(_msg(i))
        while delivery.stats.delivered + delivery.stats.failed < i + 1:
            threading.Event().wait(0.01)
        threading.Event().wait(0.2)  # let that child read and exit
    delivery.close(timeout=10)
    lines = out.read_text().splitlines()
    assert delivery.stats.delivered + delivery.stats.failed == 3
    assert len(lines) == delivery.stats.delivered >= 2


@pytest.mark.parametrize("keep_alive", [True, False])
def test_file_gets_alerts(tmp_path: Path, keep_alive: bool) -> None:
    out = tmp_path / "events.txt"
    delivery = Delivery(FileChannel(str(out), keep_alive=keep_alive))
    for i in range(5):
        delivery.put(_msg(i))
    delivery.close(timeout=10)
    assert out.read_text().splitlines() == [f"alert {i}" for i in range(5)]


def test_file_reopen_follows_rotation(tmp_path: Path) -> None:
    out = tmp_path / "events.txt"
    delivery = Delivery(FileChannel(str(out), keep_alive=True))
    delivery.put(_msg(1))
    while delivery.stats.delivered < 1:
        threading.Event().wait(0.01)
    out.rename(tmp_path / "events.txt.1")
    delivery.reopen()
    delivery.put(_msg(2))
    delivery.close(timeout=10)
    assert (tmp_path / "events.txt.1").read_text() == "alert 1\n"
    assert out.read_text() == "alert 2\n"


def test_unwritable_file_is_counted_not_raised(tmp_path: Path) -> None:
    delivery = Delivery(
        FileChannel(str(tmp_path / "no" / "such" / "dir.txt")), max_retries=0, log=lambda _t: None
    )
    delivery.put(_msg(1))
    delivery.close(timeout=10)
    assert delivery.stats.failed == 1


def test_full_queue_drops_are_counted() -> None:
    gate = threading.Event()

    class Stuck(StdoutChannel):
        def send(self, msg: Message) -> None:
            gate.wait()
            super().send(msg)

    stream = io.StringIO()
    delivery = Delivery(Stuck(stream), queue_size=2, log=lambda _t: None)
    for i in range(10):
        delivery.put(_msg(i))
    gate.set()
    delivery.close(timeout=10)
    st = delivery.stats
    assert st.queue_full > 0
    assert st.delivered + st.undelivered == 10
    assert len(stream.getvalue().splitlines()) == st.delivered


def test_outputs_fan_out_and_rate_limit(tmp_path: Path) -> None:
    a, b = io.StringIO(), tmp_path / "b.txt"
    outputs = Outputs(
        [Delivery(StdoutChannel(a)), Delivery(FileChannel(str(b)))], rate=0.001, max_burst=3
    )
    sent = [outputs.emit(_msg(i)) for i in range(5)]
    outputs.close()
    assert sent == [True, True, True, False, False]
    assert outputs.throttled == 2
    assert a.getvalue() == b.read_text() == "alert 0\nalert 1\nalert 2\n"


def test_token_bucket_refills_with_time() -> None:
    bucket = TokenBucket(rate=1.0, max_burst=2, now_ns=0)
    assert [bucket.claim(0), bucket.claim(0), bucket.claim(0)] == [True, True, False]
    assert bucket.claim(1_000_000_000) is True
    assert bucket.claim(1_000_000_000) is False
    assert TokenBucket(rate=0, max_burst=1).claim() is True  # rate 0: unlimited


def test_stdout_channel_writes_lines() -> None:
    stream = io.StringIO()
    StdoutChannel(stream).send(_msg(7))
    assert stream.getvalue() == "alert 7\n"
    assert sys.stdout is not stream


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-x509",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_output_verifies_the_receiver(tmp_path: Path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    receiver = _Receiver()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    receiver.socket = ctx.wrap_socket(receiver.socket, server_side=True)
    url = receiver.url.replace("http://", "https://")
    try:
        trusted = Delivery(HttpChannel(url, ca_cert=str(cert)), max_retries=0)
        trusted.put(_msg(1))
        trusted.close(timeout=30)
        untrusted = Delivery(HttpChannel(url), max_retries=0, log=lambda _t: None)
        untrusted.put(_msg(2))
        untrusted.close(timeout=30)
        insecure = Delivery(HttpChannel(url, insecure=True), max_retries=0)
        insecure.put(_msg(3))
        insecure.close(timeout=30)
    finally:
        receiver.stop()
    assert (trusted.stats.delivered, untrusted.stats.failed, insecure.stats.delivered) == (1, 1, 1)
    assert [b["rule"] for b in receiver.bodies] == ["rule 1", "rule 3"]


def test_a_send_stuck_past_shutdown_is_counted_once() -> None:
    gate = threading.Event()

    class Hanging(StdoutChannel):
        def send(self, msg: Message) -> None:
            gate.wait()
            super().send(msg)

    stream = io.StringIO()
    delivery = Delivery(Hanging(stream), log=lambda _t: None)
    for i in range(3):
        delivery.put(_msg(i))
    delivery.close(timeout=0.2)
    gate.set()  # the stuck send completes after shutdown gave up on it
    delivery._thread.join(10)
    st = delivery.stats
    assert (st.delivered, st.shutdown) == (0, 3)


def test_program_that_fails_is_a_failed_delivery(tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "program.txt"
    delivery = Delivery(
        ProgramChannel(f"cat >> {out}"), max_retries=1, backoff=0.01, log=lambda _t: None
    )
    delivery.put(_msg(1))
    delivery.close(timeout=10)
    assert (delivery.stats.delivered, delivery.stats.failed) == (0, 1)


def _wait_for(cond: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("keep_alive", [True, False])
def test_file_output_on_a_full_disk_counts_failures_and_recovers(
    tmp_path: Path, keep_alive: bool
) -> None:
    with full_disk(tmp_path) as disk:
        out = disk.path / "alerts.txt"
        logged: list[str] = []
        delivery = Delivery(
            FileChannel(str(out), keep_alive=keep_alive),
            max_retries=1,
            backoff=0.01,
            log=logged.append,
        )
        disk.fill()  # (an alert appended into a page the file already has would still fit)
        for i in range(1, 4):
            delivery.put(_msg(i))
        _wait_for(lambda: delivery.stats.failed == 3)
        assert delivery._thread.is_alive()  # the worker survives ENOSPC, even in close()
        assert any("No space left on device" in line for line in logged)
        disk.free()
        for i in range(4, 6):
            delivery.put(_msg(i))
        _wait_for(lambda: delivery.stats.delivered == 2)
        delivery.close(timeout=10)
        st = delivery.stats
        assert (st.delivered, st.failed, st.undelivered) == (2, 3, 3)
        assert out.read_text().splitlines()[-2:] == ["alert 4", "alert 5"]
        assert any("delivers again" in line for line in logged)


def test_dev_full_is_counted_and_the_worker_lives_on() -> None:
    logged: list[str] = []
    delivery = Delivery(
        FileChannel("/dev/full", keep_alive=True), max_retries=1, backoff=0.01, log=logged.append
    )
    for i in range(3):
        delivery.put(_msg(i))
    _wait_for(lambda: delivery.stats.failed == 3)
    assert delivery._thread.is_alive()
    delivery.close(timeout=10)
    assert (delivery.stats.delivered, delivery.stats.failed) == (0, 3)


def test_a_channel_raising_anything_is_a_failure_not_a_dead_worker() -> None:
    class Buggy(StdoutChannel):
        def send(self, msg: Message) -> None:
            raise RuntimeError("boom")

    delivery = Delivery(Buggy(io.StringIO()), max_retries=0, log=lambda _t: None)
    delivery.put(_msg(1))
    delivery.put(_msg(2))
    _wait_for(lambda: delivery.stats.failed == 2)
    assert delivery._thread.is_alive()
    delivery.close(timeout=10)


def test_stdout_whose_reader_left_is_counted_and_said_once() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = os.fdopen(write_end, "w")
    closed = threading.Event()
    delivery = Delivery(StdoutChannel(stream), log=lambda _t: None, on_closed=closed.set)
    for i in range(5):
        delivery.put(_msg(i))
    assert closed.wait(10)
    delivery.close(timeout=10)
    assert (delivery.stats.delivered, delivery.stats.failed, delivery.stats.retries) == (0, 5, 0)
