"""Docker and podman metadata through the Docker Engine HTTP API on a unix socket.

podman serves the same API (its "compat" endpoints) on ``podman system service``'s socket,
so one client reads both; only the ``container.type`` it reports differs. Calls:
``GET /containers/json`` (list), ``GET /containers/<id>/json`` (inspect),
``GET /images/<id>/json`` (repository digest, cached per image) and the streaming
``GET /events`` (containers created and started). HTTP/1.1 over the socket with the standard
library's ``http.client``; every call has a timeout.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from sentry.inspect.containers import SHORT_ID_LEN, ContainerInfo, ContainerMount, PodInfo
from sentry.inspect.runtimes.base import RuntimeAPIError, rfc3339_ns, split_image, strip_sha

POD_LABELS = (
    "io.kubernetes.pod.name",
    "io.kubernetes.pod.namespace",
    "io.kubernetes.pod.uid",
    "io.kubernetes.sandbox.id",
)
_WATCHED_ACTIONS = frozenset({"create", "start"})


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP connection over a unix socket (the Docker API's transport)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerClient:
    """One Docker-API socket (Docker's or podman's)."""

    def __init__(self, socket_path: str, *, name: str = "docker", timeout: float = 2.0):
        self.name = name
        self.socket_path = socket_path
        self.timeout = timeout
        self._digests: dict[str, str | None] = {}  # image id -> repository digest

    # -- transport

    def _get(self, path: str, *, allow_404: bool = False) -> Any:
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("GET", path, headers={"Host": "localhost"})
            resp = conn.getresponse()
            body = resp.read()
        except TimeoutError as err:
            raise RuntimeAPIError(
                self.name, "timeout", f"GET {path}: no answer in {self.timeout:g} s"
            ) from err
        except (ConnectionError, FileNotFoundError, OSError) as err:
            raise RuntimeAPIError(self.name, "unavailable", f"{self.socket_path}: {err}") from err
        except http.client.HTTPException as err:
            raise RuntimeAPIError(self.name, "protocol", f"GET {path}: {err!r}") from err
        finally:
            conn.close()
        if resp.status == 404 and allow_404:
            return None
        if resp.status != 200:
            raise RuntimeAPIError(self.name, "protocol", f"GET {path}: HTTP {resp.status}")
        try:
            return json.loads(body)
        except ValueError as err:
            raise RuntimeAPIError(self.name, "protocol", f"GET {path}: not JSON") from err

    # -- RuntimeClient

    def list_ids(self) -> list[str]:
        doc = self._get("/containers/json")
        if not isinstance(doc, list):
            raise RuntimeAPIError(self.name, "protocol", "/containers/json: not a list")
        return [str(c["Id"]) for c in doc if isinstance(c, dict) and c.get("Id")]

    def inspect(self, full_id: str) -> ContainerInfo | None:
        doc = self._get(f"/containers/{urllib.parse.quote(full_id)}/json", allow_404=True)
        if doc is None:
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("Id"), str):
            raise RuntimeAPIError(self.name, "protocol", f"inspect {full_id[:12]}: no Id")
        return self._info(doc)

    def watch(self, stop: threading.Event, on_id: Callable[[str], None]) -> None:
        filters = urllib.parse.quote(json.dumps({"type": ["container"]}))
        conn = _UnixConnection(self.socket_path, self.timeout)
        done = threading.Event()

        def hang_up() -> None:
            # The stream is read blocking (events may be hours apart); shutting the socket
            # down from here ends that read when Sentry stops.
            while not done.wait(0.5):
                if stop.is_set():
                    if conn.sock is not None:
                        with contextlib.suppress(OSError):
                            conn.sock.shutdown(socket.SHUT_RDWR)
                    return

        threading.Thread(target=hang_up, daemon=True, name=f"{self.name}-events-stop").start()
        try:
            conn.request("GET", f"/events?filters={filters}", headers={"Host": "localhost"})
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeAPIError(self.name, "protocol", f"/events: HTTP {resp.status}")
            if conn.sock is not None:
                conn.sock.settimeout(None)
            buf = b""
            while not stop.is_set():
                chunk = resp.read1(65536)
                if not chunk:
                    if stop.is_set():
                        return
                    raise RuntimeAPIError(self.name, "unavailable", "event stream closed")
                buf = self._events(buf + chunk, on_id)
        except (ConnectionError, FileNotFoundError) as err:
            if stop.is_set():
                return
            raise RuntimeAPIError(self.name, "unavailable", f"{self.socket_path}: {err}") from err
        except TimeoutError as err:
            raise RuntimeAPIError(self.name, "timeout", "/events: no answer") from err
        except http.client.HTTPException as err:
            if stop.is_set():
                return
            raise RuntimeAPIError(self.name, "protocol", f"/events: {err!r}") from err
        except OSError as err:
            if stop.is_set():
                return
            raise RuntimeAPIError(self.name, "unavailable", f"{self.socket_path}: {err}") from err
        finally:
            done.set()
            conn.close()

    def _events(self, buf: bytes, on_id: Callable[[str], None]) -> bytes:
        """Handle the whole JSON lines in ``buf``; return the incomplete rest."""
        *lines, rest = buf.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
            except ValueError as err:
                raise RuntimeAPIError(self.name, "protocol", "/events: not JSON") from err
            if not isinstance(ev, dict):
                continue
            action = ev.get("Action") or ev.get("status")
            actor = ev.get("Actor")
            cid = ev.get("id") or (actor.get("ID") if isinstance(actor, dict) else None)
            if action in _WATCHED_ACTIONS and isinstance(cid, str) and cid:
                on_id(cid)
        if len(rest) > 1 << 20:
            raise RuntimeAPIError(self.name, "protocol", "/events: a line over 1 MiB")
        return rest

    def close(self) -> None:
        pass

    # -- mapping

    def _digest(self, image_id: str, repository: str) -> str | None:
        if image_id in self._digests:
            return self._digests[image_id]
        digest = None
        doc = self._get(f"/images/{urllib.parse.quote(image_id)}/json", allow_404=True)
        if isinstance(doc, dict):
            for ref in doc.get("RepoDigests") or ():
                repo, _, dig = str(ref).partition("@")
                if dig and (digest is None or repo == repository):
                    digest = dig
        self._digests[image_id] = digest
        return digest

    def _info(self, doc: dict[str, Any]) -> ContainerInfo:
        full_id: str = doc["Id"]
        config = doc.get("Config") or {}
        host = doc.get("HostConfig") or {}
        state = doc.get("State") or {}
        net = doc.get("NetworkSettings") or {}
        labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
        image = str(config.get("Image") or "") or None
        image_id = str(doc.get("Image") or "") or None
        repo = tag = digest = None
        if image is not None:
            repo, tag, digest = split_image(image)
        if digest is None and image_id is not None and repo is not None:
            digest = self._digest(image_id, repo)
        ip = net.get("IPAddress") or None
        if not ip:
            for network in (net.get("Networks") or {}).values():
                if isinstance(network, dict) and network.get("IPAddress"):
                    ip = network["IPAddress"]
                    break
        mounts = [
            ContainerMount(
                str(m.get("Source", "")),
                str(m.get("Destination", "")),
                str(m.get("Mode", "")),
                bool(m.get("RW", True)),
                str(m.get("Propagation", "")),
            )
            for m in doc.get("Mounts") or ()
            if isinstance(m, dict)
        ]
        pod = None
        if "io.kubernetes.pod.name" in labels:
            pod = PodInfo(
                name=labels.get(POD_LABELS[0]),
                namespace=labels.get(POD_LABELS[1]),
                uid=labels.get(POD_LABELS[2]),
                sandbox_id=labels.get(POD_LABELS[3]),
            )
        return ContainerInfo(
            full_id[:SHORT_ID_LEN],
            type=self.name,
            name=str(doc.get("Name") or "").lstrip("/") or None,
            image=image,
            image_id=strip_sha(image_id),
            image_repository=repo,
            image_tag=tag,
            image_digest=digest,
            privileged=bool(host.get("Privileged", False)),
            ip=ip,
            mounts=mounts,
            labels=labels,
            full_id=full_id,
            start_ts=rfc3339_ns(state.get("StartedAt")),
            host_network=host.get("NetworkMode") == "host",
            host_pid=host.get("PidMode") == "host",
            host_ipc=host.get("IpcMode") == "host",
            pod=pod,
        )
