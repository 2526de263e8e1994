"""Fixtures shared by the client tests (store, Supabase transport, CLI); test modules load
them with `pytest_plugins = ["client_fixtures"]`.

- `store`: a SceneImageStore on the test database.
- `image_source`: a started loopback ImageSource, stopped after the test.
- `fetch_policy`: loopback sources allowed, committed (so other connections and the PostgREST
  stand-in see it); call it with more settings for one test.
- `restore_settings`: the storage and fetch settings put back afterwards, since the test
  database is shared by every test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from client_sources import DictConnection, FetchPolicy, ImageSource
from psycopg.types.json import Jsonb

from scene_images import SceneImageStore

LOOPBACK = ["127.0.0.1/32"]


@pytest.fixture(scope="module")
def store(conninfo: str) -> Iterator[SceneImageStore]:
    with SceneImageStore(conninfo, max_size=2) as client:
        yield client


@pytest.fixture
def image_source() -> Iterator[ImageSource]:
    source = ImageSource()
    source.start()
    yield source
    source.stop()


@pytest.fixture
def restore_settings(db: DictConnection) -> Iterator[None]:
    # Straight to the internal table: configure_* never return secrets, so they cannot restore.
    saved = db.execute("SELECT name, value FROM scene_images_internal.settings").fetchall()
    yield
    for row in saved:
        db.execute(
            "UPDATE scene_images_internal.settings SET value = %s WHERE name = %s",
            (Jsonb(row["value"]), row["name"]),
        )


@pytest.fixture
def fetch_policy(db: DictConnection, restore_settings: None) -> FetchPolicy:
    """`fetch_policy(**settings)` applies loopback access plus `settings`; returns the policy."""

    def apply(**settings: Any) -> dict[str, Any]:
        row = db.execute(
            "SELECT configure_scene_image_fetch(settings => %s) AS policy",
            (Jsonb({"allow_private_networks": LOOPBACK, **settings}),),
        ).fetchone()
        assert row is not None
        policy: dict[str, Any] = row["policy"]
        return policy

    apply()
    return apply


@pytest.fixture
def storage_dir() -> Iterator[str]:
    """A directory the server (the postgres OS user) may create a storage root in."""
    path = tempfile.mkdtemp(prefix="scene-images-client-")
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)
