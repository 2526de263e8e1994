"""Turn the database's settings document into a fetch policy and a storage backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .backends import Backend, make_backend
from .errors import StorageMisconfigured
from .policy import FetchPolicy


def from_settings(settings: Mapping[str, Any]) -> tuple[FetchPolicy, Backend]:
    """`settings` is what get_scene_image_worker_settings() returns: {"fetch": {...},
    "storage": {"backend": ..., "settings": {...}}, "queue": {...}}."""
    storage = settings.get("storage")
    if not isinstance(storage, Mapping) or "backend" not in storage:
        raise StorageMisconfigured("no storage backend is configured")
    return FetchPolicy.from_settings(dict(settings.get("fetch") or {})), make_backend(
        storage["backend"], dict(storage.get("settings") or {})
    )
