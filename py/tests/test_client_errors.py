"""The client's exception table is the server's error table: same SQLSTATEs, same names."""

from __future__ import annotations

from scene_images import errors as client_errors
from scene_images_core.error_table import rows


def test_client_errors_match_the_documented_table():
    documented = {(state, name) for state, name, _ in rows()}
    client = {(state, cls.__name__) for state, cls in client_errors.ERRORS.items()}
    assert client == documented


def test_client_errors_all_derive_from_scene_image_error():
    assert all(issubclass(cls, client_errors.SceneImageError) for cls in client_errors.ERRORS.values())
