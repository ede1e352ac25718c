"""Container runtime resolvers: metadata for the container ids the inspector sees.

One client per runtime API (CRI over gRPC for containerd and CRI-O; the Docker Engine HTTP
API for Docker and podman), all run by :class:`sentry.inspect.runtimes.manager.Resolvers`
in background threads that write into the :class:`~sentry.inspect.containers.ContainerTable`.
The event path never waits on a socket.
"""
