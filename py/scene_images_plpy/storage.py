"""configure_scene_image_storage's check: can this backend work with these settings?"""

from __future__ import annotations

import json
from typing import Any

from scene_images_core.backends import make_backend

from .errors import attempt


def prepare(plpy: Any, backend: str, settings_json: str) -> dict:
    """prepare_storage: NULL fields when the backend is ready, else the refusal that
    configure_scene_image_storage raises (errors.py)."""
    def work() -> None:
        make_backend(backend, json.loads(settings_json)).ensure_ready()
    outcome = attempt(plpy, work, result="ready", for_owner=True)
    del outcome["ready"]  # nothing to return but the refusal's fields
    return outcome
