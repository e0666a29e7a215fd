"""Running the replica: in the foreground for the CLI, or on a background thread for tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import httpx
import uvicorn

from pncp_pipeline.replica.app import Replica


def _config(replica: Replica, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(replica, log_level=log_level, access_log=False, lifespan="off",
                          timeout_keep_alive=30, backlog=4096)


def bind(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so a busy port is our OSError, not uvicorn's sys.exit(3).

    IPPROTO_TCP (not 0) matters: with protocol 0 asyncio never sets TCP_NODELAY, and every small
    answer waited ~40 ms for the client's delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_forever(replica: Replica, sock: socket.socket, log_level: str = "warning") -> None:
    uvicorn.Server(_config(replica, log_level)).run(sockets=[sock])


class ReplicaServer:
    """The replica on an ephemeral port of 127.0.0.1, in a thread of the calling process.

    Binding the socket ourselves (port 0) gives every test its own port with no race for it.
    """

    def __init__(self, replica: Replica | None = None, host: str = "127.0.0.1") -> None:
        self.replica = replica or Replica()
        self._sock = bind(host, 0)
        self.host, self.port = self._sock.getsockname()
        self._server = uvicorn.Server(_config(self.replica, "error"))
        self._thread = threading.Thread(target=self._run, name="pncp-replica", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> "ReplicaServer":
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the replica server thread died while starting")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> "ReplicaServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """Read over HTTP, like any other client would: the numbers the tests assert on."""
        return httpx.get(f"{self.url}/_replica/stats", timeout=10).json()

    def reset_stats(self) -> None:
        httpx.post(f"{self.url}/_replica/reset-stats", timeout=10).raise_for_status()
