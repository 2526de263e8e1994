"""Hostile arguments from the Python side, covering what db/tests/20_store.sql does not: the
same bad argument must be refused with the same SQLSTATE by every entry point that takes it
(store_scene_image, store_scene_images, enqueue_scene_image), before any traffic, writing no
row, job or object; bulk request shapes pgTAP leaves out; and data that is accepted but must
stay data (injection text, a forged "source" key).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from security_fixtures import (
    DictConnection,
    FetchSettings,
    RawJson,
    StorageRoot,
    assert_row_matches_object,
    enqueue,
    primary,
    refused,
    store,
    store_bulk,
)
from sources import ImageSourceServer

pytest_plugins = ["client_fixtures", "security_fixtures"]

INJECTION = "x'); DROP TABLE public.scene_images; --"

# (id, overrides of the valid request, SQLSTATE); the valid request is
# {scene_id: "s1", source_url: <an image on the source>, provider: "test_gen", metadata: {}}.
HOSTILE_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("scene-dotdot", {"scene_id": ".."}, "22023"),
    ("scene-dot-start", {"scene_id": ".hidden"}, "22023"),
    ("scene-dash-start", {"scene_id": "-rf"}, "22023"),
    ("scene-traversal-inside", {"scene_id": "a/../b"}, "22023"),
    ("scene-backslash", {"scene_id": "a\\b"}, "22023"),
    ("scene-trailing-newline", {"scene_id": "abc\n"}, "22023"),
    ("scene-tab", {"scene_id": "a\tb"}, "22023"),
    ("scene-delete-char", {"scene_id": "a\x7f"}, "22023"),
    ("scene-escape-sequence", {"scene_id": "a\x1b[2J"}, "22023"),
    ("scene-unicode", {"scene_id": "sc\u00e8ne"}, "22023"),
    ("scene-fullwidth-slash", {"scene_id": "a\uff0fb"}, "22023"),
    ("scene-space", {"scene_id": "a b"}, "22023"),
    ("scene-percent-encoded", {"scene_id": "%2e%2e"}, "22023"),
    ("scene-injection", {"scene_id": INJECTION}, "22023"),
    ("scene-128-plus-one", {"scene_id": "s" * 129}, "22023"),
    ("provider-empty", {"provider": ""}, "22023"),
    ("provider-overlong", {"provider": "p" * 101}, "22023"),
    ("metadata-string", {"metadata": RawJson('"a string"')}, "22023"),
    ("metadata-number", {"metadata": RawJson("42")}, "22023"),
    ("metadata-boolean", {"metadata": RawJson("true")}, "22023"),
    ("metadata-json-null", {"metadata": RawJson("null")}, "22023"),
    ("metadata-array", {"metadata": RawJson('[{"a": 1}]')}, "22023"),
    ("url-empty", {"source_url": ""}, "SIU01"),
    ("url-whitespace-only", {"source_url": "   "}, "SIU01"),
    ("project-unknown", {"project_id": uuid.UUID(int=0xDEAD)}, "SIP01"),
]


def _store_one(db: DictConnection, project_id: Any, request: dict[str, Any]) -> object:
    return store(db, project_id, request["scene_id"], request["source_url"],
                 provider=request["provider"], metadata=request["metadata"])


def _store_bulk(db: DictConnection, project_id: Any, request: dict[str, Any]) -> object:
    metadata = request["metadata"]
    if isinstance(metadata, RawJson):
        assert metadata.text is not None  # the bulk cases send JSON text, never SQL NULL
        metadata = json.loads(metadata.text)
    item = {**request, "metadata": metadata}
    return store_bulk(db, project_id, [item])


def _enqueue_one(db: DictConnection, project_id: Any, request: dict[str, Any]) -> object:
    return enqueue(db, project_id, request["scene_id"], request["source_url"],
                   provider=request["provider"], metadata=request["metadata"])


ENTRY_POINTS: dict[str, Callable[[DictConnection, Any, dict[str, Any]], object]] = {
    "store_scene_image": _store_one,
    "store_scene_images": _store_bulk,
    "enqueue_scene_image": _enqueue_one,
}


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(("overrides", "sqlstate"), [(o, s) for _, o, s in HOSTILE_ARGUMENTS],
                         ids=[name for name, _, _ in HOSTILE_ARGUMENTS])
def test_every_entry_point_refuses_hostile_arguments_before_any_traffic(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, entry_point: str, overrides: dict[str, Any], sqlstate: str,
) -> None:
    request = {"scene_id": "s1", "source_url": source.url("/img.png"), "provider": "test_gen", "metadata": {}}
    target = overrides.get("project_id", project_id)
    request.update({k: v for k, v in overrides.items() if k != "project_id"})
    with refused(db, project_id, storage, sqlstate):
        ENTRY_POINTS[entry_point](db, target, request)
    assert source.requests == []


@pytest.mark.parametrize("entry_point", ["store_scene_image", "enqueue_scene_image"])
def test_single_entry_points_refuse_a_null_provider(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, entry_point: str,
) -> None:
    # (In a bulk item a JSON null provider means "not given": the default applies.)
    request: dict[str, Any] = {"scene_id": "s1", "source_url": source.url("/img.png"), "provider": None, "metadata": {}}
    with refused(db, project_id, storage, "22004") as caught:
        ENTRY_POINTS[entry_point](db, project_id, request)
    assert primary(caught.value).endswith("provider must not be NULL")
    assert source.requests == []


@pytest.mark.parametrize(
    ("requests_", "sqlstate"),
    [
        (RawJson(None), "22004"),
        (RawJson("null"), "22023"),
        (RawJson('"[]"'), "22023"),
        (RawJson("[1]"), "22023"),
        (RawJson("[null]"), "22023"),
        (RawJson('[["s1", "http://127.0.0.1/a.png"]]'), "22023"),
        ([{"scene_id": 5, "source_url": "http://127.0.0.1:9/a.png"}], "22023"),
        ([{"scene_id": "s1"}], "22004"),  # a missing source_url is a NULL one
        ([{"scene_id": "s1", "source_url": ["http://127.0.0.1:9/a.png"]}], "22023"),
        ([{"scene_id": "s1", "source_url": "http://127.0.0.1:9/a.png", "prompt": {"text": "x"}}], "22023"),
        ([{"scene_id": "s1", "source_url": "http://127.0.0.1:9/a.png", "provider": 7}], "22023"),
        ([{"scene_id": "s1", "source_url": "http://127.0.0.1:9/a.png", "metadata": ["x"]}], "22023"),
        ([{"scene_id": "s1", "source_url": "http://127.0.0.1:9/a.png", "__proto__": {}}], "22023"),
    ],
    ids=["sql-null", "json-null", "string", "number-item", "null-item", "array-item", "scene-number",
         "no-url", "url-array", "prompt-object", "provider-number", "metadata-array", "unknown-key"],
)
def test_store_bulk_refuses_malformed_request_arrays(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    requests_: object, sqlstate: str,
) -> None:
    with refused(db, project_id, storage, sqlstate):
        store_bulk(db, project_id, requests_)


def test_store_bulk_takes_200_items_and_refuses_a_late_duplicate_before_any_traffic(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    items = [{"scene_id": f"s{i:03}", "source_url": source.url("/img.png")} for i in range(200)]
    with refused(db, project_id, storage, "22023") as caught:
        store_bulk(db, project_id, [*items[:199], {**items[199], "scene_id": "s000"}])
    assert "requests[199] (scene_id s000): the same scene_id appears twice" in primary(caught.value)
    assert source.requests == []  # every item is checked before the first download
    rows = store_bulk(db, project_id, items)
    assert [r["scene_id"] for r in rows] == [item["scene_id"] for item in items]
    assert len(storage.objects()) == 200 and len(source.requests) == 200


def test_store_keeps_injection_text_and_a_forged_source_as_plain_data(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    forged = {"final_url": "https://trusted.example/ok.png", "status": 200, "content_type": "image/png"}
    row = store(db, project_id, "s1", source.url("/img.png"), prompt=INJECTION, provider=INJECTION[:100],
                metadata={"source": forged, "note": INJECTION})
    assert (row["generation_prompt"], row["provider"]) == (INJECTION, INJECTION[:100])
    assert row["fal_metadata"]["note"] == INJECTION
    # "source" records what our fetch saw; a caller cannot plant it.
    assert row["fal_metadata"]["source"]["final_url"] == source.url("/img.png")
    assert_row_matches_object(row, storage)
    count = db.execute("SELECT count(*) AS n FROM scene_images WHERE project_id = %s", (project_id,)).fetchone()
    assert count["n"] == 1
