"""The client API against the real test database, once per transport (client_transports.py):
`direct` (SceneImageStore over psycopg) and `rpc` (SupabaseSceneImageStore through the PostgREST
RPC stand-in). Every method both transports have: its success, and each documented error
reachable through it, for the backend, a signed-in user and service_role. What one transport
alone has is tested in test_client_direct.py and test_client_rpc.py."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from typing import Any

import pytest

pytest.register_assert_rewrite("client_transports")  # its asserts are imported before the plugin loads

from client_sources import (
    SOURCE_FAILURE_IDS,
    SOURCE_FAILURES,
    FetchPolicy,
    ImageSource,
    SourceFailure,
)
from client_transports import Client, Transport

from scene_images import (
    ERRORS,
    InvalidArgument,
    NullArgument,
    PermissionDenied,
    ProjectNotFound,
    SceneImage,
    SceneImageRequest,
    SceneImageStore,
    StorageMisconfigured,
    VersionNotFound,
)

pytest_plugins = ["client_fixtures", "client_transports"]


@pytest.fixture(scope="module")
def database(store: SceneImageStore) -> SceneImageStore:
    """Reads straight from the test database, whatever the transport under test (master_json
    has no RPC)."""
    return store


def _stored(client: Client, project_id: uuid.UUID, source: ImageSource, scene_id: str = "scene_01") -> SceneImage:
    return client.download_and_store(project_id, SceneImageRequest(scene_id, source.image()))


# --- download_and_store -----------------------------------------------------------------------


def test_download_and_store_returns_the_typed_row_the_database_holds(
    transport: Transport,
    database: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
) -> None:
    url = image_source.image(16, 9)
    image = transport.store.download_and_store(
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
    assert database.history(project_id, "scene_01") == [image]


def test_download_and_store_makes_each_new_image_the_current_version(
    transport: Transport,
    database: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
) -> None:
    first = _stored(transport.store, project_id, image_source)
    second = _stored(transport.store, project_id, image_source)
    assert (first.version, second.version) == (1, 2)
    assert transport.store.get_current_image_url(project_id, "scene_01") == second.storage_url
    assert database.master_json(project_id)["scenes"]["scene_01"]["scene_start_frame"] == second.storage_url


def test_download_and_store_lets_a_user_store_into_an_own_project(
    transport: Transport, users_project: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    image = _stored(transport.user, users_project, image_source)
    assert transport.user.get_current_image_url(users_project, "scene_01") == image.storage_url


@pytest.mark.parametrize("failure", SOURCE_FAILURES, ids=SOURCE_FAILURE_IDS)
def test_download_and_store_raises_the_source_error(
    transport: Transport,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
    failure: SourceFailure,
) -> None:
    fetch_policy(**failure.policy)
    with pytest.raises(failure.error) as raised:
        transport.store.download_and_store(project_id, SceneImageRequest("scene_01", failure.url(image_source)))
    assert raised.value.sqlstate == failure.error.sqlstate and raised.value.message
    assert transport.store.history(project_id, "scene_01") == []


def test_download_and_store_raises_null_argument_without_source_url(transport: Transport, project_id: uuid.UUID) -> None:
    with pytest.raises(NullArgument, match="source_url"):
        transport.store.download_and_store(project_id, SceneImageRequest("scene_01", None))  # type: ignore[arg-type]


def test_download_and_store_raises_invalid_argument_for_a_bad_scene_id(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    with pytest.raises(InvalidArgument, match="scene_id"):
        transport.store.download_and_store(project_id, SceneImageRequest("../etc", image_source.image()))


def test_download_and_store_raises_project_not_found(transport: Transport, image_source: ImageSource) -> None:
    with pytest.raises(ProjectNotFound):
        transport.store.download_and_store(uuid.uuid4(), SceneImageRequest("scene_01", image_source.image()))


def test_download_and_store_raises_permission_denied_for_another_users_project(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    with pytest.raises(PermissionDenied):
        transport.user.download_and_store(project_id, SceneImageRequest("scene_01", image_source.image()))


def test_download_and_store_raises_storage_misconfigured_when_the_storage_root_is_gone(
    transport: Transport,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
    storage_dir: str,
) -> None:
    root = os.path.join(storage_dir, "objects")
    transport.owner.configure_storage("file", {"root": root, "public_base_url": "http://127.0.0.1:9/objects"})
    shutil.rmtree(root)
    with pytest.raises(StorageMisconfigured, match="file storage backend: the storage root is missing") as caught:
        _stored(transport.store, project_id, image_source)
    assert caught.value.hint is not None and "configure_scene_image_storage('file'" in caught.value.hint
    assert root not in str(caught.value) + caught.value.hint


# --- download_and_store_bulk ------------------------------------------------------------------


def test_download_and_store_bulk_returns_rows_in_request_order(
    transport: Transport,
    database: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
) -> None:
    scenes = ["scene_c", "scene_a", "scene_b"]
    requests = [SceneImageRequest(scene, image_source.image(), prompt=f"prompt {scene}") for scene in scenes]
    images = transport.store.download_and_store_bulk(project_id, requests)
    assert [i.scene_id for i in images] == scenes
    assert [i.original_fal_url for i in images] == [r.source_url for r in requests]
    assert [i.generation_prompt for i in images] == [r.prompt for r in requests]
    assert all(i.version == 1 and i.is_current for i in images)
    master = database.master_json(project_id)
    assert {s: master["scenes"][s]["scene_start_frame"] for s in scenes} == {i.scene_id: i.storage_url for i in images}


def test_download_and_store_bulk_stores_nothing_when_one_item_fails(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    requests = [
        SceneImageRequest("scene_a", image_source.image()),
        SceneImageRequest("scene_b", image_source.url("/not-an-image.png")),
    ]
    with pytest.raises(ERRORS["SII01"], match=r"requests\[1\]"):
        transport.store.download_and_store_bulk(project_id, requests)
    assert transport.store.history(project_id, "scene_a") == []


def test_download_and_store_bulk_raises_invalid_argument_for_a_repeated_scene(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    requests = [SceneImageRequest("scene_a", image_source.image()), SceneImageRequest("scene_a", image_source.image())]
    with pytest.raises(InvalidArgument, match="twice"):
        transport.store.download_and_store_bulk(project_id, requests)


def test_download_and_store_bulk_raises_invalid_argument_for_no_request(
    transport: Transport, project_id: uuid.UUID
) -> None:
    with pytest.raises(InvalidArgument):
        transport.store.download_and_store_bulk(project_id, [])


def test_download_and_store_bulk_raises_project_not_found(transport: Transport, image_source: ImageSource) -> None:
    with pytest.raises(ProjectNotFound):
        transport.store.download_and_store_bulk(uuid.uuid4(), [SceneImageRequest("scene_a", image_source.image())])


def test_download_and_store_bulk_raises_permission_denied_for_another_users_project(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    with pytest.raises(PermissionDenied):
        transport.user.download_and_store_bulk(project_id, [SceneImageRequest("scene_a", image_source.image())])


# --- get_current_image_url, history -----------------------------------------------------------


def test_get_current_image_url_is_none_for_a_scene_without_image(transport: Transport, project_id: uuid.UUID) -> None:
    assert transport.store.get_current_image_url(project_id, "scene_01") is None


def test_history_lists_every_version_oldest_first(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    stored = [_stored(transport.store, project_id, image_source) for _ in range(3)]
    history = transport.store.history(project_id, "scene_01")
    assert [i.id for i in history] == [i.id for i in stored]
    assert [i.version for i in history] == [1, 2, 3]
    assert [i.is_current for i in history] == [False, False, True]


def test_history_is_empty_for_an_unknown_scene(transport: Transport, project_id: uuid.UUID) -> None:
    assert transport.store.history(project_id, "never_stored") == []


def test_history_hides_another_users_project(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    _stored(transport.store, project_id, image_source)
    assert transport.user.history(project_id, "scene_01") == []
    assert transport.user.get_current_image_url(project_id, "scene_01") is None


# --- set_current ------------------------------------------------------------------------------


def test_set_current_rolls_back_and_master_json_follows(
    transport: Transport,
    database: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
) -> None:
    first = _stored(transport.store, project_id, image_source)
    _stored(transport.store, project_id, image_source)
    current = transport.store.set_current(project_id, "scene_01", 1)
    assert (current.id, current.version, current.is_current) == (first.id, 1, True)
    assert transport.store.get_current_image_url(project_id, "scene_01") == first.storage_url
    assert database.master_json(project_id)["scenes"]["scene_01"]["scene_start_frame"] == first.storage_url


def test_set_current_raises_version_not_found(
    transport: Transport, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    _stored(transport.store, project_id, image_source)
    with pytest.raises(VersionNotFound):
        transport.store.set_current(project_id, "scene_01", 9)  # a scene with versions, not this one
    with pytest.raises(VersionNotFound):
        transport.store.set_current(project_id, "scene_02", 1)  # a scene with none


def test_set_current_raises_null_argument_without_version(transport: Transport, project_id: uuid.UUID) -> None:
    with pytest.raises(NullArgument):
        transport.store.set_current(project_id, "scene_01", None)  # type: ignore[arg-type]


def test_set_current_raises_project_not_found(transport: Transport) -> None:
    with pytest.raises(ProjectNotFound):
        transport.store.set_current(uuid.uuid4(), "scene_01", 1)


def test_set_current_raises_permission_denied_for_another_users_project(
    transport: Transport, project_id: uuid.UUID
) -> None:
    with pytest.raises(PermissionDenied):
        transport.user.set_current(project_id, "scene_01", 1)


# --- configure_storage, configure_fetch -------------------------------------------------------

CLIENT_ROLES = ["user", "service_role"]  # Supabase's roles for callers: none may configure


def test_configure_storage_returns_the_effective_config(
    transport: Transport, restore_settings: None, storage_dir: str
) -> None:
    settings = {"root": os.path.join(storage_dir, "objects"), "public_base_url": "http://127.0.0.1:9/objects"}
    assert transport.owner.configure_storage("file", settings) == {"backend": "file", "settings": settings}


@pytest.mark.parametrize(
    ("backend", "settings"),
    [("ftp", {}), ("file", {"root": "/tmp"}), ("file", {"root": "relative", "public_base_url": "http://127.0.0.1/"})],
    ids=["unknown_backend", "missing_setting", "relative_root"],
)
def test_configure_storage_raises_storage_misconfigured(
    transport: Transport, restore_settings: None, backend: str, settings: dict[str, Any]
) -> None:
    with pytest.raises(StorageMisconfigured):
        transport.owner.configure_storage(backend, settings)


@pytest.mark.parametrize("caller", CLIENT_ROLES)
def test_configure_storage_raises_permission_denied_for_a_client_role(
    transport: Transport, restore_settings: None, caller: str
) -> None:
    client: Client = getattr(transport, caller)
    with pytest.raises(PermissionDenied):
        client.configure_storage("file", {"root": "/tmp", "public_base_url": "http://127.0.0.1/"})


def test_configure_fetch_keeps_keys_not_given(transport: Transport, restore_settings: None) -> None:
    before = transport.owner.configure_fetch({})
    after = transport.owner.configure_fetch({"max_redirects": 1, "max_pixels": 1000})
    assert after == {**before, "max_redirects": 1, "max_pixels": 1000}


def test_configure_fetch_raises_invalid_argument_for_an_unknown_key(transport: Transport, restore_settings: None) -> None:
    with pytest.raises(InvalidArgument, match="unknown fetch setting.*max_megabytes") as raised:
        transport.owner.configure_fetch({"max_megabytes": 3})
    assert raised.value.hint


@pytest.mark.parametrize("caller", CLIENT_ROLES)
def test_configure_fetch_raises_permission_denied_for_a_client_role(
    transport: Transport, restore_settings: None, caller: str
) -> None:
    client: Client = getattr(transport, caller)
    with pytest.raises(PermissionDenied):
        client.configure_fetch({})
