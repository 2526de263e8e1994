"""Fixtures and helpers shared by the adversarial tests (test_security_*.py, test_faults.py);
test modules load them with `pytest_plugins = ["client_fixtures", "security_fixtures"]`.

Every server here listens on 127.0.0.0/8 or ::1. Hostile inputs go through the real SQL API
(`store_scene_image`, `store_scene_images`, `enqueue_scene_image`) and each refusal is checked
twice: its SQLSTATE, and that nothing was written — no row, no job, no object in a storage
root that belongs to the test alone.

- `storage`: a fresh `file` backend root under var/ (owned by the server's OS user), configured
  for the test and removed after it; `storage.objects()` lists what the server wrote.
- `fetch_settings(**overrides)`: the whole fetch policy set explicitly (loopback 127.0.0.1 only,
  1 MiB, 5 s), so no setting leaks in from another test; restored afterwards.
- `source` (127.0.0.1), `other_loopback` (127.0.0.2), `ipv6_source` (::1): image sources with
  the standard routes and a request log that starts empty for every test.
- `refused(...)`: asserts a call fails with one SQLSTATE and leaves every table and the storage
  root as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from psycopg.types.json import Jsonb
from sources import ImageSourceServer, SourceHandler, install_standard_routes

from scene_images_core.errors import ERRORS
from scene_images_core.sql_errors import SQL_ERRORS

DictConnection = psycopg.Connection[dict[str, Any]]

VAR = Path(__file__).resolve().parents[2] / "var"
LOOPBACK_ONLY = ["127.0.0.1/32"]
TEST_MAX_BYTES = 1024 * 1024  # the standard routes' /big is 2 MiB
# Every key of the fetch policy, so a test never inherits another test's limits.
BASE_FETCH = {
    "allowed_hosts": [],
    "allow_private_networks": LOOPBACK_ONLY,
    "max_bytes": TEST_MAX_BYTES,
    "timeout_s": 5,
    "max_redirects": 3,
    "max_pixels": 100_000_000,
}
# The documented error table: the SQLSTATEs any of our functions may answer with, plus the
# cancel/timeout PostgreSQL itself raises (57014, listed in store_scene_image's COMMENT).
DOCUMENTED_SQLSTATES = frozenset(SQL_ERRORS) | {cls.sqlstate for cls in ERRORS} | {"57014"}

STORE_ONE = (
    "SELECT * FROM store_scene_image(project_id => %s, scene_id => %s, source_url => %s,"
    " prompt => %s, provider => %s, metadata => %s)"
)
STORE_MANY = "SELECT * FROM store_scene_images(project_id => %s, requests => %s)"
ENQUEUE_ONE = (
    "SELECT * FROM enqueue_scene_image(project_id => %s, scene_id => %s, source_url => %s,"
    " prompt => %s, provider => %s, metadata => %s)"
)


# --- calls ---------------------------------------------------------------------------------


def store(
    conn: psycopg.Connection[Any],
    project_id: object,
    scene_id: str | None,
    source_url: str | None,
    *,
    prompt: str | None = None,
    provider: str | None = "test_gen",
    metadata: object = None,
) -> dict[str, Any]:
    """store_scene_image; metadata None means `{}`, a str is sent as raw JSON text."""
    return _call_one(conn, STORE_ONE, project_id, scene_id, source_url, prompt, provider, metadata)


def store_bulk(conn: psycopg.Connection[Any], project_id: object, requests_: object) -> list[dict[str, Any]]:
    """store_scene_images; `requests_` a Python value (sent as jsonb) or raw JSON text."""
    return [dict(r) for r in conn.execute(STORE_MANY, (project_id, _jsonb(requests_))).fetchall()]


def enqueue(
    conn: psycopg.Connection[Any],
    project_id: object,
    scene_id: str | None,
    source_url: str | None,
    *,
    prompt: str | None = None,
    provider: str | None = "test_gen",
    metadata: object = None,
) -> dict[str, Any]:
    """enqueue_scene_image, with the same arguments as store."""
    return _call_one(conn, ENQUEUE_ONE, project_id, scene_id, source_url, prompt, provider, metadata)


def _call_one(conn: psycopg.Connection[Any], statement: Any, project_id: object, scene_id: str | None,
              source_url: str | None, prompt: str | None, provider: str | None, metadata: object) -> dict[str, Any]:
    row = conn.execute(statement, (project_id, scene_id, source_url, prompt, provider, _jsonb(metadata))).fetchone()
    assert row is not None
    return dict(row)


def _jsonb(value: object) -> Jsonb | str | None:
    if value is None:
        return Jsonb({})
    if isinstance(value, RawJson):
        return value.text
    return Jsonb(value)


@dataclass(frozen=True)
class RawJson:
    """JSON text sent as is (for metadata that is not an object, or SQL NULL when text is None)."""

    text: str | None


# --- storage -------------------------------------------------------------------------------


@dataclass
class StorageRoot:
    """A `file` backend root of one test. Paths are relative, as in scene_images.storage_path."""

    path: Path
    public_base_url: str

    def objects(self) -> list[str]:
        found = []
        for directory, _, names in os.walk(self.path):
            for name in names:
                if not name.startswith(".tmp-"):  # the backend's in-progress writes
                    found.append(os.path.relpath(os.path.join(directory, name), self.path).replace(os.sep, "/"))
        return sorted(found)

    def read(self, storage_path: str) -> bytes:
        return (self.path / storage_path).read_bytes()

    def settings(self) -> dict[str, str]:
        return {"root": str(self.path), "public_base_url": self.public_base_url}


@contextmanager
def server_owned_dir(prefix: str) -> Iterator[Path]:
    """A directory under var/ that the server (OS user postgres) may write, removed after."""
    VAR.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=VAR))
    shutil.chown(path, "postgres", "postgres")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def storage(db: DictConnection, restore_settings: None) -> Iterator[StorageRoot]:
    with server_owned_dir("security-storage-") as path:
        # Port 9 (discard): URLs only name objects here, nothing fetches them.
        root = StorageRoot(path, "http://127.0.0.1:9/objects")
        db.execute("SELECT configure_scene_image_storage('file', %s)", (Jsonb(root.settings()),))
        yield root


def assert_row_matches_object(row: dict[str, Any], root: StorageRoot) -> None:
    """A stored row keeps the table's promises and names an object with exactly its bytes."""
    data = root.read(row["storage_path"])
    assert hashlib.sha256(data).hexdigest() == row["sha256"]
    assert len(data) == row["file_size"]
    assert row["storage_url"] == f"{root.public_base_url}/{row['storage_path']}"
    assert row["storage_path"].startswith(f"projects/{row['project_id']}/scenes/{row['scene_id']}_")
    assert row["content_type"].startswith("image/") and row["width"] > 0 and row["height"] > 0


# --- fetch policy and sources --------------------------------------------------------------

FetchSettings = Callable[..., dict[str, Any]]


@pytest.fixture
def fetch_settings(db: DictConnection, restore_settings: None) -> FetchSettings:
    """`fetch_settings(**overrides)` sets the whole fetch policy: BASE_FETCH plus overrides."""

    def apply(**overrides: Any) -> dict[str, Any]:
        row = db.execute(
            "SELECT configure_scene_image_fetch(%s) AS policy", (Jsonb({**BASE_FETCH, **overrides}),)
        ).fetchone()
        assert row is not None
        policy: dict[str, Any] = row["policy"]
        return policy

    apply()
    return apply


@contextmanager
def _standard_source(host: str) -> Iterator[ImageSourceServer]:
    with ImageSourceServer(host) as server:
        install_standard_routes(server)
        yield server


@pytest.fixture(scope="module")
def _source() -> Iterator[ImageSourceServer]:
    with _standard_source("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def _other_loopback() -> Iterator[ImageSourceServer]:
    with _standard_source("127.0.0.2") as server:
        yield server


@pytest.fixture(scope="module")
def _ipv6_source() -> Iterator[ImageSourceServer]:
    with _standard_source("::1") as server:
        yield server


@pytest.fixture
def source(_source: ImageSourceServer) -> ImageSourceServer:
    """The image source on 127.0.0.1 (the one address the test policy allows); log empty."""
    _source.clear_log()
    return _source


@pytest.fixture
def other_loopback(_other_loopback: ImageSourceServer) -> ImageSourceServer:
    """An image source on 127.0.0.2: loopback, but outside the allowed 127.0.0.1/32."""
    _other_loopback.clear_log()
    return _other_loopback


@pytest.fixture
def ipv6_source(_ipv6_source: ImageSourceServer) -> ImageSourceServer:
    """An image source on ::1."""
    _ipv6_source.clear_log()
    return _ipv6_source


def stall_mid_body(server: ImageSourceServer, path: str, data: bytes, sent: int, seconds: float) -> None:
    """Announce all of `data`, send its first `sent` bytes, then go silent for `seconds`
    (released when the server stops)."""

    def route(handler: SourceHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[:sent])
        handler.wfile.flush()
        server.stopping.wait(seconds)
        handler.close_connection = True

    server.routes[path] = route


# --- refusals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    rows: list[tuple[Any, ...]]
    jobs: list[tuple[Any, ...]]
    master_json: Any
    objects: list[str]


def snapshot(db: DictConnection, project_id: object, root: StorageRoot | None) -> Snapshot:
    rows = db.execute(
        "SELECT id, scene_id, version, is_current FROM scene_images WHERE project_id = %s ORDER BY id", (project_id,)
    ).fetchall()
    jobs = db.execute(
        "SELECT id, status FROM scene_images_internal.scene_image_jobs WHERE project_id = %s ORDER BY id", (project_id,)
    ).fetchall()
    master = db.execute("SELECT master_json FROM projects WHERE id = %s", (project_id,)).fetchone()
    return Snapshot(
        [tuple(r.values()) for r in rows],
        [tuple(j.values()) for j in jobs],
        master["master_json"] if master else None,
        root.objects() if root is not None else [],
    )


@contextmanager
def refused(
    db: DictConnection, project_id: object, root: StorageRoot | None, sqlstate: str
) -> Iterator[pytest.ExceptionInfo[psycopg.Error]]:
    """The block must raise a psycopg error with `sqlstate` and change no row, job, masterJSON
    or object of the project."""
    before = snapshot(db, project_id, root)
    with pytest.raises(psycopg.Error) as caught:
        yield caught
    assert caught.value.sqlstate == sqlstate, f"{caught.value.sqlstate}: {primary(caught.value)}"
    assert snapshot(db, project_id, root) == before, "a refused call wrote something"


def primary(error: psycopg.Error) -> str:
    """The error's message as the server sent it (without DETAIL, HINT or CONTEXT)."""
    return error.diag.message_primary or ""


def message_texts(error: psycopg.Error) -> str:
    """Everything the server said about an error, for secret and password searches."""
    diag = error.diag
    return "\n".join(
        part or "" for part in (str(error), diag.message_primary, diag.message_detail, diag.message_hint, diag.context)
    )


# --- in-process fetches of non-loopback addresses -------------------------------------------


class Tripwire(requests.Session):
    """A session that fails the test if fetch ever tries to send a request."""

    def send(self, *args: object, **kwargs: object) -> requests.Response:
        raise AssertionError("fetch tried to connect although the policy should refuse first")


def resolver_for(mapping: dict[str, list[str]], calls: list[str] | None = None) -> Callable[[str, int], list[str]]:
    """An injected resolver answering from `mapping` (and recording the names asked)."""

    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return mapping[host]

    return resolve


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def row_json(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str)
