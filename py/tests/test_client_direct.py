"""What only the direct transport (SceneImageStore over psycopg) has: projects and masterJSON,
transactions spanning calls (`connection()` and `conn=`), pools given or owned, and the mapping
of psycopg errors to the documented exception classes. The calls both transports share are in
test_client.py."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from client_sources import FetchPolicy, ImageSource
from psycopg_pool import ConnectionPool, PoolClosed

from scene_images import (
    ERRORS,
    ConstraintViolation,
    Project,
    ProjectNotFound,
    SceneImageRequest,
    SceneImageStore,
    VersionNotFound,
    from_psycopg,
    translating_errors,
)

pytest_plugins = ["client_fixtures"]


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
