"""The versioning trigger under real concurrent connections."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

THREADS = 8
INSERTS_PER_THREAD = 50

INSERT = """
INSERT INTO scene_images (project_id, scene_id, storage_path, storage_url, file_size, sha256, width, height)
VALUES (%(project_id)s, %(scene_id)s, %(path)s, %(url)s, 1, repeat('a', 64), 1, 1)
RETURNING version
"""


def insert_many(conninfo: str, project_id: uuid.UUID, scene_for: Callable[[int], str], start: threading.Barrier) -> list[int]:
    versions = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        start.wait()
        for i in range(INSERTS_PER_THREAD):
            scene_id = scene_for(i)
            path = f"projects/{project_id}/scenes/{scene_id}_{uuid.uuid4().hex}.jpg"
            row = conn.execute(
                INSERT, {"project_id": project_id, "scene_id": scene_id, "path": path, "url": "http://127.0.0.1/" + path}
            ).fetchone()
            assert row is not None
            versions.append(row[0])
    return versions


def run_writers(conninfo: str, project_id: uuid.UUID, scene_for_thread) -> None:
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [
            pool.submit(insert_many, conninfo, project_id, scene_for_thread(t), start) for t in range(THREADS)
        ]
        for future in futures:
            future.result()


def assert_gapless_with_one_current(db: psycopg.Connection[dict[str, Any]], project_id: uuid.UUID) -> Counter:
    rows = db.execute(
        "SELECT scene_id, version, is_current FROM scene_images WHERE project_id = %s ORDER BY scene_id, version",
        (project_id,),
    ).fetchall()
    per_scene: dict[str, list[int]] = {}
    current: Counter = Counter()
    for row in rows:
        per_scene.setdefault(row["scene_id"], []).append(row["version"])
        if row["is_current"]:
            current[row["scene_id"]] += 1
    for scene_id, versions in per_scene.items():
        assert versions == list(range(1, len(versions) + 1)), f"{scene_id}: versions have a gap or duplicate"
        assert current[scene_id] == 1, f"{scene_id}: {current[scene_id]} current rows"
        newest = max(versions)
        current_row = db.execute(
            "SELECT version FROM current_scene_images WHERE project_id = %s AND scene_id = %s", (project_id, scene_id)
        ).fetchone()
        assert current_row is not None and current_row["version"] == newest
    return Counter({scene: len(v) for scene, v in per_scene.items()})


def test_versioning_same_scene_concurrent_writers_get_gapless_versions(conninfo, db, project_id):
    run_writers(conninfo, project_id, lambda t: (lambda i: "hot"))
    counts = assert_gapless_with_one_current(db, project_id)
    assert counts == Counter({"hot": THREADS * INSERTS_PER_THREAD})


def test_versioning_different_scenes_concurrent_writers_each_gapless(conninfo, db, project_id):
    run_writers(conninfo, project_id, lambda t: (lambda i: f"scene-{(t + i) % 5}"))
    counts = assert_gapless_with_one_current(db, project_id)
    assert sum(counts.values()) == THREADS * INSERTS_PER_THREAD
    assert set(counts) == {f"scene-{n}" for n in range(5)}


def test_versioning_different_scenes_do_not_block_each_other(conninfo, project_id):
    """A writer holding scene a's lock (transaction open) must not delay a writer of scene b."""
    params = {"project_id": project_id, "path": "p/a.jpg", "url": "http://127.0.0.1/a"}
    with psycopg.connect(conninfo) as holder, psycopg.connect(conninfo) as other:
        holder.execute(INSERT, params | {"scene_id": "a"})  # transaction left open
        other.execute("SET lock_timeout = '2s'")
        assert other.execute(INSERT, params | {"scene_id": "b"}).fetchone()[0] == 1
        other.commit()
        other.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute(INSERT, params | {"scene_id": "a"})
        other.rollback()
        holder.commit()


def test_master_json_matches_current_after_concurrent_writers(conninfo, db, project_id):
    run_writers(conninfo, project_id, lambda t: (lambda i: f"scene-{i % 3}"))
    master = db.execute("SELECT master_json FROM projects WHERE id = %s", (project_id,)).fetchone()["master_json"]
    current = {
        row["scene_id"]: row["storage_url"]
        for row in db.execute(
            "SELECT scene_id, storage_url FROM current_scene_images WHERE project_id = %s", (project_id,)
        )
    }
    assert {scene: entry["scene_start_frame"] for scene, entry in master["scenes"].items()} == current
