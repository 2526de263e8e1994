"""store_scene_image(s) with the `s3` backend, through real SQL against the test database and a
real moto S3 server on loopback (launchers.moto_server()): configuring creates the bucket, objects
land with the sniffed type, a failed bulk leaves no object, storage outages fail cleanly and
recover, and the secret key never comes back. The test looks into the bucket with its own boto3
client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from client_sources import DictConnection
from launchers import MotoServer, moto_server
from loopback_http import free_port
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

pytest_plugins = ["store_fixtures"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy")

SCENE = "scene_01"
SECRET_KEYS = ("access_key_id", "secret_access_key")  # what configure_scene_image_storage keeps to itself


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def s3_settings(moto: MotoServer) -> dict[str, str]:
    return moto.s3_settings(f"scene-images-{uuid.uuid4().hex[:12]}")  # a bucket of the test's own


@pytest.fixture
def s3_storage(db: DictConnection, restore_settings: None, s3_settings: dict[str, str]) -> dict[str, str]:
    configure_storage(db, "s3", s3_settings)
    return s3_settings


def s3_client(settings: dict[str, str]) -> Any:
    """The test's own view of the bucket; one attempt per call, so a missing thing is quick."""
    return boto3.client(
        "s3", endpoint_url=settings["endpoint_url"], region_name=settings["region"],
        aws_access_key_id=settings["access_key_id"], aws_secret_access_key=settings["secret_access_key"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def bucket_keys(settings: dict[str, str], prefix: str = "") -> list[str]:
    listing = s3_client(settings).list_objects_v2(Bucket=settings["bucket"], Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def storage_setting(db: DictConnection) -> dict[str, Any]:
    row = db.execute("SELECT value FROM scene_images_internal.settings WHERE name = 'storage'").fetchone()
    assert row is not None
    value: dict[str, Any] = row["value"]
    return value


def assert_no_secret(text: str, settings: dict[str, str]) -> None:
    for key in SECRET_KEYS:
        assert settings[key] not in text, f"{key} leaked"


def test_configure_s3_creates_the_bucket_and_returns_no_secret(
    db: DictConnection, restore_settings: None, s3_settings: dict[str, str]
) -> None:
    client = s3_client(s3_settings)
    with pytest.raises(ClientError):
        client.head_bucket(Bucket=s3_settings["bucket"])

    described = configure_storage(db, "s3", s3_settings)

    client.head_bucket(Bucket=s3_settings["bucket"])  # raises if it is still missing
    public = {k: v for k, v in s3_settings.items() if k not in SECRET_KEYS}
    assert described == {"backend": "s3", "settings": public}
    assert_no_secret(json.dumps(described), s3_settings)


def test_configure_s3_with_storage_down_raises_storage_failed_without_the_secret(
    db: DictConnection, restore_settings: None, s3_settings: dict[str, str]
) -> None:
    nowhere = {**s3_settings, "endpoint_url": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    in_force = storage_setting(db)
    with pytest.raises(psycopg.Error) as caught:
        configure_storage(db, "s3", nowhere)

    assert caught.value.sqlstate == "SIS01"
    assert storage_setting(db) == in_force
    assert str(caught.value).startswith("StorageFailed: ")
    assert_no_secret(failure_text(caught.value), s3_settings)


def test_store_scene_image_on_s3_puts_the_sniffed_bytes_in_the_bucket(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, s3_storage: dict[str, str]
) -> None:
    data = cdn.images["/img.png"]  # served by /mislabeled.png as image/jpeg
    row = call_store_scene_image(db, project_id, SCENE, cdn.url("/mislabeled.png"))

    assert bucket_keys(s3_storage) == [row["storage_path"]]
    stored = s3_client(s3_storage).get_object(Bucket=s3_storage["bucket"], Key=row["storage_path"])
    assert stored["Body"].read() == data
    assert (stored["ContentType"], stored["CacheControl"]) == ("image/png", IMMUTABLE_CACHE_CONTROL)
    assert row["storage_url"] == f"{s3_storage['endpoint_url']}/{s3_storage['bucket']}/{row['storage_path']}"
    assert (row["content_type"], row["file_size"], row["version"]) == ("image/png", len(data), 1)
    assert_no_secret(str(row), s3_storage)


def test_store_scene_images_on_s3_with_a_poisoned_item_leaves_no_object(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, s3_storage: dict[str, str]
) -> None:
    paths = list(serve_distinct_images(cdn.server, 8))
    paths[4] = "/late-html"
    bulk = [{"scene_id": f"scene_{i}", "source_url": cdn.url(path)} for i, path in enumerate(paths)]
    prefix = f"projects/{project_id}/"
    client = s3_client(s3_storage)

    def others_uploaded() -> bool:
        listing = client.list_objects_v2(Bucket=s3_storage["bucket"], Prefix=prefix)
        return len(listing.get("Contents", [])) >= 7

    # Answered only once the seven others are in the bucket, however long that takes.
    held = cdn.server.held("/late-html", b"<html><body>Sign in</body></html>", "text/html", until=others_uploaded)

    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_images(db, project_id, bulk)

    assert caught.value.sqlstate == "SII01"
    assert "requests[4] (scene_id scene_4): " in str(caught.value)
    assert not held.timed_out  # the others were uploaded during the call ...
    assert bucket_keys(s3_storage) == []  # ... and removed again
    assert scene_rows(db, project_id) == []


def test_store_scene_image_on_s3_fails_while_storage_is_down_and_succeeds_when_it_is_back(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, restore_settings: None
) -> None:
    bucket = f"scene-images-{uuid.uuid4().hex[:12]}"
    url = cdn.url("/img.webp")
    with moto_server() as down:
        settings = down.s3_settings(bucket)
        configure_storage(db, "s3", settings)
    # The server is gone now; the database still has it configured.
    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_image(db, project_id, SCENE, url)

    assert caught.value.sqlstate == "SIS01"
    assert str(caught.value).startswith("StorageFailed: ")
    assert_no_secret(failure_text(caught.value), settings)
    assert cdn.server.paths() == ["/img.webp"]  # the download happened; the upload could not
    assert scene_rows(db, project_id) == []

    with moto_server() as back:
        settings = back.s3_settings(bucket)
        configure_storage(db, "s3", settings)
        row = call_store_scene_image(db, project_id, SCENE, url)
        assert bucket_keys(settings) == [row["storage_path"]]
        assert scene_rows(db, project_id) == [row]
