"""Read the fetch policy, the storage backend and the limits the database is configured with."""

from __future__ import annotations

import json
from typing import Any

from scene_images_core import configured
from scene_images_core.backends import Backend
from scene_images_core.policy import FetchPolicy

from .statements import Statement, plan

# The same document the external worker reads, so both build their backend from one source.
_SETTINGS: Statement = ("SELECT scene_images_private.get_scene_image_worker_settings()::text AS settings", [])


def load(plpy: Any, cache: dict) -> tuple[FetchPolicy, Backend]:
    """The current policy and backend, rebuilt only when the settings change: building a
    backend can be costly (a boto3 client, an HTTP session) and this runs on every call."""
    text = plpy.execute(plan(plpy, cache, _SETTINGS))[0]["settings"]
    if cache.get("settings_text") != text:
        document = json.loads(text)
        cache["configured"] = configured.from_settings(document)
        cache["limits"] = dict(document.get("limits") or {})
        cache["settings_text"] = text
    return cache["configured"]


def limits(plpy: Any, cache: dict) -> dict[str, Any]:
    """The limits group (configure_scene_image_limits) as read by the last load()."""
    if "limits" not in cache:
        load(plpy, cache)
    return dict(cache["limits"])
