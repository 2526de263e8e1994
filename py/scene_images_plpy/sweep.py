"""sweep_orphaned_scene_objects: objects in storage that no row references."""

from __future__ import annotations

from typing import Any

from . import settings
from .errors import attempt, refused
from .statements import plan

BATCH = 1000

_CUTOFF = (
    "SELECT extract(epoch FROM now() - $1)::float8 AS cutoff, $1 < interval '0' AS negative",
    ["interval"],
)
_UNREFERENCED = (
    "SELECT path FROM unnest($1::text[]) AS path"
    " WHERE NOT EXISTS (SELECT 1 FROM public.scene_images AS si WHERE si.storage_path = path)",
    ["text[]"],
)


def sweep(plpy: Any, cache: dict, older_than: str, dry_run: bool) -> dict:
    """try_sweep_orphaned_scene_objects: `paths`, or a refusal for the caller to raise (errors.py)."""
    limits = plpy.execute(plan(plpy, cache, _CUTOFF), [older_than])[0]
    if limits["negative"]:
        return {"paths": None, **refused("22023", "InvalidArgument", "older_than must not be negative")}
    return attempt(plpy, lambda: _sweep(plpy, cache, limits["cutoff"], dry_run), result="paths", for_owner=True)


def _sweep(plpy: Any, cache: dict, cutoff: float, dry_run: bool) -> list[str]:
    _, backend = settings.load(plpy, cache)
    candidates = [o.path for o in backend.list("projects/") if o.modified_at.timestamp() < cutoff]
    orphans = []
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start:start + BATCH]
        orphans += [row["path"] for row in plpy.execute(plan(plpy, cache, _UNREFERENCED), [batch])]
    if not dry_run:
        for path in orphans:
            backend.delete(path)
    return orphans
