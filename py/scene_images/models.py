"""What the SQL API returns and takes, as frozen dataclasses.

Field names are the column and JSON key names, so `class_row` (psycopg) and `from_json`
(PostgREST responses) build the same objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SceneImage:
    """One stored version of a scene's image: a row of `scene_images`."""

    id: uuid.UUID
    project_id: uuid.UUID
    scene_id: str
    storage_path: str
    storage_url: str
    file_size: int
    content_type: str
    generated_at: datetime
    provider: str
    generation_prompt: str | None
    original_fal_url: str | None
    fal_metadata: dict[str, Any]
    version: int
    is_current: bool
    sha256: str
    width: int
    height: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SceneImage:
        """Build from a row as PostgREST renders it (uuids and timestamps as strings)."""
        return cls(
            id=uuid.UUID(data["id"]),
            project_id=uuid.UUID(data["project_id"]),
            scene_id=data["scene_id"],
            storage_path=data["storage_path"],
            storage_url=data["storage_url"],
            file_size=int(data["file_size"]),
            content_type=data["content_type"],
            generated_at=datetime.fromisoformat(data["generated_at"]),
            provider=data["provider"],
            generation_prompt=data["generation_prompt"],
            original_fal_url=data["original_fal_url"],
            fal_metadata=dict(data["fal_metadata"]),
            version=int(data["version"]),
            is_current=bool(data["is_current"]),
            sha256=data["sha256"],
            width=int(data["width"]),
            height=int(data["height"]),
        )


@dataclass(frozen=True, slots=True)
class SceneImageRequest:
    """One image to download and store: an item of `store_scene_images(requests => ...)`."""

    scene_id: str
    source_url: str
    prompt: str | None = None
    provider: str = "fal_ai_flux"
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The request as one JSON object of the bulk function's `requests` array."""
        return {
            "scene_id": self.scene_id,
            "source_url": self.source_url,
            "prompt": self.prompt,
            "provider": self.provider,
            "metadata": self.metadata,
        }


@dataclass(frozen=True, slots=True)
class Project:
    """A row of the projects table, under our column names (an adopted table may call them
    otherwise, and may have no created_at)."""

    id: uuid.UUID
    name: str | None
    master_json: dict[str, Any]
    owner_id: uuid.UUID | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class SceneImageJob:
    """A queued store request: a row of the job queue (enqueue_scene_image, get_scene_image_job)."""

    id: uuid.UUID
    project_id: uuid.UUID
    scene_id: str
    source_url: str
    prompt: str | None
    provider: str
    metadata: dict[str, Any]
    status: str  # queued | running | stored | failed
    attempts: int
    max_attempts: int
    available_at: datetime
    locked_by: str | None
    lease_expires_at: datetime | None
    last_error_sqlstate: str | None
    last_error: str | None
    scene_image_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SceneImageJob:
        """Build from a job as PostgREST renders it (uuids and timestamps as strings)."""

        def when(key: str) -> datetime | None:
            return datetime.fromisoformat(data[key]) if data.get(key) else None

        return cls(
            id=uuid.UUID(data["id"]),
            project_id=uuid.UUID(data["project_id"]),
            scene_id=data["scene_id"],
            source_url=data["source_url"],
            prompt=data["prompt"],
            provider=data["provider"],
            metadata=dict(data["metadata"]),
            status=data["status"],
            attempts=int(data["attempts"]),
            max_attempts=int(data["max_attempts"]),
            available_at=datetime.fromisoformat(data["available_at"]),
            locked_by=data["locked_by"],
            lease_expires_at=when("lease_expires_at"),
            last_error_sqlstate=data["last_error_sqlstate"],
            last_error=data["last_error"],
            scene_image_id=uuid.UUID(data["scene_image_id"]) if data.get("scene_image_id") else None,
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
        )


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """What a store with fallback did: `stored` with `image`, or queued as `job_id` while
    `url` is the generator's URL to use meanwhile (never recorded as permanent)."""

    stored: bool
    url: str
    image: SceneImage | None
    job_id: uuid.UUID | None
    sqlstate: str | None
    message: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoreOutcome:
        """Build from the scene_image_outcome composite rendered as JSON."""
        return cls(
            stored=bool(data["stored"]),
            url=data["url"],
            image=SceneImage.from_json(data["image"]) if data.get("image") else None,
            job_id=uuid.UUID(data["job_id"]) if data.get("job_id") else None,
            sqlstate=data.get("sqlstate"),
            message=data.get("message"),
        )


def column_names(model: type[SceneImage | Project | SceneImageJob]) -> list[str]:
    """The columns a model is built from, in declaration order (what the SQL selects)."""
    return [f.name for f in fields(model)]
