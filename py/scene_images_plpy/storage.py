"""configure_scene_image_storage's check: can this backend work with these settings?"""

from __future__ import annotations

import json
from typing import Any

from scene_images_core.backends import make_backend

from .errors import as_sql_errors


def prepare(plpy: Any, backend: str, settings_json: str) -> None:
    with as_sql_errors(plpy, for_owner=True):
        make_backend(backend, json.loads(settings_json)).ensure_ready()
