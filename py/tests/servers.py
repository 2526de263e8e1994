"""Reusable loopback servers and test images for scene-images tests.

Everything here listens on 127.0.0.0/8 only and is meant to be started by a fixture and
stopped after it:

- `ImageSourceServer(host)`: a threaded HTTP (or HTTPS) server standing in for an image
  generator's CDN. Routes are callables keyed by path; every request is logged (`requests`,
  `paths()`), so a test can prove a refused URL was never requested. `install_standard_routes`
  adds real images made with Pillow and the error routes the fetch tests use.
- images: `make_image`, `minimal_avif`, `png_bomb`, `gif_bomb`, `polyglot`.
- `tls_certificate(directory, hostnames)`: a CA and a leaf certificate for HTTPS tests.
- `moto_server()`: a real moto S3 server subprocess on a free loopback port.
- `supabase_standin()`: the Supabase Storage stand-in (tests/supabase_storage_standin.py).
- `guard_loopback_only(monkeypatch)`: makes any connect() outside loopback, and any DNS
  lookup of a name, fail loudly inside the test process, even when the code under test is
  broken.
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from supabase_storage_standin import StorageStandIn

# --- network guard -----------------------------------------------------------------------


def is_loopback_address(address: object) -> bool:
    """True for (host, port, ...) tuples on 127.0.0.0/8 or ::1 (also ::ffff:127.x), and for
    non-IP socket addresses (AF_UNIX paths)."""
    if not isinstance(address, tuple):
        return True
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class NetworkGuardError(AssertionError):
    """Raised instead of sending traffic outside loopback."""


def guard_loopback_only(monkeypatch: Any) -> None:
    """Patch socket so this process cannot connect outside loopback or resolve names
    (other than localhost) for the rest of the test."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if not is_loopback_address(address):
            raise NetworkGuardError(f"test tried to connect to {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not is_loopback_address(address):
            raise NetworkGuardError(f"test tried to connect to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "localhost"):
            try:
                ipaddress.ip_address(str(name).split("%")[0])
            except ValueError:
                raise NetworkGuardError(
                    f"test tried to resolve {name!r} through DNS"
                ) from None
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


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


# --- test images -------------------------------------------------------------------------

PILLOW_FORMATS = {
    "jpg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "avif": "AVIF",
}


def make_image(
    extension: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: Any
) -> bytes:
    """A real image written by Pillow: a gradient, so encoders produce ordinary files."""
    from PIL import Image

    width, height = size
    image = Image.new(mode, size)
    image.putdata(
        [
            (x * 255 // width, y * 255 // height, 128, 200)[: len(mode)]
            for y in range(height)
            for x in range(width)
        ]
    )
    if extension == "gif":
        image = image.convert("P")
    out = io.BytesIO()
    image.save(out, format=PILLOW_FORMATS[extension], **save)
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def minimal_avif(
    width: int, height: int, payload: bytes = b"\x12\x00\x0a\x0a"
) -> bytes:
    """A hand-built AVIF container: ftyp, meta (hdlr, pitm, iloc, iinf, iprp/ipco/ispe,
    ipma) and mdat. Structurally valid for the sniffer; `payload` is not a decodable AV1."""
    ftyp = _box(b"ftyp", b"avif" + struct.pack(">I", 0) + b"avifmif1miaf")
    hdlr = _full_box(b"hdlr", struct.pack(">I", 0) + b"pict" + bytes(12) + b"\0")
    pitm = _full_box(b"pitm", struct.pack(">H", 1))
    infe = _full_box(b"infe", struct.pack(">HH", 1, 0) + b"av01" + b"\0", version=2)
    iinf = _full_box(b"iinf", struct.pack(">H", 1) + infe)
    ispe = _full_box(b"ispe", struct.pack(">II", width, height))
    ipma = _full_box(b"ipma", struct.pack(">IHBB", 1, 1, 1, 0x81))
    iprp = _box(b"iprp", _box(b"ipco", ispe) + ipma)

    def meta_with(offset: int) -> bytes:
        # iloc v0: offset_size 4, length_size 4, base_offset_size 0; one item, one extent.
        iloc = _full_box(
            b"iloc",
            struct.pack(">BBHHHHII", 0x44, 0x00, 1, 1, 0, 1, offset, len(payload)),
        )
        return _full_box(b"meta", hdlr + pitm + iloc + iinf + iprp)

    head = len(ftyp) + len(meta_with(0)) + 8
    return ftyp + meta_with(head) + _box(b"mdat", payload)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data))
    )


def png_bomb(width: int = 50000, height: int = 50000) -> bytes:
    """A tiny, structurally valid PNG whose IHDR declares width × height."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def gif_bomb(width: int = 50000, height: int = 50000) -> bytes:
    """A tiny, structurally valid GIF whose logical screen is width × height."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b"\x3b"


def polyglot(
    image: bytes,
    payload: bytes = b"<html><script>alert(document.domain)</script></html>",
) -> bytes:
    """An image with HTML appended (the classic image/HTML polyglot)."""
    return image + payload


# --- TLS ---------------------------------------------------------------------------------


TLS_HOSTNAME = (
    "cdn.generator.test"  # the name the HTTPS test servers' certificate carries
)


@dataclass(frozen=True)
class TlsFiles:
    ca_file: str  # trust this (requests' verify=)
    cert_file: str  # server certificate chain
    key_file: str


def tls_certificate(directory: Path, hostnames: list[str]) -> TlsFiles:
    """A throwaway CA and a server certificate for `hostnames` (DNS names) signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "scene-images test CA")]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in hostnames]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = TlsFiles(
        str(directory / "ca.pem"),
        str(directory / "server.pem"),
        str(directory / "server.key"),
    )
    Path(files.ca_file).write_bytes(ca.public_bytes(pem))
    Path(files.cert_file).write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    Path(files.key_file).write_bytes(
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


# --- the image source server -------------------------------------------------------------


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
    /lying-length (declares more than it sends, then closes); /trickle (a byte every 0.2 s);
    /silent (no answer for 10 s); /redirect/{n} (n hops, then /img.png); /loop-a <-> /loop-b;
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
    server.trickle("/trickle", png, 0.2)
    server.silent("/silent", 10)
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


# --- moto S3 -----------------------------------------------------------------------------


@dataclass
class MotoServer:
    endpoint_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def s3_settings(self, bucket: str) -> dict[str, str]:
        """Settings for scene_images_core's s3 backend against this server."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": "eu-west-1",
            "bucket": bucket,
            "access_key_id": "AKIATESTKEY",
            "secret_access_key": "test-secret-access-key-do-not-leak",
        }


@contextmanager
def moto_server(port: int | None = None) -> Iterator[MotoServer]:
    """`python -m moto.server` on 127.0.0.1:`port` (default: a free one), stopped on exit.
    A given port lets a test bring storage back where the configured settings point."""
    port = port or free_port()
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    server = MotoServer(f"http://127.0.0.1:{port}", process)
    try:
        wait_for_port("127.0.0.1", port)
        yield server
    finally:
        server.stop()


# --- Supabase Storage stand-in -----------------------------------------------------------


@contextmanager
def supabase_standin(*, gateway: bool = True, error_shape: str = "code") -> Iterator[StorageStandIn]:
    """The Supabase Storage stand-in on a free 127.0.0.1 port. `.url` is the project URL
    (gateway mode: API under /storage/v1), `.api_url` the API base, `.service_key`;
    `error_shape` picks the release whose error bodies it sends."""
    from supabase_storage_standin import StorageStandIn

    with StorageStandIn(gateway=gateway, error_shape=error_shape) as standin:
        yield standin
