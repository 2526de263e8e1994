"""What every storage backend offers: write-once objects with permanent public URLs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

CACHE_CONTROL = "max-age=31536000, immutable"  # a version's path never changes content


@dataclass(frozen=True)
class StoredObjectInfo:
    path: str
    size: int
    modified_at: datetime  # timezone-aware


class Backend(Protocol):
    kind: str

    def put(self, path: str, data: bytes, content_type: str) -> str:
        """Store a new object and return its public URL. Never overwrites: an existing
        object at `path` raises StorageFailed."""
        ...

    def delete(self, path: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def exists(self, path: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[StoredObjectInfo]:
        """Every object whose path starts with `prefix`, recursively (for orphan sweeps)."""
        ...

    def public_url(self, path: str) -> str: ...

    def ensure_ready(self) -> None:
        """Prepare the storage (create the directory or bucket) or raise StorageMisconfigured."""
        ...

    def describe(self) -> dict[str, Any]:
        """The settings in force, without secrets."""
        ...
