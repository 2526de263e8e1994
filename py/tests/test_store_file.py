"""store_scene_image with the `file` backend, through real SQL against the test database: the
bytes on disk, the recorded row, the object path, versions and masterJSON, idempotency, failing
sources, and the calls the way PostgREST makes them. Sources are a loopback ImageSourceServer
(tests/sources.py); the storage root is a directory of each test's own."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from client_sources import DictConnection
from psycopg.types.json import Json, Jsonb
from store_fixtures import (
    CONTENT_TYPES,
    Cdn,
    FileStorage,
    call_store_scene_image,
    scene_rows,
    start_frame,
)

pytest_plugins = ["store_fixtures"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy")

SCENE = "scene_01"
WIDTH, HEIGHT = 64, 48  # images.make_image's default size
STAMP = re.compile(r"\d{8}T\d{12}Z")  # %Y%m%dT%H%M%S%fZ


def table_columns(db: DictConnection) -> list[str]:
    cursor = db.execute("SELECT * FROM scene_images WHERE false")
    assert cursor.description is not None
    return [column.name for column in cursor.description]


def source_facts(url: str, data: bytes, content_type: str) -> dict[str, Any]:
    """What fal_metadata.source records for a plain 200 answer without redirects."""
    return {"final_url": url, "status": 200, "content_type": content_type, "content_length": len(data), "redirects": []}


# --- a stored image: bytes, row, path ----------------------------------------------------------


@pytest.mark.parametrize("extension", list(CONTENT_TYPES))
def test_store_scene_image_writes_the_source_bytes_and_records_the_row(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage, extension: str
) -> None:
    path, content_type = f"/img.{extension}", CONTENT_TYPES[extension]
    data = cdn.images[path]
    sha256 = hashlib.sha256(data).hexdigest()
    before = datetime.now(UTC)
    row = call_store_scene_image(
        db, project_id, SCENE, cdn.url(path), prompt="a lighthouse at dusk", provider="test_gen",
        metadata={"seed": 7, "model": "flux-dev"},
    )
    after = datetime.now(UTC)

    assert disk.files(project_id) == [row["storage_path"]]
    assert disk.read(row["storage_path"]) == data
    assert row["storage_url"] == f"{disk.public_base_url}/{row['storage_path']}"
    assert (row["file_size"], row["content_type"], row["sha256"]) == (len(data), content_type, sha256)
    assert (row["width"], row["height"], row["version"], row["is_current"]) == (WIDTH, HEIGHT, 1, True)
    assert (row["project_id"], row["scene_id"], row["provider"]) == (project_id, SCENE, "test_gen")
    assert (row["generation_prompt"], row["original_fal_url"]) == ("a lighthouse at dusk", cdn.url(path))
    assert row["fal_metadata"] == {
        "seed": 7, "model": "flux-dev", "source": source_facts(cdn.url(path), data, content_type)
    }
    shape = re.fullmatch(
        rf"projects/{project_id}/scenes/{SCENE}_({STAMP.pattern})_{sha256[:12]}\.{extension}", row["storage_path"]
    )
    assert shape is not None, row["storage_path"]
    stamped = datetime.strptime(shape[1], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    assert before <= stamped <= after
    assert scene_rows(db, project_id) == [row]
    assert start_frame(db, project_id, SCENE) == row["storage_url"]


def test_store_scene_image_takes_the_type_from_the_bytes_not_the_header(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    data = cdn.images["/img.png"]  # served by /mislabeled.png as image/jpeg
    row = call_store_scene_image(db, project_id, SCENE, cdn.url("/mislabeled.png"))

    assert (row["content_type"], row["storage_path"][-4:]) == ("image/png", ".png")
    assert row["fal_metadata"]["source"]["content_type"] == "image/jpeg"
    assert disk.read(row["storage_path"]) == data


def test_store_scene_image_records_the_source_url_without_credentials(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    signed = cdn.url("/img.png?X-Amz-Signature=f00dcafe1234&token=t0p-secret-token&width=64")
    redacted = cdn.url("/img.png?X-Amz-Signature=REDACTED&token=REDACTED&width=64")
    row = call_store_scene_image(db, project_id, SCENE, signed)

    assert row["original_fal_url"] == redacted
    assert row["fal_metadata"]["source"]["final_url"] == redacted
    assert cdn.server.paths() == ["/img.png?X-Amz-Signature=f00dcafe1234&token=t0p-secret-token&width=64"]
    assert "f00dcafe1234" not in str(row) and "t0p-secret-token" not in str(row)


# --- versions and idempotency ------------------------------------------------------------------


def test_store_scene_image_of_new_bytes_adds_the_next_current_version(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    first = call_store_scene_image(db, project_id, SCENE, cdn.url("/img.png"))
    with db.transaction():
        second = call_store_scene_image(db, project_id, SCENE, cdn.url("/img.jpg"))
        # The masterJSON trigger is deferred: it moves at COMMIT, not at the insert.
        assert start_frame(db, project_id, SCENE) == first["storage_url"]

    assert start_frame(db, project_id, SCENE) == second["storage_url"]
    assert [(r["id"], r["version"], r["is_current"]) for r in scene_rows(db, project_id)] == [
        (first["id"], 1, False), (second["id"], 2, True)
    ]
    assert second["storage_path"] != first["storage_path"]
    assert disk.files(project_id) == sorted([first["storage_path"], second["storage_path"]])
    assert disk.read(first["storage_path"]) == cdn.images["/img.png"]
    assert disk.read(second["storage_path"]) == cdn.images["/img.jpg"]


def test_store_scene_image_of_the_current_bytes_returns_the_current_row(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    first = call_store_scene_image(db, project_id, SCENE, cdn.url("/img.webp"), metadata={"attempt": 1})
    cdn.server.body("/same-bytes-elsewhere.webp", cdn.images["/img.webp"], "image/webp")
    again = call_store_scene_image(
        db, project_id, SCENE, cdn.url("/same-bytes-elsewhere.webp"), metadata={"attempt": 2}
    )

    assert again == first
    assert scene_rows(db, project_id) == [first]
    assert disk.files(project_id) == [first["storage_path"]]
    assert cdn.server.paths() == ["/img.webp", "/same-bytes-elsewhere.webp"]  # compared by content


# --- failing sources -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "sqlstate", "name"),
    [("/404", "SIF01", "SourceHttpError"), ("/html", "SII01", "SourceNotAnImage")],
    ids=["404", "html"],
)
def test_store_scene_image_of_a_failing_source_raises_and_writes_nothing(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage,
    path: str, sqlstate: str, name: str,
) -> None:
    current = call_store_scene_image(db, project_id, SCENE, cdn.url("/img.png"))
    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_image(db, project_id, SCENE, cdn.url(path))

    assert caught.value.sqlstate == sqlstate
    assert str(caught.value).startswith(f"{name}: {cdn.url(path)}: ")
    assert cdn.server.paths() == ["/img.png", path]
    assert scene_rows(db, project_id) == [current]
    assert disk.files(project_id) == [current["storage_path"]]
    assert start_frame(db, project_id, SCENE) == current["storage_url"]


# --- called the way PostgREST calls it -----------------------------------------------------------


def test_store_scene_image_called_with_colon_equals_arguments_returns_a_scene_images_row(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    cursor = db.execute(
        "SELECT * FROM store_scene_image(project_id := %s, scene_id := %s, source_url := %s)",
        (project_id, SCENE, cdn.url("/img.gif")),
    )
    row = cursor.fetchone()

    assert cursor.description is not None and row is not None
    assert [column.name for column in cursor.description] == table_columns(db)
    assert (row["provider"], row["generation_prompt"]) == ("fal_ai_flux", None)  # the defaults
    assert row["fal_metadata"] == {"source": source_facts(cdn.url("/img.gif"), cdn.images["/img.gif"], "image/gif")}
    assert scene_rows(db, project_id) == [row]


def test_store_scene_image_called_with_arrow_arguments_in_any_order_stores_them(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    row = db.execute(
        "SELECT * FROM store_scene_image(metadata => %s, provider => %s, source_url => %s, prompt => %s,"
        " scene_id => %s, project_id => %s)",
        (Jsonb({"seed": 42}), "replicate_sdxl", cdn.url("/img.jpg"), "a red door", SCENE, project_id),
    ).fetchone()

    assert row is not None
    assert (row["scene_id"], row["provider"], row["generation_prompt"]) == (SCENE, "replicate_sdxl", "a red door")
    assert row["fal_metadata"]["seed"] == 42 and row["content_type"] == "image/jpeg"
    assert scene_rows(db, project_id) == [row]


def test_store_scene_image_called_from_a_json_body_like_postgrest_answers_the_row_as_json(
    db: DictConnection, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage
) -> None:
    # PostgREST types a JSON body by the function's signature (json_to_record), calls with named
    # arguments and serialises the composite result to a JSON object.
    body = {
        "project_id": str(project_id), "scene_id": SCENE, "source_url": cdn.url("/img.png"),
        "prompt": "a quiet harbour", "metadata": {"seed": 3, "loras": ["film-grain"]},
    }
    row = db.execute(
        "SELECT to_json(pgrst_call) AS body"
        " FROM json_to_record(%s) AS a(project_id uuid, scene_id text, source_url text, prompt text, metadata jsonb),"
        " LATERAL public.store_scene_image(project_id := a.project_id, scene_id := a.scene_id,"
        " source_url := a.source_url, prompt := a.prompt, metadata := a.metadata) AS pgrst_call",
        (Json(body),),
    ).fetchone()

    assert row is not None
    answer = row["body"]
    assert list(answer) == table_columns(db)
    assert (answer["project_id"], answer["scene_id"], answer["version"]) == (str(project_id), SCENE, 1)
    assert answer["generation_prompt"] == "a quiet harbour"
    assert {k: v for k, v in answer["fal_metadata"].items() if k != "source"} == body["metadata"]
    [stored] = scene_rows(db, project_id)
    assert answer["id"] == str(stored["id"]) and answer["storage_url"] == stored["storage_url"]
