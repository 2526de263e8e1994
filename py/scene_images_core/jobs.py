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

# The database refused a report and wrote nothing. NOT_HELD: the job is gone or not this
# worker's (its lease ran out and it passed on): the report is stale and nobody needs it.
# The others: the completion's facts were refused; the job is failed with that error.
NOT_HELD = frozenset({"SIJ01", "SIJ04"})
REFUSED = NOT_HELD | {"22004", "22023", "SIS02"}


class ReportRefused(Exception):
    """Raised by a `complete` callback when the database refused the completion (`sqlstate` in
    REFUSED): the object stored for it did not become a row."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"[{sqlstate}] {message}")
        self.sqlstate = sqlstate
        self.message = message


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
    """attempt_job for every job concurrently; one job's failure never stops the others.

    When poll raises (a query cancel, a statement timeout), no job starts an upload any more,
    and every object the finished attempts stored is deleted before the exception propagates,
    as pipeline.store_many does: their jobs will never be completed by this call. Paths that
    could not be deleted are listed in the exception's notes (the orphan sweep finds them)."""
    if not jobs:
        return []
    stop = cancel if cancel is not None else threading.Event()
    stored: list[str] = []
    lock = threading.Lock()

    def one(job: Job) -> Attempt:
        attempt = attempt_job(job, policy, backend, cancel=stop)
        if attempt.stored is not None:
            with lock:
                stored.append(attempt.stored.storage_path)
        return attempt

    try:
        return pipeline.run_concurrently(one, list(jobs), max_workers=max_workers, poll=poll, cancel=stop)
    except BaseException as exc:
        left = pipeline.remove_objects(backend, stored)
        if left:
            exc.add_note(f"could not delete {len(left)} stored object(s): {', '.join(left)}")
        raise


def settle(
    attempts: Sequence[Attempt],
    backend: Backend,
    complete: Callable[[Attempt], Mapping[str, Any]],
    fail: Callable[[Attempt], object],
) -> list[str]:
    """Report each attempt; returns the paths of surplus objects that could not be deleted.

    An object that does not become the job's row is surplus and deleted: when completion answers
    with another row (the scene's current image has the same bytes), or `complete` raises
    ReportRefused (a stale report: the job is no longer this worker's; or refused facts, and
    then the job is failed with that error instead). `fail` deals with a refusal of its own
    (SIJ04: nothing to record). Any other exception propagates; the caller
    decides what its uploads become (a failing process_scene_image_jobs rolls back every row,
    so it deletes them all)."""
    left: list[str] = []
    for attempt in attempts:
        if attempt.stored is None:
            fail(attempt)
            continue
        path = attempt.stored.storage_path
        try:
            row = complete(attempt)
        except ReportRefused as refused:
            left += pipeline.remove_objects(backend, [path])
            if refused.sqlstate not in NOT_HELD:
                fail(Attempt(attempt.job, None, refused.sqlstate, refused.message))
            continue
        if row["storage_path"] != path:
            left += pipeline.remove_objects(backend, [path])
    return left
