"""Output channels: where alerts go (stdout, file, syslog, program, HTTP) and how.

Each channel writes one :class:`Message` at a time and raises ``OSError`` when it cannot.
:class:`Delivery` wraps a channel in a worker thread with a bounded queue: the pipeline
only ever enqueues (never blocks, never sees a channel's failure); the worker retries with
exponential back-off and reopens the channel between attempts. Every message ends up in
exactly one counter: ``delivered``, ``failed`` (retries exhausted), ``queue_full`` (queue
was full) or ``shutdown`` (still queued when the daemon stopped). Failures are logged on
stderr (the first one, then at most every 10 s) and exported as metrics.

A worker thread never dies of a channel's error: whatever ``send``, ``reopen`` or
``close`` raises (a full disk makes even ``close`` fail, when it flushes) is a counted
failure, and the channel is reopened on the next attempt. While a channel keeps failing,
each further attempt waits longer (up to ``MAX_BACKOFF_S``), so a dead receiver costs
little; the first success resets the back-off. A stdout whose reader has gone (``| head``)
is :class:`OutputClosed`: later alerts are counted, not written, and ``on_closed`` is called
so that the command can end quietly.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, ClassVar

from sentry.log import log as log_line
from sentry.outputs.syslog import SyslogSocket


@dataclass(slots=True, frozen=True)
class Message:
    """One alert as channels need it: the line to write and the JSON document to POST."""

    text: str  # the line for stdout/file/syslog/program (text or JSON, per json_output)
    json: bytes  # the alert as Falco's JSON object, for http_output
    priority: str  # lower-case Falco priority name
    rule: str


class OutputClosed(OSError):
    """The channel's reader is gone for good (stdout closed): no retry can help."""


class Channel:
    """A destination. ``send`` raises ``OSError`` on failure; ``reopen`` starts afresh."""

    name: ClassVar[str] = "channel"

    def send(self, msg: Message) -> None:
        raise NotImplementedError

    def reopen(self) -> None:
        """Drop any connection/handle so that the next ``send`` opens a new one.

        Never raises: a handle that cannot even be closed (a full disk fails the flush) is
        dropped all the same.
        """
        with contextlib.suppress(Exception):
            self.close()

    def flush(self) -> None:
        """Push out anything buffered."""

    def close(self) -> None:
        """Release the handle, connection or child process."""


class StdoutChannel(Channel):
    name = "stdout"

    def __init__(self, stream: IO[str] | None = None, buffered: bool = False):
        self._stream = stream
        self._buffered = buffered
        self._gone = False

    def send(self, msg: Message) -> None:
        if self._gone:
            raise OutputClosed("stdout is closed")
        stream = self._stream or sys.stdout
        try:
            stream.write(msg.text + "\n")
            if not self._buffered:
                stream.flush()
        except BrokenPipeError:
            self._closed_by_reader()
            raise OutputClosed("stdout is closed (the reader went away)") from None

    def _closed_by_reader(self) -> None:
        self._gone = True
        if self._stream is None:
            # What is still buffered can never be written; later flushes must not fail.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def flush(self) -> None:
        if self._gone:
            return
        try:
            (self._stream or sys.stdout).flush()
        except BrokenPipeError:
            self._closed_by_reader()

    def close(self) -> None:
        self.flush()

    def reopen(self) -> None:
        """Nothing to reopen: stdout stays what it is."""


class FileChannel(Channel):
    """Appends lines to ``filename``; with ``keep_alive`` the file stays open between alerts."""

    name = "file"

    def __init__(self, filename: str, keep_alive: bool = False, buffered: bool = False):
        self.filename = filename
        self.keep_alive = keep_alive
        self._buffered = buffered
        self._fh: IO[str] | None = None

    def send(self, msg: Message) -> None:
        if self._fh is None:
            self._fh = open(self.filename, "a", encoding="utf-8")  # noqa: SIM115
        self._fh.write(msg.text + "\n")
        if not self.keep_alive:
            self.close()
        elif not self._buffered:
            self._fh.flush()

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None  # dropped even when closing fails (ENOSPC)
            fh.close()


class SyslogChannel(Channel):
    """RFC 3164 lines over a unix socket (``/dev/log`` or a configured path)."""

    name = "syslog"

    def __init__(self, address: str = "/dev/log", facility: str = "user", tag: str = "sentry"):
        self._syslog = SyslogSocket(address, facility, tag)
        self.address = address

    def send(self, msg: Message) -> None:
        self._syslog.send(msg.text, msg.priority)

    def close(self) -> None:
        self._syslog.close()


class ProgramChannel(Channel):
    """Feeds lines to ``sh -c PROGRAM`` on stdin: one long-lived child with ``keep_alive``,
    otherwise a child per alert (as Falco does)."""

    name = "program"

    def __init__(self, program: str, keep_alive: bool = False):
        if not program.strip():
            raise ValueError("program_output.program is empty")
        self.program = program
        self.keep_alive = keep_alive
        self._child: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["/bin/sh", "-c", self.program], stdin=subprocess.PIPE)

    def send(self, msg: Message) -> None:
        if self._child is not None and self._child.poll() is not None:
            self._child = None  # it exited; start a new one
        if self._child is None:
            self._child = self._spawn()
        assert self._child.stdin is not None
        self._child.stdin.write(msg.text.encode() + b"\n")
        self._child.stdin.flush()
        if not self.keep_alive:
            status = self._finish()
            if status:  # the program could not take it (bad command, full disk ...)
                raise OSError(f"program '{self.program}' exited with status {status}")

    def _finish(self) -> int | None:
        """Close the child's stdin and wait for it; its exit status."""
        if self._child is None:
            return None
        child, self._child = self._child, None
        try:
            if child.stdin is not None:
                child.stdin.close()
        except OSError:
            pass
        return child.wait()

    def close(self) -> None:
        self._finish()


class HttpChannel(Channel):
    """POSTs each alert as one JSON object (``Content-Type: application/json``), as Falco's
    http_output does, so falcosidekick accepts it. Any non-2xx answer is a failure."""

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        user_agent: str = "sentry",
        insecure: bool = False,
        ca_cert: str = "",
        ca_path: str = "",
        client_cert: str = "",
        client_key: str = "",
    ):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"http_output.url must be an http(s) URL, got '{url}'")
        self.url = url
        self._parts = parts
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._headers = {"Content-Type": "application/json", "User-Agent": user_agent}
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca_cert or None, capath=ca_path or None)
            if insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if client_cert:
                ctx.load_cert_chain(client_cert, client_key or None)
            self._ssl = ctx
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self._parts.hostname or "", self._parts.port
        if self._ssl is not None:
            return http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._ssl)
        return http.client.HTTPConnection(host, port, timeout=self._timeout)

    def send(self, msg: Message) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.request("POST", self._path, body=msg.json, headers=self._headers)
            resp = self._conn.getresponse()
            resp.read()
        except (http.client.HTTPException, OSError) as err:
            self.close()
            raise OSError(f"POST {self.url}: {err}") from None
        if resp.will_close:
            self.close()
        if not 200 <= resp.status < 300:
            raise OSError(f"POST {self.url}: HTTP {resp.status} {resp.reason}")

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


@dataclass(slots=True)
class DeliveryStats:
    """What became of the messages handed to one channel."""

    delivered: int = 0
    failed: int = 0  # gave up after retries
    queue_full: int = 0  # refused: the queue was full
    shutdown: int = 0  # still queued when the daemon stopped
    retries: int = 0

    @property
    def undelivered(self) -> int:
        return self.failed + self.queue_full + self.shutdown


def _reason(err: BaseException) -> str:
    """``No space left on device`` rather than ``[Errno 28] No space left on device: 'f'``."""
    if isinstance(err, OSError) and err.strerror and type(err) is not OSError:
        return f"{err.strerror} ({err.filename})" if err.filename else err.strerror
    return str(err) or type(err).__name__


_STOP = object()
_REOPEN = object()


class Delivery:
    """A channel behind a bounded queue and a worker thread with retries and back-off."""

    LOG_EVERY_S = 10.0
    MAX_BACKOFF_S = 30.0  # the longest wait between two attempts on a failing channel

    def __init__(
        self,
        channel: Channel,
        *,
        queue_size: int = 10000,
        max_retries: int = 3,
        backoff: float = 0.2,
        log: Any = None,
        on_closed: Callable[[], None] | None = None,
    ):
        self.channel = channel
        self.stats = DeliveryStats()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._max_retries = max(0, max_retries)
        self._backoff = backoff
        self._log = log or log_line
        self._info: Callable[[str], None] = log or (lambda text: log_line(text, "info"))
        self._last_log = 0.0
        self._unlogged = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._inflight = False  # the worker is delivering a message now
        self._abandoned = False  # close() gave up waiting and counted the in-flight message
        self._closed = False  # close() was called: later messages are counted, not queued
        self._gone = False  # the channel's reader is gone (OutputClosed): count, not send
        self._failing = 0  # messages failed in a row: the back-off before the next attempt
        self.on_closed = on_closed
        self._thread = threading.Thread(
            target=self._run, name=f"output-{channel.name}", daemon=True
        )
        self._thread.start()

    def put(self, msg: Message) -> None:
        """Enqueue without blocking; a full queue counts the message as undelivered."""
        if self._closed:
            with self._lock:
                self.stats.shutdown += 1
            return
        try:
            self._queue.put_nowait(msg)
        except queue.Full:
            with self._lock:
                self.stats.queue_full += 1
            self._report(f"{self.channel.name} output queue full, alert dropped")

    def reopen(self) -> None:
        """Ask the worker to reopen its file/program/connection (SIGUSR1)."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_REOPEN)

    def _report(self, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_log < self.LOG_EVERY_S and self._last_log:
                self._unlogged += 1
                return
            more = f" ({self._unlogged} similar messages suppressed)" if self._unlogged else ""
            self._last_log, self._unlogged = now, 0
        self._log(text + more)

    def _count(self, what: str) -> None:
        with self._lock:
            if not self._abandoned:
                setattr(self.stats, what, getattr(self.stats, what) + 1)

    def _deliver(self, msg: Message) -> None:
        if self._gone:
            self._count("failed")
            return
        if self._failing and not self._closed:
            # The channel failed the messages before: wait longer each time before trying
            # it again (alerts wait in the queue meanwhile); no waiting once shutting down.
            delay = min(self.MAX_BACKOFF_S, self._backoff * (2 ** min(self._failing, 7)))
            self._stopping.wait(delay)
        for attempt in range(self._max_retries + 1):
            try:
                self.channel.send(msg)
            except OutputClosed as err:
                self._gone = True
                self._count("failed")
                if self.on_closed is not None:
                    self.on_closed()  # the command ends, quietly (as after `| head`)
                else:
                    self._report(
                        f"{self.channel.name} output: {err}; alerts are counted, not written"
                    )
                return
            except Exception as err:  # any channel error is a counted failure
                self.channel.reopen()
                if attempt == self._max_retries or self._stopping.is_set():
                    self._count("failed")
                    self._failing += 1
                    self._report(
                        f"{self.channel.name} output failed, alert "
                        f"'{msg.rule}' not delivered: {_reason(err)}"
                    )
                    return
                self._count("retries")
                self._stopping.wait(self._backoff * (2**attempt))
            else:
                if self._failing:
                    self._info(
                        f"{self.channel.name} output delivers again (after "
                        f"{self._failing} failed alerts)"
                    )
                    self._failing = 0
                self._count("delivered")
                return

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            if item is _REOPEN:
                self.channel.reopen()
                continue
            self._inflight = True
            try:
                self._deliver(item)
            except Exception as err:  # a bug of ours must not stop delivery
                self._count("failed")
                self._report(
                    f"{self.channel.name} output: internal error, alert "
                    f"'{item.rule}' not delivered: {err!r}"
                )
            self._inflight = False
        try:
            self.channel.close()
        except Exception as err:  # said, not raised: the worker is ending
            self._log(f"{self.channel.name} output: {_reason(err)}")

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (for up to ``timeout`` s), then stop; the rest is counted."""
        self._closed = True
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._queue.put(_STOP, timeout=max(0.0, deadline - time.monotonic()))
                break
            except queue.Full:
                self._stopping.set()
                if time.monotonic() >= deadline:
                    break
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._stopping.set()  # stop retrying; what is left is counted below
            self._thread.join(1.0)
        left = 0
        with self._lock:
            if self._thread.is_alive():  # stuck in a send: count that message here, once
                self._abandoned = True
                left += int(self._inflight)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Message):
                left += 1
        if self._thread.is_alive():
            self._queue.put_nowait(_STOP)  # drained above: let the worker end when unstuck
        with self._lock:
            self.stats.shutdown += left
        if left:
            self._log(f"{self.channel.name} output: {left} alerts not delivered at shutdown")
