"""store_scene_image(s) with the `supabase` backend, through real SQL against the test database.

The storage server here is a STAND-IN for Supabase Storage, not Supabase itself: a loopback
server (tests/supabase_storage_standin.py, started by launchers.supabase_standin()) implementing
the REST API written down in shared/supabase-storage-api.md, behind the /storage/v1 gateway
prefix. Against it: configuring creates the missing bucket (public), uploads carry the sniffed
type and the immutable cache-control, public URLs serve the stored bytes, a failed bulk leaves
no object, and the service key never comes back in rows, errors or configure output."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import requests
from client_sources import DictConnection
from launchers import supabase_standin
from store_fixtures import (
    IMMUTABLE_CACHE_CONTROL,
    Cdn,
    call_store_scene_image,
    call_store_scene_images,
    configure_storage,
    failure_text,
    scene_rows,
    serve_distinct_images,
)
from supabase_storage_standin import ERROR_SHAPES, StorageStandIn

pytest_plugins = ["store_fixtures"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy")

SCENE = "scene_01"
BUCKET = "scene-images"


@pytest.fixture(params=ERROR_SHAPES)
def standin(request: pytest.FixtureRequest) -> Iterator[StorageStandIn]:
    """Every test runs against both error-body shapes (releases with and without `code`)."""
    with supabase_standin(error_shape=request.param) as server:
        yield server


@pytest.fixture
def supabase_storage(db: DictConnection, restore_settings: None, standin: StorageStandIn) -> dict[str, str]:
    settings = standin.backend_settings(BUCKET)
    configure_storage(db, "supabase", settings)
    return settings


def uploads(standin: StorageStandIn, project_id: uuid.UUID) -> list[str]:
    """Paths of the upload requests the stand-in received for this project's objects."""
    route = f"/storage/v1/object/{BUCKET}/projects/{project_id}/"
    return [r.path for r in standin.requests if r.method == "POST" and r.path.startswith(route)]


def test_configure_supabase_creates_the_missing_bucket_public_and_returns_no_key(
    db: DictConnection, restore_settings: None, standin: StorageStandIn
) -> None:
    assert standin.buckets == {}
    described = configure_storage(db, "supabase", standin.backend_settings(BUCKET))

    assert standin.buckets[BUCKET].public is True
    assert described == {"backend": "supabase", "settings": {"url": standin.url, "bucket": BUCKET}}
    assert standin.service_key not in json.dumps(described)
    assert bucket_creations(standin) == 1
    configure_storage(db, "supabase", standin.backend_settings(BUCKET))  # again: the bucket exists
    assert bucket_creations(standin) == 1


def bucket_creations(standin: StorageStandIn) -> int:
    """The create-bucket requests the stand-in received."""
    return sum(1 for r in standin.requests if (r.method, r.path) == ("POST", "/storage/v1/bucket"))


def test_configure_supabase_with_a_refused_key_raises_misconfigured_without_the_key(
    db: DictConnection, restore_settings: None, standin: StorageStandIn
) -> None:
    wrong_key = "eyJhbGciOiJIUzI1NiJ9.not-the-service-role-key.c2lnbmF0dXJl"
    with pytest.raises(psycopg.Error) as caught:
        configure_storage(db, "supabase", {**standin.backend_settings(BUCKET), "service_key": wrong_key})

    assert caught.value.sqlstate == "SIS02"
    assert "signature verification failed" in str(caught.value)  # the stand-in's answer reached us
    assert wrong_key not in failure_text(caught.value)
    assert standin.buckets == {}


def test_store_scene_image_on_supabase_uploads_the_sniffed_type_with_immutable_caching(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, standin: StorageStandIn,
    supabase_storage: dict[str, str],
) -> None:
    data = cdn.images["/img.png"]  # served by /mislabeled.png as image/jpeg
    row = call_store_scene_image(db, project_id, SCENE, cdn.url("/mislabeled.png"))

    stored = standin.objects[(BUCKET, row["storage_path"])]
    assert (stored.data, stored.content_type, stored.cache_control) == (data, "image/png", IMMUTABLE_CACHE_CONTROL)
    assert list(standin.objects) == [(BUCKET, row["storage_path"])]
    assert row["storage_url"] == f"{standin.url}/storage/v1/object/public/{BUCKET}/{row['storage_path']}"
    served = requests.get(row["storage_url"], timeout=10)
    assert (served.status_code, served.content, served.headers["Content-Type"]) == (200, data, "image/png")
    assert (row["content_type"], row["file_size"], row["version"]) == ("image/png", len(data), 1)
    assert standin.service_key not in str(row)


def test_store_scene_images_on_supabase_with_a_poisoned_item_leaves_no_object(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, standin: StorageStandIn,
    supabase_storage: dict[str, str],
) -> None:
    paths = list(serve_distinct_images(cdn.server, 8))
    paths[4] = "/late-404"
    # Answered only once the seven others were uploaded, however long that takes.
    held = cdn.server.held("/late-404", b"expired", "text/plain", status=404,
                           until=lambda: len(uploads(standin, project_id)) >= 7)
    bulk = [{"scene_id": f"scene_{i}", "source_url": cdn.url(path)} for i, path in enumerate(paths)]

    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_images(db, project_id, bulk)

    assert caught.value.sqlstate == "SIF01"
    assert "requests[4] (scene_id scene_4): " in str(caught.value)
    assert not held.timed_out and len(uploads(standin, project_id)) == 7  # the others were uploaded ...
    assert standin.objects == {}  # ... and deleted again
    assert scene_rows(db, project_id) == []
    assert standin.service_key not in failure_text(caught.value)


def test_store_scene_image_on_supabase_while_storage_is_down_fails_without_the_key(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, restore_settings: None
) -> None:
    with supabase_standin() as gone:
        configure_storage(db, "supabase", gone.backend_settings(BUCKET))
        key = gone.service_key
    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_image(db, project_id, SCENE, cdn.url("/img.gif"))

    assert caught.value.sqlstate == "SIS01"
    assert str(caught.value).startswith("StorageFailed: ")
    assert key not in failure_text(caught.value)
    assert cdn.server.paths() == ["/img.gif"]
    assert scene_rows(db, project_id) == []
