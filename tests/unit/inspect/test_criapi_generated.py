"""The committed CRI stubs are what grpcio-tools makes of api.proto today (not stale)."""

from __future__ import annotations

import re
from pathlib import Path

from sentry.inspect.runtimes import criapi
from sentry.inspect.runtimes.criapi import generate

HERE = Path(criapi.__file__).resolve().parent
_DESCRIPTOR = re.compile(rb"AddSerializedFile\((b'.*?')\)", re.S)


def _descriptor(path: Path) -> bytes:
    m = _DESCRIPTOR.search(path.read_bytes())
    assert m is not None, f"no serialized descriptor in {path}"
    return m.group(1)


def test_generated_code_matches_proto(tmp_path: Path) -> None:
    generate.generate(tmp_path)
    assert _descriptor(tmp_path / "api_pb2.py") == _descriptor(HERE / "api_pb2.py"), (
        "api_pb2.py is stale: run python3 -m sentry.inspect.runtimes.criapi.generate"
    )
    fresh = (tmp_path / "api_pb2_grpc.py").read_text()
    committed = (HERE / "api_pb2_grpc.py").read_text()
    for rpc in re.findall(r"rpc (\w+)\(", (HERE / "api.proto").read_text()):
        assert rpc in fresh and rpc in committed, rpc


def test_stubs_import_and_build_messages() -> None:
    from sentry.inspect.runtimes.criapi import api_pb2, api_pb2_grpc

    req = api_pb2.ContainerStatusRequest(container_id="abc", verbose=True)
    assert api_pb2.ContainerStatusRequest.FromString(req.SerializeToString()).verbose
    assert hasattr(api_pb2_grpc, "RuntimeServiceStub")
