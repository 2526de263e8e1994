"""process_scene_image_jobs: claim, run with the core's job runner, complete or fail each.

The call is one statement: when it fails or is cancelled (pg_cancel_backend, statement_timeout)
every row it wrote rolls back, so every object it uploaded is deleted before the error
propagates. A terminated backend cannot clean up: its objects are orphans for
sweep_orphaned_scene_objects."""

from __future__ import annotations

import json
from typing import Any

from scene_images_core import jobs, pipeline
from scene_images_core.backends import Backend

from . import settings
from .errors import attempt, sqlstate_of
from .statements import Statement, interrupt_poll, plan

_CLAIM = ("SELECT * FROM scene_images_private.claim_scene_image_jobs($1, $2, NULL)", ["text", "int"])
_COMPLETE = (
    "SELECT * FROM scene_images_private.complete_scene_image_job($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    ["uuid", "text", "text", "text", "bigint", "text", "text", "int", "int", "jsonb"],
)
_FAIL = ("SELECT * FROM scene_images_private.fail_scene_image_job($1, $2, $3, $4)", ["uuid", "text", "text", "text"])
_JOB = ("SELECT * FROM scene_images_internal.scene_image_jobs WHERE id = ANY($1)", ["uuid[]"])
_WORKER: Statement = ("SELECT 'postgres:' || pg_catalog.pg_backend_pid() AS name", [])


def process(plpy: Any, cache: dict, max_jobs: int) -> dict:
    """try_process_scene_image_jobs: `jobs` (as they ended), or a refusal for the caller to raise
    (errors.py): a bad max_jobs, a cancel, storage that cannot even be loaded."""
    return attempt(plpy, lambda: _process(plpy, cache, max_jobs), result="jobs")


def _process(plpy: Any, cache: dict, max_jobs: int) -> list[dict]:
    worker = plpy.execute(plan(plpy, cache, _WORKER))[0]["name"]
    claimed = list(plpy.execute(plan(plpy, cache, _CLAIM), [worker, max_jobs]))
    if not claimed:
        return []
    policy, backend = settings.load(plpy, cache)
    try:
        attempts = jobs.attempt_jobs(claimed, policy, backend, poll=interrupt_poll(plpy, cache))
    except BaseException as exc:  # attempt_jobs deleted what it stored; say what it could not
        for note in getattr(exc, "__notes__", []):
            plpy.log(f"process_scene_image_jobs: {note}")
        raise

    def complete(attempt: jobs.Attempt) -> dict:
        stored = attempt.stored
        assert stored is not None  # settle completes only attempts that stored
        try:
            return plpy.execute(plan(plpy, cache, _COMPLETE), [
                attempt.job["id"], worker, stored.storage_path, stored.storage_url, stored.file_size,
                stored.content_type, stored.sha256, stored.width, stored.height, json.dumps(stored.source),
            ])[0]
        except plpy.SPIError as error:  # each plpy.execute is a subtransaction: recoverable
            sqlstate = sqlstate_of(error)
            if sqlstate not in jobs.REFUSED:
                raise
            plpy.log(f"process_scene_image_jobs: completion of job {attempt.job['id']} refused [{sqlstate}]: {error}")
            raise jobs.ReportRefused(sqlstate or "", str(error.args[0])) from None

    def fail(attempt: jobs.Attempt) -> None:
        try:
            plpy.execute(plan(plpy, cache, _FAIL), [attempt.job["id"], worker, attempt.sqlstate, attempt.message])
        except plpy.SPIError as error:
            if sqlstate_of(error) not in jobs.NOT_HELD:
                raise
            plpy.log(f"process_scene_image_jobs: failure report of job {attempt.job['id']} refused: {error}")

    uploaded = [attempt.stored.storage_path for attempt in attempts if attempt.stored is not None]
    try:
        surplus_left = jobs.settle(attempts, backend, complete, fail)
        finished = list(plpy.execute(plan(plpy, cache, _JOB), [[job["id"] for job in claimed]]))
    except BaseException:
        # A report failed or the query was cancelled: the rows this call made roll back (the
        # caller raises the refusal), so none of its objects may outlive them.
        _report_left(plpy, pipeline.remove_objects(backend, uploaded), backend)
        raise
    _report_left(plpy, surplus_left, backend)
    return finished


def _report_left(plpy: Any, left: list[str], backend: Backend) -> None:
    """Objects that could not be deleted: a count for the caller, the paths for the server log
    only (the orphan sweep removes them)."""
    if left:
        plpy.warning(f"could not delete {len(left)} uploaded object(s) from {backend.kind} storage;"
                     " sweep_orphaned_scene_objects removes them")
        plpy.log(f"process_scene_image_jobs: undeletable objects: {', '.join(left)}")
