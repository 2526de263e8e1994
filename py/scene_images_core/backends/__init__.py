"""Storage backends: `make_backend(kind, settings)` for kind file, supabase or s3."""

from __future__ import annotations

from typing import Any

from ..errors import StorageMisconfigured
from .base import Backend, StoredObjectInfo

KINDS = ("file", "supabase", "s3")

__all__ = ["KINDS", "Backend", "StoredObjectInfo", "make_backend"]


def make_backend(kind: str, settings: dict[str, Any]) -> Backend:
    """A backend of `kind` from its settings; StorageMisconfigured names any bad key.
    Modules are imported on demand, so boto3 is needed only for s3."""
    if kind == "file":
        from .file import FileBackend

        return FileBackend(settings)
    if kind == "supabase":
        from .supabase import SupabaseBackend

        return SupabaseBackend(settings)
    if kind == "s3":
        from .s3 import S3Backend

        return S3Backend(settings)
    raise StorageMisconfigured(
        f"unknown storage backend {kind!r}; known: {', '.join(KINDS)}"
    )
