"""process_scene_image_jobs: claim, run with the core's job runner, complete or fail each."""

from __future__ import annotations

import json
from typing import Any

from scene_images_core import jobs

from . import settings
from .errors import as_sql_errors
from .statements import Statement, interrupt_poll, plan

_CLAIM = ("SELECT * FROM scene_images_private.claim_scene_image_jobs($1, $2, NULL)", ["text", "int"])
_COMPLETE = (
    "SELECT * FROM scene_images_private.complete_scene_image_job($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    ["uuid", "text", "text", "text", "bigint", "text", "text", "int", "int", "jsonb"],
)
_FAIL = ("SELECT * FROM scene_images_private.fail_scene_image_job($1, $2, $3, $4)", ["uuid", "text", "text", "text"])
_JOB = ("SELECT * FROM scene_images_internal.scene_image_jobs WHERE id = ANY($1)", ["uuid[]"])
_WORKER: Statement = ("SELECT 'postgres:' || pg_catalog.pg_backend_pid() AS name", [])


def process(plpy: Any, cache: dict, max_jobs: int) -> list[dict]:
    worker = plpy.execute(plan(plpy, cache, _WORKER))[0]["name"]
    with as_sql_errors(plpy):
        claimed = list(plpy.execute(plan(plpy, cache, _CLAIM), [worker, max_jobs]))
        if not claimed:
            return []
        policy, backend = settings.load(plpy, cache)
        attempts = jobs.attempt_jobs(claimed, policy, backend, poll=interrupt_poll(plpy, cache))

    def complete(attempt: jobs.Attempt) -> dict:
        stored = attempt.stored
        assert stored is not None  # settle completes only attempts that stored
        return plpy.execute(plan(plpy, cache, _COMPLETE), [
            attempt.job["id"], worker, stored.storage_path, stored.storage_url, stored.file_size,
            stored.content_type, stored.sha256, stored.width, stored.height, json.dumps(stored.source),
        ])[0]

    def fail(attempt: jobs.Attempt) -> None:
        plpy.execute(plan(plpy, cache, _FAIL), [attempt.job["id"], worker, attempt.sqlstate, attempt.message])

    jobs.settle(attempts, backend, complete, fail)
    return list(plpy.execute(plan(plpy, cache, _JOB), [[job["id"] for job in claimed]]))
