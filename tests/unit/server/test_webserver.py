"""The embedded web server over real HTTP on 127.0.0.1: audit events in, every bad request
answered with its status and the server still serving afterwards."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentry.capture.k8saudit import AuditEvent
from sentry.server.metrics import MetricsSnapshot, make_registry
from sentry.server.webserver import ServerSettings, WebServer

EVENT = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "auditID": "a1",
    "stage": "ResponseComplete",
    "verb": "create",
    "requestURI": "/api/v1/namespaces/foo",
    "user": {"username": "alice"},
    "stageTimestamp": "2024-05-01T10:00:00.123456Z",
}


class Sink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def __call__(self, events: list[AuditEvent]) -> None:
        self.events.extend(events)


def _start(**settings: object) -> tuple[WebServer, Sink]:
    sink = Sink()
    snapshot = MetricsSnapshot(
        events={"k8s_audit": 3},
        alerts={("Some Rule", "Warning"): 2},
        drops={"buffer": 5},
        unreadable=7,
    )
    settings.setdefault("host", "127.0.0.1")
    web = WebServer(
        ServerSettings(port=0, **settings),  # type: ignore[arg-type]
        sink,
        make_registry(lambda: snapshot),
    )
    web.start()
    return web, sink


@pytest.fixture
def server() -> Iterator[tuple[WebServer, Sink]]:
    web, sink = _start(max_body_bytes=4096)
    yield web, sink
    web.stop()


def _request(
    web: WebServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _post(
    web: WebServer, body: bytes, ctype: str = "application/json", **headers: str
) -> tuple[int, bytes]:
    return _request(web, "POST", "/k8s-audit", body, {"Content-Type": ctype, **headers})


def _healthy(web: WebServer) -> bool:
    return _request(web, "GET", "/healthz")[0] == 200


def test_healthz(server: tuple[WebServer, Sink]) -> None:
    status, body = _request(server[0], "GET", "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}


@pytest.mark.parametrize(
    "doc,count",
    [
        (EVENT, 1),
        ({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [EVENT, EVENT]}, 2),
        ([EVENT, EVENT, EVENT], 3),
    ],
)
def test_audit_event_eventlist_and_array_are_accepted(
    server: tuple[WebServer, Sink], doc: object, count: int
) -> None:
    web, sink = server
    status, body = _post(web, json.dumps(doc).encode(), "application/json; charset=utf-8")
    assert status == 200, body
    assert len(sink.events) == count
    assert sink.events[0].obj["user"]["username"] == "alice"
    assert sink.events[0].ts == 1714557600_123456000


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"{not json", "malformed JSON"),
        (b'{"kind": 0}', "not recognized as a k8s audit event"),
        (b'{"kind": "EventList", "items": 5}', "no 'items' array"),
        (json.dumps({**EVENT, "stageTimestamp": "yesterday"}).encode(), "stageTimestamp"),
    ],
)
def test_malformed_bodies_get_400_with_reason(
    server: tuple[WebServer, Sink], body: bytes, reason: str
) -> None:
    web, sink = server
    status, answer = _post(web, body)
    assert status == 400
    assert reason in json.loads(answer)["error"]
    assert sink.events == [] and _healthy(web)


def test_oversized_body_gets_413(server: tuple[WebServer, Sink]) -> None:
    web, sink = server
    big = json.dumps([EVENT] * 100).encode()
    assert len(big) > 4096
    status, _ = _post(web, big)
    assert status == 413
    assert sink.events == [] and _healthy(web)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_gets_415(server: tuple[WebServer, Sink], ctype: str) -> None:
    web, sink = server
    status, _ = _post(web, json.dumps(EVENT).encode(), ctype)
    assert status == 415
    assert sink.events == [] and _healthy(web)


def test_unknown_path_and_method(server: tuple[WebServer, Sink]) -> None:
    web, _ = server
    assert _request(web, "GET", "/nope")[0] == 404
    assert _request(web, "GET", "/k8s-audit")[0] == 405


def test_metrics_in_prometheus_format_count_requests(server: tuple[WebServer, Sink]) -> None:
    web, _ = server
    _post(web, b"{bad")
    status, body = _request(web, "GET", "/metrics")
    text = body.decode()
    assert status == 200
    assert 'sentry_events_total{source="k8s_audit"} 3.0' in text
    assert 'sentry_alerts_total{priority="Warning",rule="Some Rule"} 2.0' in text
    assert 'sentry_event_drops_total{cause="buffer"} 5.0' in text
    # Truncated parameters are reported apart from drops: those events were delivered.
    assert "sentry_event_params_unreadable_total 7.0" in text
    assert web.requests["400"] == 1


def test_bearer_token_required_when_configured() -> None:
    web, sink = _start(token="s3cret")
    try:
        body = json.dumps(EVENT).encode()
        assert _post(web, body)[0] == 401
        assert _post(web, body, Authorization="Bearer wrong")[0] == 401
        assert _post(web, body, Authorization="Bearer s3cret")[0] == 200
        assert len(sink.events) == 1 and _healthy(web)
    finally:
        web.stop()


def test_tls(tmp_path: Path) -> None:
    pem = tmp_path / "sentry.pem"
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
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    pem.write_text((tmp_path / "cert.pem").read_text() + (tmp_path / "key.pem").read_text())
    web, sink = _start(ssl_certificate=str(pem))
    try:
        ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", web.port, context=ctx, timeout=10)
        conn.request(
            "POST",
            "/k8s-audit",
            body=json.dumps(EVENT).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert conn.getresponse().status == 200
        conn.close()
        assert len(sink.events) == 1
        # A client that fails the handshake is counted; the server keeps serving.
        import socket

        with socket.create_connection(("127.0.0.1", web.port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")  # plain text to a TLS port
            raw.recv(100)
        conn = http.client.HTTPSConnection("127.0.0.1", web.port, context=ctx, timeout=10)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        web.stop()
    assert web.requests["broken"] == 1


def test_port_in_use_is_our_error(server: tuple[WebServer, Sink]) -> None:
    from sentry.errors import SentryError

    web = WebServer(ServerSettings(host="127.0.0.1", port=server[0].port), Sink())
    with pytest.raises(SentryError, match="cannot listen"):
        web.start()


def test_ipv6_loopback() -> None:
    import socket

    if not socket.has_ipv6:
        pytest.skip("this kernel has no IPv6")
    from sentry.errors import SentryError

    try:
        web, sink = _start(host="::1")
    except SentryError as err:  # cannot listen: this host has no ::1
        pytest.skip(str(err))
    try:
        conn = http.client.HTTPConnection("::1", web.port, timeout=10)
        conn.request(
            "POST",
            "/k8s-audit",
            body=json.dumps(EVENT).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert conn.getresponse().status == 200
        conn.close()
        assert len(sink.events) == 1
    finally:
        web.stop()


def _raw(web: WebServer, data: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(data)
        return sock.recv(65536)


def test_requests_refused_before_routing_are_counted() -> None:
    web, _sink = _start()
    try:
        assert b"400" in _raw(web, b"NONSENSE\r\n\r\n")
        big = b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
        assert _raw(web, big).split(b" ")[1] in (b"431", b"400")
        assert _healthy(web)
        assert web.requests["400"] + web.requests["431"] == 2
    finally:
        web.stop()


def test_idle_and_half_open_connections_are_closed_and_bounded() -> None:
    import socket
    import time

    web, _sink = _start(idle_timeout=1.0, max_connections=4)
    socks = []
    try:
        for _ in range(10):  # 10 half-open connections, 4 slots: each times out or is refused
            s = socket.create_connection(("127.0.0.1", web.port), timeout=10)
            s.sendall(b"POST /k8s-audit HTTP/1.1\r\n")
            socks.append(s)
        deadline = time.monotonic() + 20
        while web.requests["timeout"] + web.requests["busy"] < 10:
            assert time.monotonic() < deadline, dict(web.requests)
            time.sleep(0.05)
        assert web.requests["busy"] >= 1 and web.requests["timeout"] >= 4
        assert _healthy(web)  # slots are free again
        for s in socks:
            assert s.recv(100) == b""  # closed by the server
    finally:
        for s in socks:
            s.close()
        web.stop()
