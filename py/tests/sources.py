"""The loopback HTTP image sources: `ImageSourceServer(host)` is a real threaded HTTP (or,
with `tls`, HTTPS) server standing in for an image generator's CDN, on any 127.x address or
::1. Routes are callables keyed by path; every request is logged (`requests`, `paths()`), so a
test can prove a refused URL was never requested. `install_standard_routes` adds real Pillow
images and the error routes the fetch tests use; `HTML_PAGE` and `XML_ERROR` are the non-image
bodies sources answer with. `held` and `gathered` routes order a test by events instead of
sleeps; STALL_S, HOLD_S and DEADLINE_MARGIN_S are the few durations the tests use.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from images import PILLOW_FORMATS, gif_bomb, make_image, minimal_avif, png_bomb, polyglot
from loopback_http import BackgroundServer, LoopbackHTTPServer
from tls import TlsFiles

# How long the stalling routes (/silent, /trickle, stall_mid_body) hold a client: far beyond
# every deadline a test sets plus its margin, so a test that reaches it has found a deadline that
# was not enforced, never merely a slow machine. A stopping server releases them at once.
STALL_S = 120.0
# How far past its deadline (timeout_s, a cancel) a call may end before a test calls the deadline
# missed: scheduling, the round trip and a loaded CI machine stay far below it, STALL_S far above.
DEADLINE_MARGIN_S = 10.0
# How long a held or gathered route waits for what it waits for before it answers anyway (then
# with a failure the test sees): long enough that only a broken call runs into it.
HOLD_S = 60.0


@dataclass
class Hold:
    """What a `held` route saw when it answered: `seen`, the last value of its condition;
    `timed_out`, whether the condition never held; `answered`, set once it answered."""

    seen: Any = None
    timed_out: bool = False
    answered: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]


Route = Callable[["SourceHandler"], None]


class SourceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SourceHTTPServer

    def do_GET(self) -> None:
        self.server.owner.log(
            LoggedRequest("GET", self.path, dict(self.headers.items()))
        )
        route = self.server.owner.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_body(b"no such route", "text/plain", status=404)
        else:
            route(self)

    def send_body(
        self,
        data: bytes,
        content_type: str | None,
        *,
        status: int = 200,
        content_length: int | None | bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        """content_length: True = the real length, an int = that (lying) value, None = no
        header and the connection closes after the body."""
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if content_length is None or content_length is False:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header(
                "Content-Length",
                str(len(data) if content_length is True else content_length),
            )
            if content_length is not True:
                self.close_connection = True
        self.end_headers()
        self._write(data)

    def trickle(self, data: bytes, delay_s: float, step: int = 1) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for i in range(0, len(data), step):
            if self.server.owner.stopping.wait(delay_s):
                return
            if not self._write(data[i : i + step]):
                return

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up: expected in timeout/size tests
            self.close_connection = True
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _SourceHTTPServer(LoopbackHTTPServer):
    def __init__(
        self, owner: ImageSourceServer, host: str, tls: ssl.SSLContext | None
    ) -> None:
        self.owner = owner
        self.tls = tls
        super().__init__((host, 0), SourceHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:  # handshake in the handler thread, not the accept loop
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: part of the TLS tests
        super().finish_request(request, client_address)


@dataclass
class ImageSourceServer(BackgroundServer):
    """A generator CDN stand-in on `host` (any 127.x address, or ::1). With `tls`, it
    serves HTTPS and records the SNI names clients sent in `sni_names`."""

    host: str = "127.0.0.1"
    tls: TlsFiles | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    sni_names: list[str | None] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        context = None
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
            context.sni_callback = lambda _sock, name, _ctx: self.sni_names.append(name)  # type: ignore[assignment,misc]
        self._server = _SourceHTTPServer(self, self.host, context)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"source-{self.host}",
            daemon=True,
        )

    def stop(self) -> None:
        self.stopping.set()  # releases routes that wait (silent, trickle) before the shutdown
        super().stop()

    def url(self, path: str, host: str | None = None) -> str:
        """http(s)://{host or the bound address}:{port}{path}."""
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{name}:{self.port}{path}"

    def log(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.sni_names.clear()

    # Route factories -------------------------------------------------------------------

    def body(
        self,
        path: str,
        data: bytes,
        content_type: str | None = "image/png",
        **options: Any,
    ) -> None:
        """Serve `data`; options as SourceHandler.send_body (status, content_length, headers)."""
        self.routes[path] = lambda h: h.send_body(data, content_type, **options)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = lambda h: h.send_body(
            b"", None, status=status, headers={"Location": location}
        )

    def trickle(self, path: str, data: bytes, delay_s: float) -> None:
        """Send `data` one byte every delay_s seconds (each read succeeds; only a total
        deadline stops it)."""
        self.routes[path] = lambda h: h.trickle(data, delay_s)

    def delayed(
        self, path: str, data: bytes, delay_s: float, content_type: str = "image/png"
    ) -> None:
        """Serve `data` after waiting delay_s seconds (to overlap concurrent requests)."""

        def route(handler: SourceHandler) -> None:
            if not self.stopping.wait(delay_s):
                handler.send_body(data, content_type)

        self.routes[path] = route

    def held(
        self,
        path: str,
        data: bytes,
        content_type: str | None = "image/png",
        *,
        until: Callable[[], Any],
        status: int = 200,
        timeout_s: float = HOLD_S,
    ) -> Hold:
        """Serve `data` only once `until()` returns something truthy (checked every 10 ms in
        the request's thread), or after timeout_s. Orders a test by events, not by sleeps:
        "answer the failing item only after the others are in storage". The returned Hold
        records what `until()` last returned and whether it timed out."""
        hold = Hold()

        def route(handler: SourceHandler) -> None:
            deadline = time.monotonic() + timeout_s
            while not (seen := until()):
                if time.monotonic() > deadline:
                    hold.timed_out = True
                    break
                if self.stopping.wait(0.01):
                    return
            hold.seen = seen
            hold.answered.set()
            handler.send_body(data, content_type, status=status)

        self.routes[path] = route
        return hold

    def gathered(self, images: dict[str, bytes], parties: int, *, timeout_s: float = HOLD_S) -> None:
        """Serve each of `images` (path -> bytes, labelled image/<extension>) only once `parties`
        of these requests are in flight at the same moment (a cyclic barrier): proof of
        concurrent downloads that does not depend on how fast the machine is. When they never
        gather (the caller downloads one after another), every request is answered 503 after
        timeout_s. len(images) must be a multiple of parties."""
        assert len(images) % parties == 0, "a last, partial group would never gather"
        barrier = threading.Barrier(parties, timeout=timeout_s)

        def route_for(data: bytes, content_type: str) -> Route:
            def route(handler: SourceHandler) -> None:
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    handler.send_body(b"the requests never overlapped", "text/plain", status=503)
                    return
                handler.send_body(data, content_type)

            return route

        for path, data in images.items():
            extension = path.rsplit(".", 1)[1] if "." in path.rsplit("/", 1)[-1] else "png"
            self.routes[path] = route_for(data, "image/" + extension.replace("jpg", "jpeg"))

    def silent(self, path: str, seconds: float) -> None:
        """Accept the request, then send nothing for `seconds`."""

        def route(handler: SourceHandler) -> None:
            if not self.stopping.wait(seconds):
                handler.send_body(b"late", "text/plain")

        self.routes[path] = route


STANDARD_BIG_SIZE = 2 * 1024 * 1024  # over the 1 MiB max_bytes the fetch tests use

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>"
XML_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)


def install_standard_routes(server: ImageSourceServer) -> dict[str, bytes]:
    """The routes the fetch tests use; returns the bytes served per image route.

    /img.{jpg,png,gif,webp,avif} real Pillow images; /lossless.webp, /alpha.webp (VP8L, VP8X);
    /minimal.avif hand-built; /mislabeled.png (PNG sent as image/jpeg); /404; /html (200
    text/html); /xml-error (200 application/xml); /big and /big-no-length (2 MiB);
    /lying-length (declares more than it sends, then closes); /trickle (one byte at a
    time, STALL_S for the whole image); /silent (no answer for STALL_S); /redirect/{n}
    (n hops, then /img.png); /loop-a <-> /loop-b;
    /polyglot.png; /truncated.png; /empty; /bomb.png; /bomb.gif.
    """
    images = {f"/img.{ext}": make_image(ext) for ext in PILLOW_FORMATS}
    images["/lossless.webp"] = make_image("webp", lossless=True)
    images["/alpha.webp"] = make_image("webp", mode="RGBA")
    images["/minimal.avif"] = minimal_avif(640, 480)
    for path, data in images.items():
        server.body(
            path, data, "image/" + path.rsplit(".", 1)[1].replace("jpg", "jpeg")
        )
    png = images["/img.png"]
    server.body("/mislabeled.png", png, "image/jpeg")
    server.body("/404", b"not found", "text/plain", status=404)
    server.body("/html", HTML_PAGE, "text/html; charset=utf-8")
    server.body("/xml-error", XML_ERROR, "application/xml")
    big = os.urandom(STANDARD_BIG_SIZE)
    server.body("/big", big, "image/png")
    server.body("/big-no-length", big, "image/png", content_length=None)
    server.body(
        "/lying-length", png[: len(png) // 2], "image/png", content_length=len(png)
    )
    server.trickle("/trickle", png, STALL_S / len(png))
    server.silent("/silent", STALL_S)
    for n in range(1, 6):
        server.redirect(f"/redirect/{n}", f"/redirect/{n - 1}" if n > 1 else "/img.png")
    server.redirect("/loop-a", "/loop-b")
    server.redirect("/loop-b", "/loop-a")
    server.body("/polyglot.png", polyglot(png), "image/png")
    server.body("/truncated.png", png[:-20], "image/png")
    server.body("/empty", b"", "image/png")
    server.body("/bomb.png", png_bomb(), "image/png")
    server.body("/bomb.gif", gif_bomb(), "image/gif")
    return images
