"""An HTTP receiver in a process of its own, for tests that kill it while alerts flow."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_RECEIVER_SCRIPT = """
import http.server, sys
out = open(sys.argv[1], "ab", buffering=0)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        out.write(self.rfile.read(int(self.headers["Content-Length"])) + b"\\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


@contextmanager
def receiver_process(received: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A process serving HTTP on 127.0.0.1 that appends each POSTed body, one a line, to
    ``received``; yields it and its URL, and kills it (if the test has not) on the way out."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _RECEIVER_SCRIPT, str(received)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc, f"http://127.0.0.1:{int(proc.stdout.readline())}/"
    finally:
        proc.kill()
        proc.wait()
