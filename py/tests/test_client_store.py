"""SceneImageStore (psycopg) against the real test database: every method, its success and
each documented error reachable through it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from client_sources import (
    SOURCE_FAILURE_IDS,
    SOURCE_FAILURES,
    FetchPolicy,
    ImageSource,
    SourceFailure,
    as_user,
)
from psycopg_pool import ConnectionPool, PoolClosed

from scene_images import (
    ERRORS,
    ConstraintViolation,
    InvalidArgument,
    NullArgument,
    PermissionDenied,
    Project,
    ProjectNotFound,
    SceneImage,
    SceneImageRequest,
    SceneImageStore,
    StorageFailed,
    StorageMisconfigured,
    VersionNotFound,
    from_psycopg,
    translating_errors,
)

pytest_plugins = ["client_fixtures"]



@pytest.fixture
def user_conn(conninfo: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection acting as a signed-in Supabase user who owns no project."""
    with psycopg.connect(conninfo) as conn:
        as_user(conn, uuid.uuid4())
        yield conn


def _stored(
    store: SceneImageStore, project_id: uuid.UUID, source: ImageSource, scene_id: str = "scene_01", **kw: Any
) -> SceneImage:
    return store.download_and_store(project_id, SceneImageRequest(scene_id, source.image(), **kw))


# --- download_and_store -----------------------------------------------------------------------


def test_download_and_store_returns_the_typed_row(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    url = image_source.image(16, 9)
    image = store.download_and_store(
        project_id,
        SceneImageRequest("scene_01", url, prompt="a lighthouse", provider="test_gen", metadata={"seed": 7}),
    )
    assert isinstance(image.id, uuid.UUID) and image.project_id == project_id
    assert (image.scene_id, image.version, image.is_current) == ("scene_01", 1, True)
    assert (image.content_type, image.width, image.height) == ("image/png", 16, 9)
    assert (image.provider, image.generation_prompt, image.original_fal_url) == ("test_gen", "a lighthouse", url)
    assert image.fal_metadata["seed"] == 7
    assert isinstance(image.generated_at, datetime) and image.generated_at.tzinfo is not None
    assert len(image.sha256) == 64 and image.file_size > 0
    assert image.storage_url.startswith("http://") and image.storage_path in image.storage_url


def test_download_and_store_makes_each_new_image_the_current_version(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    first = _stored(store, project_id, image_source)
    second = _stored(store, project_id, image_source)
    assert (first.version, second.version) == (1, 2)
    assert store.get_current_image_url(project_id, "scene_01") == second.storage_url
    assert store.master_json(project_id)["scenes"]["scene_01"]["scene_start_frame"] == second.storage_url


@pytest.mark.parametrize("failure", SOURCE_FAILURES, ids=SOURCE_FAILURE_IDS)
def test_download_and_store_raises_the_source_error(
    store: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
    failure: SourceFailure,
) -> None:
    fetch_policy(**failure.policy)
    with pytest.raises(failure.error) as raised:
        store.download_and_store(project_id, SceneImageRequest("scene_01", failure.url(image_source)))
    assert raised.value.sqlstate == failure.error.sqlstate and raised.value.message
    assert store.history(project_id, "scene_01") == []


def test_download_and_store_raises_null_argument_without_source_url(
    store: SceneImageStore, project_id: uuid.UUID
) -> None:
    with pytest.raises(NullArgument, match="source_url"):
        store.download_and_store(project_id, SceneImageRequest("scene_01", None))  # type: ignore[arg-type]


def test_download_and_store_raises_invalid_argument_for_a_bad_scene_id(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    with pytest.raises(InvalidArgument, match="scene_id"):
        store.download_and_store(project_id, SceneImageRequest("../etc", image_source.image()))


def test_download_and_store_raises_project_not_found(store: SceneImageStore, image_source: ImageSource) -> None:
    with pytest.raises(ProjectNotFound):
        store.download_and_store(uuid.uuid4(), SceneImageRequest("scene_01", image_source.image()))


def test_download_and_store_raises_permission_denied_for_another_users_project(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, user_conn: psycopg.Connection[Any]
) -> None:
    with pytest.raises(PermissionDenied):
        store.download_and_store(project_id, SceneImageRequest("scene_01", image_source.image()), conn=user_conn)


def test_download_and_store_raises_storage_failed_when_the_storage_root_is_gone(
    store: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
    storage_dir: str,
) -> None:
    root = os.path.join(storage_dir, "objects")
    store.configure_storage("file", {"root": root, "public_base_url": "http://127.0.0.1:9/objects"})
    shutil.rmtree(root)
    with pytest.raises(StorageFailed):
        _stored(store, project_id, image_source)


# --- download_and_store_bulk ------------------------------------------------------------------


def test_download_and_store_bulk_returns_rows_in_request_order(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    scenes = ["scene_c", "scene_a", "scene_b"]
    requests = [SceneImageRequest(scene, image_source.image(), prompt=f"prompt {scene}") for scene in scenes]
    images = store.download_and_store_bulk(project_id, requests)
    assert [i.scene_id for i in images] == scenes
    assert [i.original_fal_url for i in images] == [r.source_url for r in requests]
    assert [i.generation_prompt for i in images] == [r.prompt for r in requests]
    master = store.master_json(project_id)
    assert {s: master["scenes"][s]["scene_start_frame"] for s in scenes} == {i.scene_id: i.storage_url for i in images}


def test_download_and_store_bulk_stores_nothing_when_one_item_fails(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    requests = [
        SceneImageRequest("scene_a", image_source.image()),
        SceneImageRequest("scene_b", image_source.url("/not-an-image.png")),
    ]
    with pytest.raises(ERRORS["SII01"], match=r"requests\[1\]"):
        store.download_and_store_bulk(project_id, requests)
    assert store.history(project_id, "scene_a") == []


def test_download_and_store_bulk_raises_invalid_argument_for_a_repeated_scene(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    requests = [SceneImageRequest("scene_a", image_source.image()), SceneImageRequest("scene_a", image_source.image())]
    with pytest.raises(InvalidArgument, match="twice"):
        store.download_and_store_bulk(project_id, requests)


def test_download_and_store_bulk_raises_invalid_argument_for_no_request(
    store: SceneImageStore, project_id: uuid.UUID
) -> None:
    with pytest.raises(InvalidArgument):
        store.download_and_store_bulk(project_id, [])


def test_download_and_store_bulk_raises_project_not_found(store: SceneImageStore, image_source: ImageSource) -> None:
    with pytest.raises(ProjectNotFound):
        store.download_and_store_bulk(uuid.uuid4(), [SceneImageRequest("scene_a", image_source.image())])


def test_download_and_store_bulk_raises_permission_denied_for_another_users_project(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, user_conn: psycopg.Connection[Any]
) -> None:
    with pytest.raises(PermissionDenied):
        store.download_and_store_bulk(project_id, [SceneImageRequest("a", image_source.image())], conn=user_conn)


# --- get_current_image_url, history -----------------------------------------------------------


def test_get_current_image_url_is_none_for_a_scene_without_image(store: SceneImageStore, project_id: uuid.UUID) -> None:
    assert store.get_current_image_url(project_id, "scene_01") is None


def test_history_lists_every_version_oldest_first(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    stored = [_stored(store, project_id, image_source) for _ in range(3)]
    history = store.history(project_id, "scene_01")
    assert [i.id for i in history] == [i.id for i in stored]
    assert [i.version for i in history] == [1, 2, 3]
    assert [i.is_current for i in history] == [False, False, True]


def test_history_is_empty_for_an_unknown_scene(store: SceneImageStore, project_id: uuid.UUID) -> None:
    assert store.history(project_id, "never_stored") == []


# --- set_current ------------------------------------------------------------------------------


def test_set_current_rolls_back_and_master_json_follows(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    first = _stored(store, project_id, image_source)
    _stored(store, project_id, image_source)
    current = store.set_current(project_id, "scene_01", 1)
    assert (current.id, current.version, current.is_current) == (first.id, 1, True)
    assert store.get_current_image_url(project_id, "scene_01") == first.storage_url
    assert store.master_json(project_id)["scenes"]["scene_01"]["scene_start_frame"] == first.storage_url


def test_set_current_raises_version_not_found(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    _stored(store, project_id, image_source)
    with pytest.raises(VersionNotFound):
        store.set_current(project_id, "scene_01", 9)


def test_set_current_raises_null_argument_without_version(store: SceneImageStore, project_id: uuid.UUID) -> None:
    with pytest.raises(NullArgument):
        store.set_current(project_id, "scene_01", None)  # type: ignore[arg-type]


def test_set_current_raises_project_not_found(store: SceneImageStore) -> None:
    with pytest.raises(ProjectNotFound):
        store.set_current(uuid.uuid4(), "scene_01", 1)


def test_set_current_raises_permission_denied_for_another_users_project(
    store: SceneImageStore, project_id: uuid.UUID, user_conn: psycopg.Connection[Any]
) -> None:
    with pytest.raises(PermissionDenied):
        store.set_current(project_id, "scene_01", 1, conn=user_conn)


# --- master_json, create_project --------------------------------------------------------------


def test_create_project_returns_the_project_and_master_json_reads_it(store: SceneImageStore) -> None:
    master = {"title": "Lighthouse", "scenes": {"scene_01": {"duration": 4}}}
    project = store.create_project("lighthouse", master)
    assert isinstance(project, Project) and isinstance(project.id, uuid.UUID)
    assert (project.name, project.master_json, project.owner_id) == ("lighthouse", master, None)
    assert store.master_json(project.id) == master


def test_create_project_defaults_to_an_empty_master_json(store: SceneImageStore) -> None:
    assert store.create_project().master_json == {}


def test_create_project_raises_constraint_violation_for_a_long_name(store: SceneImageStore) -> None:
    with pytest.raises(ConstraintViolation):
        store.create_project("x" * 201)


def test_master_json_raises_project_not_found(store: SceneImageStore) -> None:
    with pytest.raises(ProjectNotFound):
        store.master_json(uuid.uuid4())


# --- configure_storage, configure_fetch -------------------------------------------------------


def test_configure_storage_returns_the_effective_config(
    store: SceneImageStore, restore_settings: None, storage_dir: str
) -> None:
    settings = {"root": os.path.join(storage_dir, "objects"), "public_base_url": "http://127.0.0.1:9/objects"}
    assert store.configure_storage("file", settings) == {"backend": "file", "settings": settings}


@pytest.mark.parametrize(
    ("backend", "settings"),
    [("ftp", {}), ("file", {"root": "/tmp"}), ("file", {"root": "relative", "public_base_url": "http://127.0.0.1/"})],
    ids=["unknown_backend", "missing_setting", "relative_root"],
)
def test_configure_storage_raises_storage_misconfigured(
    store: SceneImageStore, restore_settings: None, backend: str, settings: dict[str, Any]
) -> None:
    with pytest.raises(StorageMisconfigured):
        store.configure_storage(backend, settings)


def test_configure_storage_raises_permission_denied_for_a_client_role(
    store: SceneImageStore, user_conn: psycopg.Connection[Any]
) -> None:
    with pytest.raises(PermissionDenied):
        store.configure_storage("file", {"root": "/tmp", "public_base_url": "http://127.0.0.1/"}, conn=user_conn)


def test_configure_fetch_keeps_keys_not_given(store: SceneImageStore, restore_settings: None) -> None:
    before = store.configure_fetch({})
    after = store.configure_fetch({"max_redirects": 1})
    assert after == {**before, "max_redirects": 1}


def test_configure_fetch_raises_invalid_argument_for_an_unknown_key(
    store: SceneImageStore, restore_settings: None
) -> None:
    with pytest.raises(InvalidArgument, match="max_megabytes") as raised:
        store.configure_fetch({"max_megabytes": 3})
    assert raised.value.hint


def test_configure_fetch_raises_permission_denied_for_a_client_role(
    store: SceneImageStore, user_conn: psycopg.Connection[Any]
) -> None:
    with pytest.raises(PermissionDenied):
        store.configure_fetch({}, conn=user_conn)


# --- transactions and pools -------------------------------------------------------------------


def test_connection_groups_calls_in_one_transaction(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    with store.connection() as conn:
        image = store.download_and_store(project_id, SceneImageRequest("scene_01", image_source.image()), conn=conn)
        assert store.get_current_image_url(project_id, "scene_01", conn=conn) == image.storage_url
        assert store.get_current_image_url(project_id, "scene_01") is None  # not committed yet
    assert store.get_current_image_url(project_id, "scene_01") == image.storage_url


def test_connection_rolls_back_every_call_when_the_block_fails(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    with pytest.raises(VersionNotFound), store.connection() as conn:
        store.download_and_store(project_id, SceneImageRequest("scene_01", image_source.image()), conn=conn)
        store.set_current(project_id, "scene_01", 5, conn=conn)
    assert store.history(project_id, "scene_01") == []


def test_store_closes_only_the_pool_it_created(conninfo: str) -> None:
    with ConnectionPool(conninfo, min_size=1, open=True) as pool:
        with SceneImageStore(pool=pool) as given:
            assert given.create_project().id
        assert not pool.closed
    with SceneImageStore(conninfo) as own:
        pass
    with pytest.raises(PoolClosed):
        own.create_project()


# --- error mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize("sqlstate", sorted(ERRORS))
def test_from_psycopg_maps_every_documented_sqlstate(db: psycopg.Connection[Any], sqlstate: str) -> None:
    with pytest.raises(psycopg.Error) as raised:
        db.execute(
            f"DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '{sqlstate}', MESSAGE = 'm', DETAIL = 'd', HINT = 'h'; END $$"
        )
    mapped = from_psycopg(raised.value)
    assert type(mapped) is ERRORS[sqlstate]
    assert mapped is not None and (mapped.sqlstate, mapped.message, mapped.detail, mapped.hint) == (sqlstate, "m", "d", "h")


def test_translating_errors_re_raises_other_errors_unchanged(db: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero), translating_errors():
        db.execute("SELECT 1 / 0")
