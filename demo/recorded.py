"""Read what the database recorded for a project, to check the story against it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row

STORE_FUNCTION = "public.store_scene_image(uuid,text,text,text,text,jsonb)"


@dataclass(frozen=True)
class StoredImage:
    scene_id: str
    version: int
    is_current: bool
    storage_url: str
    sha256: str
    file_size: int
    width: int
    height: int
    content_type: str
    generation_prompt: str | None


def is_deployed(conn: psycopg.Connection[Any]) -> bool:
    """True when the database has store_scene_image (sqitch deployed every change)."""
    row = conn.execute("SELECT to_regprocedure(%s) IS NOT NULL", (STORE_FUNCTION,)).fetchone()
    return bool(row and row[0])


def stored_images(conn: psycopg.Connection[Any], project_id: uuid.UUID) -> list[StoredImage]:
    """Every version of every scene of the project, by scene then version."""
    with conn.cursor(row_factory=class_row(StoredImage)) as cur:
        return cur.execute(
            "SELECT scene_id, version, is_current, storage_url, sha256, file_size, width, height,"
            "       content_type, generation_prompt"
            " FROM public.scene_images WHERE project_id = %s ORDER BY scene_id, version",
            (project_id,),
        ).fetchall()


def current(images: list[StoredImage], scene_id: str) -> StoredImage:
    """The current version of a scene."""
    return next(i for i in images if i.scene_id == scene_id and i.is_current)
