"""Rules that SQL and the core package both apply are defined once, in SQL; the core's copies
(constants it needs outside the database, in the external worker and its unit tests) are pinned
to the database's here, the way the error table is pinned to the README."""

from __future__ import annotations

import dataclasses

import pytest
from client_sources import DictConnection

from scene_images_core.backends import KINDS
from scene_images_core.backends.file import FileBackend
from scene_images_core.backends.s3 import S3Backend
from scene_images_core.backends.supabase import SupabaseBackend
from scene_images_core.paths import SCENE_ID_PATTERN
from scene_images_core.policy import FetchPolicy

BACKENDS: dict[str, type[FileBackend | S3Backend | SupabaseBackend]] = {
    "file": FileBackend, "s3": S3Backend, "supabase": SupabaseBackend}


def _sql(db: DictConnection, expression: str) -> object:
    return db.execute(f"SELECT {expression} AS v").fetchone()["v"]


def test_the_scene_id_pattern_is_the_databases(db: DictConnection) -> None:
    assert SCENE_ID_PATTERN == _sql(db, "scene_images_internal.scene_id_pattern()")


def test_the_url_length_cap_is_the_databases(db: DictConnection) -> None:
    assert FetchPolicy().max_url_length == _sql(db, "scene_images_internal.max_url_length()")


def test_the_fetch_policy_defaults_are_the_databases(db: DictConnection) -> None:
    defaults = _sql(db, "scene_images_internal.fetch_defaults()")
    assert isinstance(defaults, dict)
    fields = {f.name: f.default for f in dataclasses.fields(FetchPolicy)}
    assert set(defaults) <= set(fields), "a fetch setting the core does not know"
    assert FetchPolicy.from_settings(defaults) == FetchPolicy()


@pytest.mark.parametrize("kind", KINDS)
def test_each_backends_setting_names_are_the_databases(db: DictConnection, kind: str) -> None:
    registry = _sql(db, "scene_images_internal.storage_backend_settings()")
    assert isinstance(registry, dict) and set(registry) == set(KINDS)
    names = BACKENDS[kind].setting_names
    assert {field: list(getattr(names, field)) for field in ("required", "optional", "one_of", "secret")} == registry[kind]
