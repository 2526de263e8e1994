"""Where an image version lives in storage: one path per version, never reused."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

SCENE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
EXTENSIONS = frozenset({"jpg", "png", "gif", "webp", "avif"})
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SEGMENT = re.compile(r"[A-Za-z0-9_.=+-]+")


def object_path(
    project_id: str | uuid.UUID,
    scene_id: str,
    stored_at: datetime,
    sha256_hex: str,
    extension: str,
) -> str:
    """projects/{project_id}/scenes/{scene_id}_{UTC %Y%m%dT%H%M%S%fZ}_{sha256[:12]}.{ext}.
    The timestamp and hash make every version's path unique, so nothing is overwritten and
    CDN caches never serve a stale version."""
    project = str(project_id)
    if not re.fullmatch(SCENE_ID_PATTERN, project):
        raise ValueError(f"project_id {project!r} is not a safe path segment")
    check_scene_id(scene_id)
    if stored_at.tzinfo is None or stored_at.utcoffset() is None:
        raise ValueError("stored_at must be timezone-aware")
    if not _SHA256_HEX.fullmatch(sha256_hex):
        raise ValueError("sha256_hex must be 64 lower-case hex digits")
    if extension not in EXTENSIONS:
        raise ValueError(f"extension {extension!r} is not one of {sorted(EXTENSIONS)}")
    stamp = stored_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"projects/{project}/scenes/{scene_id}_{stamp}_{sha256_hex[:12]}.{extension}"


def check_scene_id(scene_id: object) -> str:
    """`scene_id` if it matches SCENE_ID_PATTERN, else ValueError."""
    # fullmatch: with re.match, `$` would also accept a trailing newline.
    if not isinstance(scene_id, str) or not re.fullmatch(SCENE_ID_PATTERN, scene_id):
        raise ValueError(f"scene_id {scene_id!r} does not match {SCENE_ID_PATTERN}")
    return scene_id


def check_object_path(path: str) -> str:
    """`path` if it is a safe relative object path (no traversal, no empty segments);
    backends call this before touching storage with a caller-given path."""
    segments = path.split("/") if isinstance(path, str) else [""]
    if not all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments):
        raise ValueError(f"object path {path!r} is not a safe relative path")
    return path


def check_prefix(prefix: str) -> str:
    """`prefix` if it is empty or a safe path start (a folder ending in "/" or a name start)."""
    if prefix:
        check_object_path(prefix.removesuffix("/"))
    return prefix
