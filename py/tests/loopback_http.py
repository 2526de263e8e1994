"""Loopback plumbing the test servers share: a free port, waiting for a port to listen, and
`LoopbackHTTPServer` / `BackgroundServer` (a threaded HTTP server on 127.0.0.0/8 or ::1 whose
stop also cuts open keep-alive connections, run by a daemon thread, usable as `with`).
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer (IPv4 or IPv6 by the host) whose server_close() also cuts the
    open keep-alive connections, so a stopped server is really gone, even for a client
    holding a pooled connection."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connection bursts (a bulk store opens 32 at
    # once), and each dropped SYN costs the client a one-second retransmit.
    request_queue_size = 1024

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections is what many tests do on purpose



class BackgroundServer:
    """start/stop/`with` for a socketserver (`_server`) served by a daemon thread (`_thread`)."""

    _server: ThreadingHTTPServer
    _thread: threading.Thread

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
