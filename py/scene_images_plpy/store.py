"""store_scene_image and store_scene_images: check, fetch + inspect + upload concurrently,
then insert rows in request order; on any failure remove every object this call uploaded."""

from __future__ import annotations

import json
import time
from typing import Any

from scene_images_core import pipeline
from scene_images_core.errors import ItemFailed, StorageFailed

from . import settings
from .errors import attempt
from .memory import pin_mmap_threshold
from .statements import interrupt_poll, plan

# Downloads mostly wait for the source's first byte: 32 at once store a 100-image batch 25-40 %
# faster than 16 at a 50 ms TTFB (make bench). In-flight images are held once each (fetch
# reads a body straight into its final buffer), so 32 take no more memory than 16 used to.
MAX_WORKERS = 32

pin_mmap_threshold()  # freed image buffers leave the backend at once (see memory.py)

_CHECK_ONE = (
    "SELECT scene_images_internal.check_scene_image_request($1, $2, $3, $4, $5, $6)",
    ["uuid", "text", "text", "text", "text", "jsonb"],
)
_CHECK_MANY = (
    "SELECT ordinal, scene_id, source_url, prompt, provider, metadata::text AS metadata"
    " FROM scene_images_internal.checked_scene_image_requests($1, $2) ORDER BY ordinal",
    ["uuid", "jsonb"],
)
_CURRENT = (
    "SELECT * FROM public.scene_images WHERE project_id = $1 AND scene_id = ANY($2) AND is_current",
    ["uuid", "text[]"],
)
# The one writer (record_scene_images) takes every row of the call in one statement.
_RECORD = (
    "SELECT * FROM scene_images_internal.record_scene_images($1, $2)",
    ["uuid", "jsonb"],
)
_ENQUEUE = (
    "SELECT * FROM scene_images_private.enqueue_scene_image($1, $2, $3, $4, $5, $6)",
    ["uuid", "text", "text", "text", "text", "jsonb"],
)


def store_one(plpy: Any, cache: dict, project_id: str, scene_id: str, source_url: str,
              prompt: str | None, provider: str, metadata: str) -> dict:
    """try_store_scene_image: `image` (the row), or a refusal for the caller to raise (errors.py)."""
    def work() -> dict:
        request = _checked_one(plpy, cache, project_id, scene_id, source_url, prompt, provider, metadata)
        return _store(plpy, cache, project_id, [request])[0]
    return attempt(plpy, work, result="image")


def store_one_or_enqueue(plpy: Any, cache: dict, project_id: str, scene_id: str, source_url: str,
                         prompt: str | None, provider: str, metadata: str, fallback: bool) -> dict:
    """try_store_scene_image(..., fallback): `outcome` (a scene_image_outcome), or a refusal."""
    def work() -> dict:
        request = _checked_one(plpy, cache, project_id, scene_id, source_url, prompt, provider, metadata)
        try:
            row = _store(plpy, cache, project_id, [request])[0]
        except StorageFailed as error:
            if not fallback:
                raise
            # Storage is down: a worker stores the image later; the caller gets the generator's
            # URL to use meanwhile, and it is never recorded as the permanent one.
            job = plpy.execute(plan(plpy, cache, _ENQUEUE),
                               [project_id, scene_id, source_url, prompt, provider, metadata])[0]
            return {"stored": False, "url": source_url, "image": None, "job_id": job["id"],
                    "sqlstate": error.sqlstate, "message": error.message}
        return {"stored": True, "url": row["storage_url"], "image": row, "job_id": None,
                "sqlstate": None, "message": None}
    return attempt(plpy, work, result="outcome")


def store_many(plpy: Any, cache: dict, project_id: str, requests: str) -> dict:
    """try_store_scene_images: `images` (the rows in request order), or a refusal."""
    started = time.monotonic()  # bulk_deadline_s counts the whole call, checks included

    def work() -> list[dict]:
        items = list(plpy.execute(plan(plpy, cache, _CHECK_MANY), [project_id, requests]))
        try:
            return _store(plpy, cache, project_id, items, bulk_started=started)
        except ItemFailed as failed:
            raise _named(failed, items) from None
    return attempt(plpy, work, result="images")


def _checked_one(plpy: Any, cache: dict, project_id: str, scene_id: str, source_url: str,
                 prompt: str | None, provider: str, metadata: str) -> dict:
    plpy.execute(plan(plpy, cache, _CHECK_ONE), [project_id, scene_id, source_url, prompt, provider, metadata])
    return {"scene_id": scene_id, "source_url": source_url, "prompt": prompt,
            "provider": provider, "metadata": metadata}


def _store(plpy: Any, cache: dict, project_id: str, items: list[dict], *,
           bulk_started: float | None = None) -> list[dict]:
    """Raises the item's own IngestError for a single item, ItemFailed for several. A bulk
    call (bulk_started: when it began) is held to bulk_deadline_s and bulk_max_bytes_held."""
    policy, backend = settings.load(plpy, cache)
    deadline, max_bytes_held = None, None
    if bulk_started is not None:
        limits = settings.limits(plpy, cache)
        seconds = limits["bulk_deadline_s"]
        deadline = pipeline.Deadline(
            bulk_started + seconds,
            f"store_scene_images ran past bulk_deadline_s ({seconds} s); nothing was stored",
        )
        max_bytes_held = int(limits["bulk_max_bytes_held"])
    scene_ids = [item["scene_id"] for item in items]
    current = {row["scene_id"]: row
               for row in plpy.execute(plan(plpy, cache, _CURRENT), [project_id, scene_ids])}
    try:
        outcomes = pipeline.store_many(
            items, policy, backend, project_id,
            skip_if_sha={scene: row["sha256"] for scene, row in current.items()},
            poll=interrupt_poll(plpy, cache),
            max_workers=MAX_WORKERS,
            deadline=deadline,
            max_bytes_held=max_bytes_held,
        )
    except ItemFailed as failed:
        if len(items) == 1:
            raise failed.error from None
        raise

    stored = [(item, o) for item, o in zip(items, outcomes, strict=True) if isinstance(o, pipeline.StoredObject)]
    uploaded = [o.storage_path for _, o in stored]
    try:
        recorded = {row["scene_id"]: row for row in plpy.execute(plan(plpy, cache, _RECORD), [
            project_id, json.dumps([_object(item, o) for item, o in stored])])} if stored else {}
    except BaseException:
        # A row failed to insert (or the query was cancelled): its objects must not outlive it.
        left = pipeline.remove_objects(backend, uploaded)
        if left:  # the original error matters more; the orphan sweep finds these later
            # The caller sees a count; the paths go to the server log only.
            plpy.warning(f"could not delete {len(left)} uploaded object(s) from {backend.kind} storage;"
                         " sweep_orphaned_scene_objects removes them")
            plpy.log(f"store_scene_image(s): undeletable objects: {', '.join(left)}")
        raise
    # Another writer recorded the same bytes meanwhile: that row stands, our copy is surplus.
    surplus = [o.storage_path for item, o in stored if recorded[item["scene_id"]]["storage_path"] != o.storage_path]
    if left := pipeline.remove_objects(backend, surplus):
        plpy.log(f"store_scene_image(s): undeletable surplus objects: {', '.join(left)}")
    return [recorded.get(item["scene_id"]) or current[item["scene_id"]] for item in items]


def _object(item: dict, stored: pipeline.StoredObject) -> dict:
    """What record_scene_images takes for one stored object."""
    return {
        "scene_id": item["scene_id"], "storage_path": stored.storage_path, "storage_url": stored.storage_url,
        "file_size": stored.file_size, "content_type": stored.content_type, "sha256": stored.sha256,
        "width": stored.width, "height": stored.height, "provider": item["provider"], "prompt": item["prompt"],
        "source_url": item["source_url"], "metadata": json.loads(item["metadata"]), "source": stored.source,
    }


def _named(failed: ItemFailed, items: list[dict]) -> ItemFailed:
    """The same failure, its message naming the request the caller must fix."""
    failed.label = f"requests[{failed.index}] (scene_id {items[failed.index]['scene_id']})"
    return failed
