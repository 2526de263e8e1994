"""A local stand-in for an AI image generator (fal.ai-like) whose result URLs expire.

POST /fal-ai/flux/dev {"prompt", "seed"?, "output_format"?: "jpeg"|"png"} paints a picture and
answers in fal's shape: {"images": [{"url", "width", "height", "content_type"}], "seed", "prompt", ...}.
The URL is signed and lives `ttl` seconds, like a generator's CDN: afterwards it answers
403 with an S3-style XML error, which is exactly why a pipeline must store images at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import painter

ENDPOINT = "/fal-ai/flux/dev"
FORMATS = {"jpeg": ("JPEG", "image/jpeg", "jpg"), "png": ("PNG", "image/png", "png")}


@dataclass(frozen=True)
class GeneratedImage:
    image_id: str
    body: bytes
    content_type: str
    prompt: str
    seed: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class ImageGenerator:
    """The generator's state: its signing key, what it painted and how often files were served."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.images: dict[str, GeneratedImage] = {}
        self.downloads: dict[str, int] = {}
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="generator", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ImageGenerator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def generate(self, prompt: str, seed: int | None, output_format: str) -> dict[str, Any]:
        """Paint an image, keep it, and return fal's response with a signed, expiring URL."""
        pil_format, content_type, ext = FORMATS[output_format]
        seed = secrets.randbelow(2**31) if seed is None else seed
        started = time.perf_counter()
        body = painter.paint(prompt, seed, fmt=pil_format)
        image = GeneratedImage(secrets.token_hex(8), body, content_type, prompt, seed)
        with self._lock:
            self.images[image.image_id] = image
        expires = int(time.time() + self.ttl)
        path = f"/files/{image.image_id}.{ext}"
        url = f"{self.base_url}{path}?Expires={expires}&Signature={self._sign(path, expires)}"
        return {
            "images": [{"url": url, "width": painter.WIDTH, "height": painter.HEIGHT, "content_type": content_type}],
            "timings": {"inference": round(time.perf_counter() - started, 3)},
            "seed": seed,
            "has_nsfw_concepts": [False],
            "prompt": prompt,
        }

    def serve_file(self, path: str, query: str) -> tuple[HTTPStatus, str, bytes]:
        """(status, content type, body) for a GET of a result URL: the image, or why not."""
        params = parse_qs(query)
        expires_s, signature = params.get("Expires", [""])[0], params.get("Signature", [""])[0]
        if not expires_s.isdigit() or not hmac.compare_digest(signature, self._sign(path, int(expires_s))):
            return _xml_error(HTTPStatus.FORBIDDEN, "SignatureDoesNotMatch", "The request signature is invalid.")
        if time.time() > int(expires_s):
            expired_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(expires_s)))
            return _xml_error(HTTPStatus.FORBIDDEN, "AccessDenied", "Request has expired",
                              f"<Expires>{expired_at}</Expires>")
        image = self.images.get(_image_id(path))
        if image is None:
            return _xml_error(HTTPStatus.NOT_FOUND, "NoSuchKey", "The specified key does not exist.")
        with self._lock:
            self.downloads[image.image_id] = self.downloads.get(image.image_id, 0) + 1
        return HTTPStatus.OK, image.content_type, image.body

    def image_for(self, url: str) -> GeneratedImage:
        """The image behind one of this generator's URLs."""
        return self.images[_image_id(urlsplit(url).path)]

    def _sign(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def _image_id(path: str) -> str:
    """/files/<image_id>.<ext> -> <image_id>"""
    return path.removeprefix("/files/").partition(".")[0]


def _xml_error(status: HTTPStatus, code: str, message: str, extra: str = "") -> tuple[HTTPStatus, str, bytes]:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message>{extra}</Error>\n")
    return status, "application/xml", body.encode()


def _handler_for(generator: ImageGenerator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            if urlsplit(self.path).path != ENDPOINT:
                self._reply(HTTPStatus.NOT_FOUND, "application/json", b'{"detail": "Not Found"}')
                return
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                prompt = str(request["prompt"])
                result = generator.generate(prompt, request.get("seed"), request.get("output_format", "jpeg"))
            except (ValueError, KeyError, TypeError) as exc:
                self._reply(HTTPStatus.UNPROCESSABLE_ENTITY, "application/json",
                            json.dumps({"detail": f"bad request: {exc!r}"}).encode())
                return
            self._reply(HTTPStatus.OK, "application/json", json.dumps(result).encode())

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            self._reply(*generator.serve_file(parts.path, parts.query))

        def _reply(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the demo prints its own story."""

    return Handler
