"""Fixtures and helpers for the database-level store tests (test_store_*.py); test modules load
them with `pytest_plugins = ["store_fixtures"]`.

Settings come back after each test through client_fixtures' `restore_settings`, and its
`fetch_policy` lets the database fetch from loopback sources. Added here:

- `store_loopback_only`: this process may only reach 127.0.0.0/8 and ::1
  (network_guard.guard_loopback_only).
- `cdn`: a started ImageSourceServer (a generator's CDN) with the standard routes and the
  bytes they serve.
- `store_root` / `disk`: a directory of the test's own under var/ (owned by the postgres OS
  user, which the server writes as) and the file backend configured on it.
- `serve_after`, `serve_distinct_images`: route factories (a slow CDN's time to first byte;
  many different real images).
- `call_store_scene_image`, `call_store_scene_images`: the SQL calls in named notation.

Fixture names are distinct from those of the other fixture plugins (security_fixtures has a
`source`), because a plugin's fixtures are visible to every test module.

PYTEST_DONT_REWRITE: test modules import helpers from here before pytest loads it as a plugin,
so it cannot be rewritten anyway; its asserts only narrow types.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from client_sources import DictConnection
from images import make_image
from network_guard import guard_loopback_only
from psycopg import sql
from psycopg.types.json import Jsonb
from sources import ImageSourceServer, SourceHandler, install_standard_routes

pytest_plugins = ["client_fixtures"]  # restore_settings, fetch_policy

VAR_DIR = Path(__file__).resolve().parents[2] / "var"
SERVER_OS_USER = "postgres"
IMMUTABLE_CACHE_CONTROL = "max-age=31536000, immutable"
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


@pytest.fixture
def store_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    guard_loopback_only(monkeypatch)


@dataclass(frozen=True)
class Cdn:
    server: ImageSourceServer
    images: dict[str, bytes]  # path -> bytes of the standard image routes

    def url(self, path: str) -> str:
        return self.server.url(path)


@pytest.fixture
def cdn() -> Iterator[Cdn]:
    with ImageSourceServer("127.0.0.1") as server:
        yield Cdn(server, install_standard_routes(server))


@pytest.fixture
def store_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="test-store-", dir=VAR_DIR))
    shutil.chown(root, SERVER_OS_USER, SERVER_OS_USER)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class FileStorage:
    root: Path
    public_base_url: str

    def files(self, project_id: uuid.UUID) -> list[str]:
        """Every file under projects/{project_id}/ (temporary ones too), relative to the root."""
        folder = self.root / "projects" / str(project_id)
        return sorted(p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())

    def read(self, storage_path: str) -> bytes:
        return (self.root / storage_path).read_bytes()


@pytest.fixture
def disk(db: DictConnection, restore_settings: None, store_root: Path) -> FileStorage:
    storage = FileStorage(store_root, f"http://127.0.0.1:54380/{store_root.name}")
    configure_storage(db, "file", {"root": str(storage.root), "public_base_url": storage.public_base_url})
    return storage


def configure_storage(db: DictConnection, backend: str, settings: dict[str, str]) -> dict[str, Any]:
    row = db.execute(
        "SELECT configure_scene_image_storage(backend => %s, settings => %s) AS described",
        (backend, Jsonb(settings)),
    ).fetchone()
    assert row is not None
    described: dict[str, Any] = row["described"]
    return described


# --- routes ------------------------------------------------------------------------------


def serve_after(
    server: ImageSourceServer, path: str, delay_s: float, data: bytes, content_type: str, *, status: int = 200
) -> None:
    """Route `path`: wait `delay_s` (a slow CDN's time to first byte), then answer."""

    def route(handler: SourceHandler) -> None:
        if not server.stopping.wait(delay_s):
            handler.send_body(data, content_type, status=status)

    server.routes[path] = route


def serve_distinct_images(server: ImageSourceServer, count: int, *, delay_s: float = 0.0) -> dict[str, bytes]:
    """Routes /distinct/{i}.{ext} with `count` different real images (JPEG, PNG, WebP, GIF in
    turn, each of its own size, so each has its own sha256); returns path -> bytes."""
    images = {}
    for i in range(count):
        extension = list(CONTENT_TYPES)[i % len(CONTENT_TYPES)]
        path = f"/distinct/{i}.{extension}"
        images[path] = make_image(extension, size=(40 + i, 30))
        serve_after(server, path, delay_s, images[path], CONTENT_TYPES[extension])
    return images


# --- SQL calls ---------------------------------------------------------------------------


def call_store_scene_image(
    db: DictConnection, project_id: uuid.UUID, scene_id: str, source_url: str, **optional: Any
) -> dict[str, Any]:
    """store_scene_image in named notation; `optional`: prompt, provider, metadata (a dict)."""
    args: dict[str, Any] = {"project_id": project_id, "scene_id": scene_id, "source_url": source_url, **optional}
    if "metadata" in args:
        args["metadata"] = Jsonb(args["metadata"])
    call = sql.SQL("SELECT * FROM store_scene_image({})").format(
        sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in args)
    )
    row = db.execute(call, args).fetchone()
    assert row is not None
    return row


def call_store_scene_images(
    db: DictConnection, project_id: uuid.UUID, requests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT * FROM store_scene_images(project_id => %s, requests => %s)", (project_id, Jsonb(requests))
    ).fetchall()


def scene_rows(db: DictConnection, project_id: uuid.UUID) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT * FROM scene_images WHERE project_id = %s ORDER BY scene_id, version", (project_id,)
    ).fetchall()


def start_frame(db: DictConnection, project_id: uuid.UUID, scene_id: str) -> str | None:
    row = db.execute(
        "SELECT master_json #>> ARRAY['scenes', %s, 'scene_start_frame'] AS url FROM projects WHERE id = %s",
        (scene_id, project_id),
    ).fetchone()
    assert row is not None
    url: str | None = row["url"]
    return url


def failure_text(error: psycopg.Error) -> str:
    """All a client is told about an error: message, detail, hint and context."""
    diag = error.diag
    return "\n".join(filter(None, [str(error), diag.message_detail, diag.message_hint, diag.context]))
