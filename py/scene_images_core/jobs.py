"""Run queued jobs: the one implementation behind process_scene_image_jobs (in the database)
and `scene-images worker` (outside it). Downloads and uploads run concurrently; reporting the
outcome (complete or fail) is the caller's, on its own thread, because plpy is main-thread only."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import pipeline
from .backends import Backend
from .errors import IngestError
from .policy import FetchPolicy

Job = Mapping[str, Any]


@dataclass(frozen=True)
class Attempt:
    job: Job
    stored: pipeline.StoredObject | None
    sqlstate: str | None = None
    message: str | None = None


def attempt_job(
    job: Job, policy: FetchPolicy, backend: Backend, *, cancel: threading.Event | None = None
) -> Attempt:
    """Fetch, inspect and store one job's image; every failure becomes the attempt's SQLSTATE."""
    try:
        stored = pipeline.ingest(
            job["source_url"], policy, backend, str(job["project_id"]), job["scene_id"], cancel=cancel
        )
    except IngestError as error:
        return Attempt(job, None, error.sqlstate, error.client_message)  # job rows are the client's to read
    except ValueError as error:
        return Attempt(job, None, "22023", str(error))
    except Exception as error:  # noqa: BLE001 - a bug or unforeseen library error: retry later, keep the reason
        return Attempt(job, None, "XX000", f"{type(error).__name__}: {error}")
    return Attempt(job, stored)


def attempt_jobs(
    jobs: Sequence[Job],
    policy: FetchPolicy,
    backend: Backend,
    *,
    poll: Callable[[], object] | None = None,
    max_workers: int = 16,
    cancel: threading.Event | None = None,
) -> list[Attempt]:
    """attempt_job for every job concurrently; one job's failure never stops the others."""
    if not jobs:
        return []
    return pipeline.run_concurrently(
        lambda job: attempt_job(job, policy, backend, cancel=cancel),
        list(jobs), max_workers=max_workers, poll=poll, cancel=cancel,
    )


def settle(
    attempts: Sequence[Attempt],
    backend: Backend,
    complete: Callable[[Attempt], Mapping[str, Any]],
    fail: Callable[[Attempt], object],
) -> None:
    """Report each attempt. When completion answers with another object (the job was stored
    already, or the scene's current image has the same bytes), ours is surplus: delete it."""
    for attempt in attempts:
        if attempt.stored is None:
            fail(attempt)
            continue
        row = complete(attempt)
        if row["storage_path"] != attempt.stored.storage_path:
            backend.delete(attempt.stored.storage_path)
