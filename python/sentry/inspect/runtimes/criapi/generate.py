"""Generate ``api_pb2.py`` / ``api_pb2_grpc.py`` beside ``api.proto`` (grpcio-tools).

``python3 -m sentry.inspect.runtimes.criapi.generate [OUTDIR]``: OUTDIR defaults to this
folder; tests generate into a temporary one and compare, so stale code fails CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generate(outdir: Path) -> None:
    from grpc_tools import protoc  # build/test-time only

    outdir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{HERE}",
        f"--python_out={outdir}",
        f"--grpc_python_out={outdir}",
        str(HERE / "api.proto"),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed on api.proto")
    grpc_file = outdir / "api_pb2_grpc.py"
    # protoc writes a top-level `import api_pb2`; inside the package it must be relative.
    text = grpc_file.read_text()
    grpc_file.write_text(
        text.replace("import api_pb2 as api__pb2", "from . import api_pb2 as api__pb2")
    )


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
