"""SupabaseSceneImageStore: the RPC-able part of the SQL API through Supabase (PostgREST).

For applications that reach the database only through Supabase's REST API: the same method
names, dataclasses and exceptions as SceneImageStore. Projects are plain tables, not RPCs, so
`master_json` and `create_project` are not here (use `client.table("projects")`).
Transactions cannot span calls over HTTP: each call is its own transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from postgrest.exceptions import APIError
from supabase import Client, create_client

from .errors import error_for
from .models import SceneImage, SceneImageJob, SceneImageRequest, StoreOutcome


class SupabaseSceneImageStore:
    """Give a Supabase `url` and `key` (anon or service key), or an existing `client`
    (for example one signed in as a user, so row-level security applies to that user)."""

    def __init__(self, url: str | None = None, key: str | None = None, *, client: Client | None = None) -> None:
        if client is None:
            if url is None or key is None:
                raise TypeError("SupabaseSceneImageStore needs url and key, or client")
            client = create_client(url, key)
        self.client = client

    def _rpc(self, function: str, args: dict[str, Any]) -> Any:
        try:
            return self.client.rpc(function, args).execute().data
        except APIError as exc:
            details = None if exc.details is None else str(exc.details)
            mapped = error_for(exc.code, exc.message, details, exc.hint)
            if mapped is None:
                raise
            raise mapped from exc

    def download_and_store(self, project_id: uuid.UUID, request: SceneImageRequest) -> SceneImage:
        """store_scene_image. Mind PostgREST's statement timeout (8 s for `authenticated`)."""
        data = self._rpc("store_scene_image", {"project_id": str(project_id), **request.to_json()})
        return SceneImage.from_json(data)

    def download_and_store_or_enqueue(self, project_id: uuid.UUID, request: SceneImageRequest) -> StoreOutcome:
        """store_scene_image with fallback => true: stored, or queued with stored = False."""
        data = self._rpc("store_scene_image", {"project_id": str(project_id), **request.to_json(), "fallback": True})
        return StoreOutcome.from_json(data)

    def enqueue(self, project_id: uuid.UUID, request: SceneImageRequest) -> SceneImageJob:
        """enqueue_scene_image: returns at once, well inside PostgREST's statement timeout."""
        return SceneImageJob.from_json(self._rpc("enqueue_scene_image", {"project_id": str(project_id), **request.to_json()}))

    def get_job(self, job_id: uuid.UUID) -> SceneImageJob:
        """get_scene_image_job."""
        return SceneImageJob.from_json(self._rpc("get_scene_image_job", {"job_id": str(job_id)}))

    def retry_job(self, job_id: uuid.UUID) -> SceneImageJob:
        """retry_scene_image_job."""
        return SceneImageJob.from_json(self._rpc("retry_scene_image_job", {"job_id": str(job_id)}))

    def download_and_store_bulk(
        self, project_id: uuid.UUID, requests: Sequence[SceneImageRequest]
    ) -> list[SceneImage]:
        """store_scene_images: rows in request order."""
        data = self._rpc(
            "store_scene_images", {"project_id": str(project_id), "requests": [r.to_json() for r in requests]}
        )
        return [SceneImage.from_json(row) for row in data]

    def get_current_image_url(self, project_id: uuid.UUID, scene_id: str) -> str | None:
        """get_scene_image_url: None when the scene has no image."""
        url: str | None = self._rpc("get_scene_image_url", {"project_id": str(project_id), "scene_id": scene_id})
        return url

    def history(self, project_id: uuid.UUID, scene_id: str) -> list[SceneImage]:
        """get_scene_image_history: oldest first."""
        data = self._rpc("get_scene_image_history", {"project_id": str(project_id), "scene_id": scene_id})
        return [SceneImage.from_json(row) for row in data]

    def set_current(self, project_id: uuid.UUID, scene_id: str, version: int) -> SceneImage:
        """set_current_scene_image."""
        data = self._rpc(
            "set_current_scene_image", {"project_id": str(project_id), "scene_id": scene_id, "version": version}
        )
        return SceneImage.from_json(data)

    def configure_storage(self, backend: str, settings: dict[str, Any]) -> dict[str, Any]:
        """configure_scene_image_storage: owner only, so PermissionDenied for Supabase's client roles."""
        config: dict[str, Any] = self._rpc(
            "configure_scene_image_storage", {"backend": backend, "settings": settings}
        )
        return config

    def configure_fetch(self, settings: dict[str, Any]) -> dict[str, Any]:
        """configure_scene_image_fetch: owner only, as above."""
        config: dict[str, Any] = self._rpc("configure_scene_image_fetch", {"settings": settings})
        return config

    def configure_limits(self, settings: dict[str, Any]) -> dict[str, Any]:
        """configure_scene_image_limits: owner only, as above."""
        config: dict[str, Any] = self._rpc("configure_scene_image_limits", {"settings": settings})
        return config
