"""The embedded web server: ``GET /healthz``, ``POST /k8s-audit``, ``GET /metrics``.

Built on the standard library's ``ThreadingHTTPServer`` (a thread per connection, in a
background thread): the endpoints are three, the bodies small JSON documents, and a
dependency would add nothing we need. The audit endpoint takes an audit ``Event``,
``EventList`` or JSON array and answers

- 200 once the events went through the rules (alerts are queued on the outputs),
- 400 with the reason when the body is not JSON or not audit events,
- 401 without the configured bearer token, 411 without a length, 413 when over the size
  limit, 415 unless ``Content-Type`` is ``application/json``.

A bad request never stops the server; every answer is counted by status, also those
refused before routing (a bad request line 400, headers over 64 KiB 431 ...). A connection
idle for ``idle_timeout`` seconds (half-open, or a client that stops mid-request) is
closed and counted ``timeout``; at most ``max_connections`` are served at once (a thread
each), and one beyond is closed at once and counted ``busy``. The standard library's
server is kept: these bounds are a few lines on it, and the endpoints need nothing a
server library would add.
"""

from __future__ import annotations

import hmac
import socket
import ssl
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from sentry.capture.k8saudit import AuditEvent, AuditFormatError, parse_body
from sentry.errors import SentryError
from sentry.log import log

AuditSink = Callable[[list[AuditEvent]], Any]


class Unavailable(SentryError):
    """Raised by a sink that no longer takes events (the daemon is stopping): 503."""


@dataclass
class ServerSettings:
    """Where and how to listen (the ``webserver`` section of the config)."""

    host: str = "0.0.0.0"
    port: int = 8765
    audit_endpoint: str = "/k8s-audit"
    healthz_endpoint: str = "/healthz"
    metrics_endpoint: str = "/metrics"
    token: str = ""
    max_body_bytes: int = 10 * 1024 * 1024
    ssl_certificate: str = ""  # a PEM with certificate and key; empty: plain HTTP
    max_connections: int = 64
    idle_timeout: float = 10.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, web: WebServer, address: tuple[str, int]):
        self.web = web
        if ":" in address[0]:  # an IPv6 address such as "::"
            self.address_family = socket.AF_INET6
        self._slots = threading.BoundedSemaphore(web.settings.max_connections)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.web.count("busy")  # over max_connections: closed at once, no thread
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that breaks the connection (or the TLS handshake) is counted, not traced;
        # anything else is our bug, said in one line.
        err = sys.exc_info()[1]
        if isinstance(err, OSError):
            self.web.count("broken")
        else:
            self.web.count("error")
            log(f"webserver: internal error serving {client_address[0]}: {err!r}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "sentry"
    disable_nagle_algorithm = True  # headers and body leave at once on keep-alive connections

    def setup(self) -> None:
        # The idle timeout, applied to every read of the connection.
        self.timeout = self.server.web.settings.idle_timeout  # type: ignore[misc]
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # answers are counted, not logged per request

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):
            self.server.web.count("timeout")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Refusals before routing (bad request line, headers too long, bad version ...).
        self.server.web.count(code)
        super().send_error(code, message, explain)

    def _answer(
        self,
        code: int,
        body: dict[str, Any] | bytes,
        *,
        content_type: str = "application/json",
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        self.server.web.count(code)
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        # end_headers() plus the body in one send: one syscall and one packet per answer.
        self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]
        self.flush_headers()

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def do_GET(self) -> None:
        web = self.server.web
        path = self._path()
        if path == web.settings.healthz_endpoint:
            self._answer(200, {"status": "ok"})
        elif path == web.settings.metrics_endpoint and web.registry is not None:
            self._answer(200, generate_latest(web.registry), content_type=CONTENT_TYPE_LATEST)
        elif path == web.settings.audit_endpoint:
            self._answer(405, {"error": "use POST"}, headers={"Allow": "POST"})
        else:
            self._answer(404, {"error": f"no such endpoint: {path}"})

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)

    def do_POST(self) -> None:
        web = self.server.web
        if self._path() != web.settings.audit_endpoint:
            self._answer(404, {"error": f"no such endpoint: {self._path()}"}, close=True)
            return
        token = web.settings.token
        if token:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                self._answer(
                    401,
                    {"error": "missing or wrong bearer token"},
                    close=True,
                    headers={"WWW-Authenticate": 'Bearer realm="sentry"'},
                )
                return
        ctype = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            self._answer(
                415,
                {"error": f"Content-Type must be application/json, got '{ctype or 'none'}'"},
                close=True,
            )
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            self._answer(411, {"error": "Content-Length required"}, close=True)
            return
        length = int(length_text)
        if length > web.settings.max_body_bytes:
            if length <= 4 * web.settings.max_body_bytes:
                self._discard(length)  # so that the client reads our answer, not a reset
            self._answer(
                413,
                {
                    "error": f"body of {length} bytes is over the limit of "
                    f"{web.settings.max_body_bytes}"
                },
                close=True,
            )
            return
        body = self.rfile.read(length)
        try:
            events = parse_body(body)
        except AuditFormatError as err:
            web.malformed += 1
            self._answer(400, {"error": str(err)})
            return
        try:
            web.sink(events)
        except Unavailable as err:
            self._answer(503, {"error": str(err)}, close=True)
            return
        except SentryError as err:
            self._answer(500, {"error": str(err)})
            return
        self._answer(200, {"status": "ok", "events": len(events)})


class WebServer:
    """The server in a background thread; ``start()`` returns the bound port."""

    def __init__(
        self, settings: ServerSettings, sink: AuditSink, registry: CollectorRegistry | None = None
    ):
        self.settings = settings
        self.sink = sink
        self.registry = registry
        self.requests: Counter[str] = Counter()
        self.malformed = 0
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def count(self, code: int | str) -> None:
        with self._lock:
            self.requests[str(code)] += 1

    def start(self) -> int:
        s = self.settings
        try:
            httpd = _Server(self, (s.host, s.port))
        except OSError as err:
            raise SentryError(
                f"webserver: cannot listen on {s.host}:{s.port}: {err.strerror}"
            ) from None
        if s.ssl_certificate:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                ctx.load_cert_chain(s.ssl_certificate)
            except (OSError, ssl.SSLError) as err:
                httpd.server_close()
                raise SentryError(f"webserver: cannot load {s.ssl_certificate}: {err}") from None
            # The handshake happens on the connection's own thread, not in accept().
            httpd.socket = ctx.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="webserver", kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        return int(httpd.server_address[1])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1]) if self._httpd else 0

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
