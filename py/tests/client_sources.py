"""Image sources for the client tests: the shared loopback source server (tests/sources.py)
with fresh test images and a route for every way a source can fail, and the table of source
failures each transport must surface as its exception class. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import io
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from loopback_http import free_port
from PIL import Image
from sources import STALL_S, ImageSourceServer

from scene_images import (
    HostNotAllowed,
    ImageTooLarge,
    InvalidSourceUrl,
    PrivateAddressRefused,
    SceneImageError,
    SourceHttpError,
    SourceIncomplete,
    SourceNotAnImage,
    SourceTimeout,
    SourceTooLarge,
    SourceUnreachable,
    TooManyRedirects,
)

DictConnection = psycopg.Connection[dict[str, Any]]  # conftest's `db`
FetchPolicy = Callable[..., dict[str, Any]]  # the `fetch_policy` fixture

_colours = itertools.count(1)


def png(width: int = 8, height: int = 8) -> bytes:
    """A PNG of one colour no other call in this process uses, so every image has its own sha256
    (store_scene_image returns the current row unchanged when the bytes are the same)."""
    n = next(_colours)
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (n % 256, n // 256 % 256, n // 65536 % 256)).save(buffer, "PNG")
    return buffer.getvalue()


class ImageSource(ImageSourceServer):
    """The shared loopback source server (tests/sources.py) with the routes the client tests
    use: fresh images from `image()`, and /loop-a, /silent, /lying-length.png and
    /not-an-image.png for the failures. Unknown paths answer 404."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.redirect("/loop-a", "/loop-b")
        self.redirect("/loop-b", "/loop-a")
        self.silent("/silent", STALL_S)  # released at stop()
        whole = png()
        self.body("/lying-length.png", whole[: len(whole) // 2], content_length=len(whole))
        self.body("/not-an-image.png", b"<html>this is no image</html>")

    def image(self, width: int = 8, height: int = 8) -> str:
        """Publish a fresh PNG and return its URL."""
        path = f"/images/{uuid.uuid4().hex}.png"
        self.body(path, png(width, height))
        return self.url(path)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    return f"http://127.0.0.1:{free_port()}/gone.png"


def as_user(conn: psycopg.Connection[Any], user_id: uuid.UUID) -> None:
    """Make `conn` act as a Supabase signed-in user, as PostgREST would for its JWT."""
    conn.execute(
        "SELECT set_config('role', 'authenticated', false), set_config('request.jwt.claims', %s, false)",
        (json.dumps({"sub": str(user_id), "role": "authenticated"}),),
    )


@dataclass(frozen=True)
class SourceFailure:
    """A source that makes store_scene_image fail with `error` under fetch `policy`."""

    error: type[SceneImageError]
    url: Callable[[ImageSource], str]
    policy: dict[str, Any] = field(default_factory=dict)


SOURCE_FAILURES = [
    SourceFailure(InvalidSourceUrl, lambda s: s.url("/x.png").replace("http://", "ftp://")),
    SourceFailure(HostNotAllowed, lambda s: s.image(), {"allowed_hosts": ["images.example.com"]}),
    SourceFailure(PrivateAddressRefused, lambda s: s.image(), {"allow_private_networks": False}),
    SourceFailure(TooManyRedirects, lambda s: s.url("/loop-a")),
    SourceFailure(SourceHttpError, lambda s: s.url("/missing.png")),
    SourceFailure(SourceTooLarge, lambda s: s.image(64, 64), {"max_bytes": 50}),
    SourceFailure(SourceTimeout, lambda s: s.url("/silent"), {"timeout_s": 1}),
    SourceFailure(SourceUnreachable, lambda s: closed_port_url()),
    SourceFailure(SourceIncomplete, lambda s: s.url("/lying-length.png")),
    SourceFailure(SourceNotAnImage, lambda s: s.url("/not-an-image.png")),
    SourceFailure(ImageTooLarge, lambda s: s.image(8, 8), {"max_pixels": 10}),
]
SOURCE_FAILURE_IDS = [failure.error.__name__ for failure in SOURCE_FAILURES]
