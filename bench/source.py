"""The benchmarks' image source: a generator CDN stand-in in a process of its own.

`python bench/source.py` serves `GET /img/<bytes>.jpg?t=<token>&ttfb_ms=<ms>` on 127.0.0.1:
a valid JPEG of exactly <bytes> bytes whose comment segment carries <token> (so every URL has
its own sha256 and nothing is deduplicated), sent after waiting <ms> milliseconds. It prints
`port <n>` on stdout once listening and runs until stdin closes, so it dies with its parent.
It runs apart from the measuring process so its CPU time is not charged to the measured code
(on 2 cores it still competes for the CPU, the same way for every contender). The HTTP server
is the tests' ImageSourceServer (py/tests/sources.py).

`SourceProcess` starts and stops it from the harness; `jpeg_of_size` builds the images.
"""

from __future__ import annotations

import random
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py" / "tests"))

from images import make_image  # noqa: E402
from sources import ImageSourceServer, SourceHandler  # noqa: E402

TOKEN_BYTES = 32  # fixed length, so the size of a URL's image does not depend on its token
_MAX_SEGMENT = 0xFFFF - 2  # payload bytes one APPn segment holds


class JpegTemplate:
    """A real JPEG padded with APP15 segments of random bytes to an exact size. `parts(token)`
    gives it as (head, tail) without copying the padding: head = SOI + COM(token)."""

    def __init__(self, size: int) -> None:
        base = make_image("jpg", (64, 48), quality=90)
        fixed = 2 + (4 + TOKEN_BYTES) + (len(base) - 2)
        if size < fixed + 4:
            raise ValueError(f"a bench JPEG needs at least {fixed + 4} bytes")
        self.size = size
        padding = bytearray()
        left = size - fixed
        rng = random.Random(size)  # incompressible, and the same bytes for a size every run
        while left:
            # Never leave 1..3 bytes over: a segment takes at least 4 (marker + length).
            payload = min(_MAX_SEGMENT, left - 4)
            if 0 < left - 4 - payload < 4:
                payload -= 4
            padding += b"\xff\xef" + struct.pack(">H", payload + 2) + rng.randbytes(payload)
            left -= payload + 4
        self.tail = bytes(padding) + base[2:]
        assert len(self.tail) + 2 + 4 + TOKEN_BYTES == size

    def head(self, token: str) -> bytes:
        text = token.encode()[:TOKEN_BYTES].ljust(TOKEN_BYTES, b" ")
        return b"\xff\xd8\xff\xfe" + struct.pack(">H", TOKEN_BYTES + 2) + text


def jpeg_of_size(size: int, token: str) -> bytes:
    """The exact bytes the source serves for /img/<size>.jpg?t=<token>."""
    template = JpegTemplate(size)
    return template.head(token) + template.tail


class _Images:
    """JpegTemplates by size, built on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_size: dict[int, JpegTemplate] = {}

    def get(self, size: int) -> JpegTemplate:
        with self._lock:
            if size not in self._by_size:
                self._by_size[size] = JpegTemplate(size)
            return self._by_size[size]


def serve(server: ImageSourceServer, images: _Images, handler: SourceHandler) -> None:
    parts = urlsplit(handler.path)
    query = parse_qs(parts.query)
    try:
        size = int(parts.path.removeprefix("/img/").removesuffix(".jpg"))
        template = images.get(size)
        ttfb_s = int(query.get("ttfb_ms", ["0"])[0]) / 1000
    except ValueError:
        handler.send_body(b"bad image request", "text/plain", status=400)
        return
    # Headers and the small head go out in one segment, the body in one sendall: with Nagle on,
    # a small write behind an unacknowledged one could stall for a delayed ACK.
    handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if server.stopping.wait(ttfb_s):
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "image/jpeg")
    handler.send_header("Content-Length", str(template.size))
    handler.end_headers()
    try:
        handler.wfile.write(template.head(query.get("t", [""])[0]))
        handler.wfile.write(template.tail)
    except OSError:
        handler.close_connection = True


class _ImageRoutes(dict):  # type: ignore[type-arg]
    """ImageSourceServer looks routes up by exact path; every /img/<size>.jpg is ours."""

    def __init__(self, route: object) -> None:
        super().__init__()
        self._route = route

    def get(self, path: str, default: object = None) -> object:
        return self._route if path.startswith("/img/") else default


def main() -> None:
    server = ImageSourceServer("127.0.0.1")
    images = _Images()
    server.routes = _ImageRoutes(lambda handler: serve(server, images, handler))
    server.requests = _Discard()  # thousands of requests: no log kept
    with server:
        print(f"port {server.port}", flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or dies)


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        pass


class SourceProcess:
    """`with SourceProcess() as source:` the server above in a child process; `source.url(size,
    token, ttfb_ms)` is an image URL."""

    def __init__(self, python: str = sys.executable) -> None:
        self._python = python
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> SourceProcess:
        self._process = subprocess.Popen(
            [self._python, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if line[:1] != ["port"]:
            self.__exit__(None, None, None)
            raise RuntimeError("the image source did not start")
        self.port = int(line[1])
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        process = self._process
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def url(self, size: int, token: str, ttfb_ms: int) -> str:
        return f"http://127.0.0.1:{self.port}/img/{size}.jpg?t={token}&ttfb_ms={ttfb_ms}"


if __name__ == "__main__":
    main()
