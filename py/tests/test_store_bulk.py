"""store_scene_images with the `file` backend, through real SQL against the test database: many
images in one call, downloaded concurrently, recorded in request order, all or nothing. Sources
are a loopback ImageSourceServer (tests/sources.py); the storage root is each test's own."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from typing import Any

import psycopg
import pytest
from client_sources import DictConnection
from psycopg.types.json import Json
from store_fixtures import (
    Cdn,
    FileStorage,
    call_store_scene_image,
    call_store_scene_images,
    scene_rows,
    serve_distinct_images,
    start_frame,
)

pytest_plugins = ["store_fixtures"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy")

COUNT = 20
POISON_AT = 10
GATHERED = COUNT // 2  # downloads the concurrency test requires in flight at once (the pool is 32)


def bulk_requests(cdn: Cdn, paths: list[str]) -> list[dict[str, Any]]:
    """One request per path, scene_ids scene_00 ... in path order, with a prompt and metadata."""
    return [
        {"scene_id": f"scene_{i:02d}", "source_url": cdn.url(path), "prompt": f"shot {i}", "metadata": {"shot": i}}
        for i, path in enumerate(paths)
    ]


def poisoned_item(cdn: Cdn, path: str) -> str:
    """How the error message names the failed request: index, scene_id, then its URL."""
    return f"requests[{POISON_AT}] (scene_id scene_{POISON_AT:02d}): {cdn.url(path)}: "


def test_store_scene_images_stores_twenty_images_in_request_order(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    images = serve_distinct_images(cdn.server, COUNT)
    paths = list(images)
    requests = bulk_requests(cdn, paths)
    random.Random(7).shuffle(requests)  # request order differs from scene_id order
    revisited = {r["scene_id"] for r in requests[:5]}
    for scene_id in revisited:  # an older version exists for these: theirs becomes version 2
        call_store_scene_image(db, project_id, scene_id, cdn.url("/img.png"))
    cdn.server.clear_log()

    rows = call_store_scene_images(db, project_id, requests)

    assert Counter(cdn.server.paths()) == Counter({path: 1 for path in images})
    assert [r["scene_id"] for r in rows] == [r["scene_id"] for r in requests]
    for request, row in zip(requests, rows, strict=True):
        data = images[paths[request["metadata"]["shot"]]]
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert (row["version"], row["is_current"]) == (2 if request["scene_id"] in revisited else 1, True)
        assert (row["generation_prompt"], row["fal_metadata"]["shot"]) == (request["prompt"], request["metadata"]["shot"])
        assert disk.read(row["storage_path"]) == data
        assert start_frame(db, project_id, row["scene_id"]) == row["storage_url"]
    assert len(disk.files(project_id)) == COUNT + len(revisited)
    assert len(scene_rows(db, project_id)) == COUNT + len(revisited)


def test_store_scene_images_downloads_concurrently(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    images = serve_distinct_images(cdn.server, COUNT)
    # Each source answers only once GATHERED of them are being downloaded at the same moment;
    # one download after another would never get an answer (503 after sources.HOLD_S).
    cdn.server.gathered(images, GATHERED)

    rows = call_store_scene_images(db, project_id, bulk_requests(cdn, list(images)))

    assert len(rows) == COUNT and len(disk.files(project_id)) == COUNT
    assert sorted(row["sha256"] for row in rows) == sorted(hashlib.sha256(data).hexdigest() for data in images.values())


@pytest.mark.parametrize(
    ("body", "content_type", "status", "sqlstate", "name"),
    [
        (b"not found", "text/plain", 404, "SIF01", "SourceHttpError"),
        (b"<!DOCTYPE html><html>Sign in</html>", "text/html", 200, "SII01", "SourceNotAnImage"),
    ],
    ids=["404", "html"],
)
def test_store_scene_images_with_a_poisoned_item_stores_nothing(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage,
    body: bytes, content_type: str, status: int, sqlstate: str, name: str,
) -> None:
    paths = list(serve_distinct_images(cdn.server, COUNT))
    paths[POISON_AT] = "/poison"
    cdn.server.body("/poison", body, content_type, status=status)

    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_images(db, project_id, bulk_requests(cdn, paths))

    assert caught.value.sqlstate == sqlstate
    assert str(caught.value).startswith(f"{name}: {poisoned_item(cdn, '/poison')}")
    assert "/poison" in cdn.server.paths()
    assert scene_rows(db, project_id) == []
    assert disk.files(project_id) == []


def test_store_scene_images_removes_what_it_uploaded_when_a_late_item_fails(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    paths = list(serve_distinct_images(cdn.server, COUNT))
    paths[POISON_AT] = "/late-404"
    # Answered only once every other image reached storage, however long that takes.
    others_stored = cdn.server.held("/late-404", b"gone", "text/plain", status=404,
                                    until=lambda: len(disk.files(project_id)) >= COUNT - 1)

    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_images(db, project_id, bulk_requests(cdn, paths))

    assert caught.value.sqlstate == "SIF01"
    assert str(caught.value).startswith(f"SourceHttpError: {poisoned_item(cdn, '/late-404')}")
    assert not others_stored.timed_out  # every other image reached storage during the call ...
    assert disk.files(project_id) == []  # ... and none is left
    assert scene_rows(db, project_id) == []


def test_store_scene_images_called_from_a_json_body_like_postgrest_answers_an_array_of_rows(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    # PostgREST types the body by the signature (json_to_record) and aggregates a setof result.
    paths = list(serve_distinct_images(cdn.server, 3))
    body = {"project_id": str(project_id), "requests": bulk_requests(cdn, paths)}
    row = db.execute(
        "SELECT coalesce(json_agg(pgrst_call), '[]') AS body"
        " FROM json_to_record(%s) AS a(project_id uuid, requests jsonb),"
        " LATERAL public.store_scene_images(project_id := a.project_id, requests := a.requests) AS pgrst_call",
        (Json(body),),
    ).fetchone()

    assert row is not None
    answer = row["body"]
    assert [item["scene_id"] for item in answer] == ["scene_00", "scene_01", "scene_02"]
    assert [item["fal_metadata"]["shot"] for item in answer] == [0, 1, 2]
    assert sorted(item["id"] for item in answer) == sorted(str(r["id"]) for r in scene_rows(db, project_id))
