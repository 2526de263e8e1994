"""SupabaseSceneImageStore through supabase-py against a PostgREST stand-in on 127.0.0.1 that
runs each RPC on the real test database: every method, its success and each documented error
reachable through it, under the roles Supabase uses (service_role, a signed-in user)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from client_sources import (
    SOURCE_FAILURE_IDS,
    SOURCE_FAILURES,
    DictConnection,
    FetchPolicy,
    ImageSource,
    SourceFailure,
)
from postgrest.exceptions import APIError
from postgrest_rpc_standin import PostgrestRpcStandin, make_jwt
from supabase import ClientOptions, create_client

from scene_images import (
    InvalidArgument,
    NullArgument,
    PermissionDenied,
    ProjectNotFound,
    SceneImage,
    SceneImageRequest,
    SceneImageStore,
    StorageMisconfigured,
    SupabaseSceneImageStore,
    VersionNotFound,
)

pytest_plugins = ["client_fixtures"]

JWT_SECRET = "stand-in-jwt-secret-of-at-least-32-characters"


@pytest.fixture(scope="module")
def rest_url(conninfo: str) -> Iterator[str]:
    standin = PostgrestRpcStandin(conninfo, JWT_SECRET)
    yield standin.start()
    standin.stop()


@pytest.fixture(scope="module")
def service(rest_url: str) -> SupabaseSceneImageStore:
    """The backend's client: Supabase's service_role key."""
    return SupabaseSceneImageStore(rest_url, make_jwt({"role": "service_role"}, JWT_SECRET))


@pytest.fixture(scope="module")
def owner(rest_url: str) -> SupabaseSceneImageStore:
    """The database owner's role, which a self-hosted PostgREST could switch to; Supabase's
    client roles cannot configure (see the PermissionDenied tests)."""
    return SupabaseSceneImageStore(rest_url, make_jwt({"role": "postgres"}, JWT_SECRET))


@pytest.fixture(scope="module")
def user_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture(scope="module")
def user(rest_url: str, user_id: uuid.UUID) -> SupabaseSceneImageStore:
    """A signed-in user: the anon key plus the user's access token, passed as a ready client."""
    token = make_jwt({"role": "authenticated", "sub": str(user_id)}, JWT_SECRET)
    options = ClientOptions(headers={"Authorization": f"Bearer {token}"})
    return SupabaseSceneImageStore(client=create_client(rest_url, make_jwt({"role": "anon"}, JWT_SECRET), options))


@pytest.fixture
def users_project(db: DictConnection, user_id: uuid.UUID) -> uuid.UUID:
    row = db.execute(
        "INSERT INTO projects (name, owner_id) VALUES ('supabase user', %s) RETURNING id", (user_id,)
    ).fetchone()
    assert row is not None
    project: uuid.UUID = row["id"]
    return project


@pytest.fixture(scope="module")
def pg_store(conninfo: str) -> Iterator[SceneImageStore]:
    with SceneImageStore(conninfo, max_size=1) as store:
        yield store


def _stored(client: SupabaseSceneImageStore, project_id: uuid.UUID, source: ImageSource) -> SceneImage:
    return client.download_and_store(project_id, SceneImageRequest("scene_01", source.image()))


# --- download_and_store -----------------------------------------------------------------------


def test_download_and_store_returns_the_same_row_as_the_database(
    service: SupabaseSceneImageStore,
    pg_store: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
) -> None:
    image = service.download_and_store(
        project_id, SceneImageRequest("scene_01", image_source.image(), prompt="dawn", metadata={"seed": 3})
    )
    assert (image.version, image.generation_prompt, image.fal_metadata["seed"]) == (1, "dawn", 3)
    assert pg_store.history(project_id, "scene_01") == [image]


def test_download_and_store_lets_a_user_store_into_an_own_project(
    user: SupabaseSceneImageStore, users_project: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    image = _stored(user, users_project, image_source)
    assert user.get_current_image_url(users_project, "scene_01") == image.storage_url


@pytest.mark.parametrize("failure", SOURCE_FAILURES, ids=SOURCE_FAILURE_IDS)
def test_download_and_store_raises_the_source_error(
    service: SupabaseSceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
    failure: SourceFailure,
) -> None:
    fetch_policy(**failure.policy)
    with pytest.raises(failure.error) as raised:
        service.download_and_store(project_id, SceneImageRequest("scene_01", failure.url(image_source)))
    assert raised.value.sqlstate == failure.error.sqlstate and raised.value.message


def test_download_and_store_raises_null_argument_without_source_url(
    service: SupabaseSceneImageStore, project_id: uuid.UUID
) -> None:
    with pytest.raises(NullArgument):
        service.download_and_store(project_id, SceneImageRequest("scene_01", None))  # type: ignore[arg-type]


def test_download_and_store_raises_invalid_argument_for_a_bad_scene_id(
    service: SupabaseSceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    with pytest.raises(InvalidArgument, match="scene_id"):
        service.download_and_store(project_id, SceneImageRequest("../etc", image_source.image()))


def test_download_and_store_raises_project_not_found(
    service: SupabaseSceneImageStore, image_source: ImageSource
) -> None:
    with pytest.raises(ProjectNotFound):
        service.download_and_store(uuid.uuid4(), SceneImageRequest("scene_01", image_source.image()))


def test_download_and_store_raises_permission_denied_for_another_users_project(
    user: SupabaseSceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    with pytest.raises(PermissionDenied):
        user.download_and_store(project_id, SceneImageRequest("scene_01", image_source.image()))


# --- download_and_store_bulk ------------------------------------------------------------------


def test_download_and_store_bulk_returns_rows_in_request_order(
    service: SupabaseSceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    scenes = ["scene_c", "scene_a", "scene_b"]
    images = service.download_and_store_bulk(
        project_id, [SceneImageRequest(scene, image_source.image()) for scene in scenes]
    )
    assert [i.scene_id for i in images] == scenes
    assert all(i.version == 1 and i.is_current for i in images)


def test_download_and_store_bulk_raises_invalid_argument_for_a_repeated_scene(
    service: SupabaseSceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    requests = [SceneImageRequest("scene_a", image_source.image()), SceneImageRequest("scene_a", image_source.image())]
    with pytest.raises(InvalidArgument, match="twice"):
        service.download_and_store_bulk(project_id, requests)


def test_download_and_store_bulk_raises_project_not_found(
    service: SupabaseSceneImageStore, image_source: ImageSource
) -> None:
    with pytest.raises(ProjectNotFound):
        service.download_and_store_bulk(uuid.uuid4(), [SceneImageRequest("scene_a", image_source.image())])


def test_download_and_store_bulk_raises_permission_denied_for_another_users_project(
    user: SupabaseSceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    with pytest.raises(PermissionDenied):
        user.download_and_store_bulk(project_id, [SceneImageRequest("scene_a", image_source.image())])


# --- get_current_image_url, history -----------------------------------------------------------


def test_get_current_image_url_is_none_for_a_scene_without_image(
    service: SupabaseSceneImageStore, project_id: uuid.UUID
) -> None:
    assert service.get_current_image_url(project_id, "scene_01") is None


def test_history_lists_every_version_oldest_first(
    service: SupabaseSceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    stored = [_stored(service, project_id, image_source) for _ in range(2)]
    history = service.history(project_id, "scene_01")
    assert [(i.id, i.version, i.is_current) for i in history] == [(stored[0].id, 1, False), (stored[1].id, 2, True)]


def test_history_hides_another_users_project(
    service: SupabaseSceneImageStore,
    user: SupabaseSceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
) -> None:
    _stored(service, project_id, image_source)
    assert user.history(project_id, "scene_01") == []
    assert user.get_current_image_url(project_id, "scene_01") is None


# --- set_current ------------------------------------------------------------------------------


def test_set_current_rolls_back(
    service: SupabaseSceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    first = _stored(service, project_id, image_source)
    _stored(service, project_id, image_source)
    current = service.set_current(project_id, "scene_01", 1)
    assert (current.id, current.is_current) == (first.id, True)
    assert service.get_current_image_url(project_id, "scene_01") == first.storage_url


def test_set_current_raises_version_not_found(service: SupabaseSceneImageStore, project_id: uuid.UUID) -> None:
    with pytest.raises(VersionNotFound):
        service.set_current(project_id, "scene_01", 4)


def test_set_current_raises_null_argument_without_version(
    service: SupabaseSceneImageStore, project_id: uuid.UUID
) -> None:
    with pytest.raises(NullArgument):
        service.set_current(project_id, "scene_01", None)  # type: ignore[arg-type]


def test_set_current_raises_project_not_found(service: SupabaseSceneImageStore) -> None:
    with pytest.raises(ProjectNotFound):
        service.set_current(uuid.uuid4(), "scene_01", 1)


def test_set_current_raises_permission_denied_for_another_users_project(
    user: SupabaseSceneImageStore, project_id: uuid.UUID
) -> None:
    with pytest.raises(PermissionDenied):
        user.set_current(project_id, "scene_01", 1)


# --- configure_storage, configure_fetch -------------------------------------------------------


def test_configure_storage_returns_the_effective_config(
    owner: SupabaseSceneImageStore, restore_settings: None, storage_dir: str
) -> None:
    settings = {"root": f"{storage_dir}/objects", "public_base_url": "http://127.0.0.1:9/objects"}
    assert owner.configure_storage("file", settings) == {"backend": "file", "settings": settings}


def test_configure_storage_raises_storage_misconfigured(owner: SupabaseSceneImageStore, restore_settings: None) -> None:
    with pytest.raises(StorageMisconfigured):
        owner.configure_storage("ftp", {})


def test_configure_storage_raises_permission_denied_for_service_role(service: SupabaseSceneImageStore) -> None:
    with pytest.raises(PermissionDenied):
        service.configure_storage("file", {"root": "/tmp", "public_base_url": "http://127.0.0.1/"})


def test_configure_fetch_keeps_keys_not_given(owner: SupabaseSceneImageStore, restore_settings: None) -> None:
    before = owner.configure_fetch({})
    assert owner.configure_fetch({"max_pixels": 1000}) == {**before, "max_pixels": 1000}


def test_configure_fetch_raises_invalid_argument_for_an_unknown_key(
    owner: SupabaseSceneImageStore, restore_settings: None
) -> None:
    with pytest.raises(InvalidArgument, match="unknown"):
        owner.configure_fetch({"max_megabytes": 3})


def test_configure_fetch_raises_permission_denied_for_a_user(user: SupabaseSceneImageStore) -> None:
    with pytest.raises(PermissionDenied):
        user.configure_fetch({})


# --- transport --------------------------------------------------------------------------------


def test_rpc_errors_without_a_documented_sqlstate_stay_postgrest_errors(service: SupabaseSceneImageStore) -> None:
    not_a_uuid: Any = "not-a-uuid"
    with pytest.raises(APIError) as raised:
        service.history(not_a_uuid, "scene_01")
    assert raised.value.code == "22P02"


def test_store_needs_url_and_key_or_a_client() -> None:
    with pytest.raises(TypeError):
        SupabaseSceneImageStore("http://127.0.0.1:1")
