"""What only the RPC transport (SupabaseSceneImageStore through the PostgREST RPC stand-in) has:


supabase-py's APIError. The calls both transports share, and the mapping of every
documented error they reach, are in test_client.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.register_assert_rewrite("client_transports")  # its asserts are imported before the plugin loads

from client_transports import JWT_SECRET, Transport
from postgrest.exceptions import APIError
from postgrest_rpc_standin import make_jwt

from scene_images import PermissionDenied, SceneImageRequest, SupabaseSceneImageStore

pytest_plugins = ["client_transports"]


def test_rpc_errors_without_a_documented_sqlstate_stay_postgrest_errors(rpc_transport: Transport) -> None:
    not_a_uuid: Any = "not-a-uuid"
    with pytest.raises(APIError) as raised:
        rpc_transport.store.history(not_a_uuid, "scene_01")
    assert raised.value.code == "22P02"


def test_store_needs_url_and_key_or_a_client() -> None:
    with pytest.raises(TypeError):
        SupabaseSceneImageStore("http://127.0.0.1:1")


def test_rpc_maps_an_anon_refusal_to_permission_denied(rest_url: str, project_id: uuid.UUID) -> None:
    anon = SupabaseSceneImageStore(rest_url, make_jwt({"role": "anon"}, JWT_SECRET))
    with pytest.raises(PermissionDenied) as raised:
        anon.download_and_store(project_id, SceneImageRequest("scene_01", "http://127.0.0.1:9/never-fetched.png"))
    assert isinstance(raised.value.__cause__, APIError) and raised.value.__cause__.code == "42501"
