"""`scene-images worker`: store queued images outside the database.

Claims jobs with claim_scene_image_jobs (FOR UPDATE SKIP LOCKED, so any number of workers on
any number of machines share one queue), fetches, checks and uploads them with the very module
the PL/Python functions use (scene_images_core.jobs), and reports each outcome with
complete_scene_image_job / fail_scene_image_job. Idle slots sleep on LISTEN scene_image_jobs
rather than polling hot. SIGTERM stops claiming and lets in-flight jobs finish; a second
SIGTERM cancels them (they are reported and retried later). With `drain`, the worker exits
once no job is queued or running.

A slot that hits an unexpected error (the database went away, say) stops the whole worker
with exit status 1: a supervisor restarts it, and the jobs it held come back when their
lease expires.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from scene_images_core import configured, jobs
from scene_images_core.backends import Backend
from scene_images_core.errors import IngestError
from scene_images_core.policy import FetchPolicy

from . import sql

log = logging.getLogger("scene_images.worker")

CHANNEL = "scene_image_jobs"
IDLE_WAIT_S = 2.0  # longest an idle slot sleeps without a notification (a lost NOTIFY, an expired lease)
MIN_WAIT_S = 0.05  # shortest: a due job another worker has just locked must not make a slot spin
PROGRESS_EVERY_S = 10.0
OUTCOMES = ("stored", "retry", "failed", "superseded")

Row = dict[str, Any]


@dataclass
class WorkerStats:
    """What a worker did: jobs stored, retried later, failed for good, or superseded (its
    lease had passed to another worker, which reports the job instead: the database refused
    the stale report with SIJ04, and the object it had stored was deleted)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, outcome: str) -> None:
        with self.lock:
            self.counts[outcome] += 1

    def summary(self) -> str:
        with self.lock:
            return ", ".join(f"{k} {self.counts[k]}" for k in OUTCOMES)


class Worker:
    def __init__(
        self,
        conninfo: str = "",
        *,
        concurrency: int = 4,
        lease: timedelta | None = None,
        name: str | None = None,
        drain: bool = False,
        idle_wait_s: float = IDLE_WAIT_S,
    ) -> None:
        """lease None: the queue policy's lease_s (get_scene_image_worker_settings).
        idle_wait_s: the longest an idle slot waits for a notification before it looks at the
        queue again (what a lost NOTIFY or an expired lease costs at most)."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if lease is not None and lease <= timedelta(0):
            raise ValueError("lease must be positive")
        if not idle_wait_s >= MIN_WAIT_S:
            raise ValueError(f"idle wait must be at least {MIN_WAIT_S} s")
        self.conninfo = conninfo
        self.concurrency = concurrency
        self.lease = lease
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.drain = drain
        self.idle_wait_s = idle_wait_s
        self.stats = WorkerStats()
        self.failed = False  # a slot stopped on an unexpected error
        self._stopping = threading.Event()
        self._cancel = threading.Event()  # set on a second stop: abort in-flight downloads
        self._wakeup = threading.Condition()
        # Bumped on every NOTIFY (under _wakeup): a slot compares it with the value it saw before
        # claiming, so a notification that arrives between an empty claim and the wait is not lost.
        self._notifications = 0
        self._settings_lock = threading.Lock()
        self._settings_text: str | None = None
        self._configured: tuple[FetchPolicy, Backend] | None = None

    def stop(self) -> None:
        """First call: finish in-flight jobs, claim no more. Second call: cancel them too."""
        if self._stopping.is_set():
            self._cancel.set()
        self._stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, _frame: self._on_signal(signum))

    def _on_signal(self, signum: int) -> None:
        log.info("worker %s: %s, %s", self.name, signal.Signals(signum).name,
                 "cancelling in-flight jobs" if self._stopping.is_set() else "finishing in-flight jobs")
        self.stop()

    def run(self) -> WorkerStats:
        """Run until stopped (or, draining, until the queue is empty); returns what was done."""
        with psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row) as conn:
            log.info("worker %s: %d slots%s; queue %s", self.name, self.concurrency,
                     ", draining" if self.drain else "", _counts_text(self._queue_counts(conn)))
            listener = threading.Thread(target=self._listen, name="listen", daemon=True)
            listener.start()
            slots = [threading.Thread(target=self._slot, name=f"slot-{i}") for i in range(self.concurrency)]
            for slot in slots:
                slot.start()
            next_progress = time.monotonic() + PROGRESS_EVERY_S
            while any(slot.is_alive() for slot in slots):
                for slot in slots:
                    slot.join(timeout=0.2)
                if time.monotonic() >= next_progress:
                    log.info("worker %s progress: %s; queue %s", self.name, self.stats.summary(),
                             _counts_text(self._queue_counts(conn)))
                    next_progress = time.monotonic() + PROGRESS_EVERY_S
            self._stopping.set()
            log.info("worker %s done: %s; queue %s", self.name, self.stats.summary(),
                     _counts_text(self._queue_counts(conn)))
        return self.stats

    def _slot(self) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row) as conn:
                while not self._stopping.is_set():
                    seen = self._notification_count()
                    job = conn.execute(sql.CLAIM_JOBS, {"worker": self.name, "max_jobs": 1, "lease": self.lease}).fetchone()
                    if job is not None:
                        self._run_job(conn, job)
                        continue
                    counts = self._queue_counts(conn)
                    if self.drain and counts["queued"] == 0 and counts["running"] == 0:
                        return
                    self._idle(seen, counts["next_available_in_s"])
        except Exception:
            log.exception("worker %s: a slot stopped on an unexpected error", self.name)
            self.failed = True
            self.stop()

    def _run_job(self, conn: psycopg.Connection[Row], job: Row) -> None:
        try:
            policy, backend = self._load_settings(conn)
        except IngestError as error:  # storage misconfigured (SIS02): the job waits for a fix
            self._report_failure(conn, jobs.Attempt(job, None, error.sqlstate, error.message))
            return
        attempt = jobs.attempt_job(job, policy, backend, cancel=self._cancel)
        left = jobs.settle(
            [attempt], backend,
            lambda stored: self._report_stored(conn, stored),
            lambda failed: self._report_failure(conn, failed),
        )
        for path in left:
            log.warning("job %s: could not delete the surplus object %s; sweep_orphaned_scene_objects removes it",
                        job["id"], path)

    def _report_stored(self, conn: psycopg.Connection[Row], attempt: jobs.Attempt) -> Row:
        job, stored = attempt.job, attempt.stored
        assert stored is not None
        try:
            row = conn.execute(sql.COMPLETE_JOB, {
                "job_id": job["id"], "worker": self.name, "storage_path": stored.storage_path,
                "storage_url": stored.storage_url, "file_size": stored.file_size,
                "content_type": stored.content_type, "sha256": stored.sha256, "width": stored.width,
                "height": stored.height, "source": Jsonb(stored.source),
            }).fetchone()
        except psycopg.Error as error:
            # Autocommit: a refused statement wrote nothing, so the object is nobody's row.
            if error.sqlstate not in jobs.REFUSED:
                raise
            if error.sqlstate in jobs.NOT_HELD:
                self.stats.add("superseded")
            log.warning("job %s: completion refused, deleting object %s: [%s] %s",
                        job["id"], stored.storage_path, error.sqlstate, _primary(error))
            raise jobs.ReportRefused(error.sqlstate or "", _primary(error)) from None
        assert row is not None
        self.stats.add("stored")
        log.info("stored job %s: scene %s v%s (%d bytes) %s",
                 job["id"], job["scene_id"], row["version"], stored.file_size, row["storage_url"])
        return row

    def _report_failure(self, conn: psycopg.Connection[Row], attempt: jobs.Attempt) -> None:
        job = attempt.job
        try:
            row = conn.execute(sql.FAIL_JOB, {
                "job_id": job["id"], "worker": self.name, "sqlstate": attempt.sqlstate, "message": attempt.message,
            }).fetchone()
        except psycopg.Error as error:
            if error.sqlstate not in jobs.NOT_HELD:
                raise
            # The lease ran out and the job passed on: whoever holds it now reports it.
            self.stats.add("superseded")
            log.warning("superseded job %s (attempt %s of %s), its failure [%s] not recorded: [%s] %s",
                        job["id"], job["attempts"], job["max_attempts"], attempt.sqlstate, error.sqlstate,
                        _primary(error))
            return
        assert row is not None
        outcome = "failed" if row["status"] == "failed" else "retry"
        self.stats.add(outcome)
        log.warning("%s job %s (attempt %s of %s): [%s] %s",
                    {"failed": "failed", "retry": "will retry"}[outcome],
                    job["id"], job["attempts"], job["max_attempts"], attempt.sqlstate, attempt.message)

    def _load_settings(self, conn: psycopg.Connection[Row]) -> tuple[FetchPolicy, Backend]:
        """Settings are read for every job (one cheap query) so a reconfigured backend is used
        at once; the backend is rebuilt only when they changed."""
        row = conn.execute(sql.WORKER_SETTINGS).fetchone()
        assert row is not None
        text = json.dumps(row["settings"], sort_keys=True)
        with self._settings_lock:
            if text != self._settings_text or self._configured is None:
                self._configured = configured.from_settings(row["settings"])
                self._settings_text = text
            return self._configured

    @staticmethod
    def _queue_counts(conn: psycopg.Connection[Row]) -> dict[str, Any]:
        row = conn.execute(sql.QUEUE_COUNTS).fetchone()
        assert row is not None
        counts: dict[str, Any] = row["counts"]
        return counts

    def _notification_count(self) -> int:
        with self._wakeup:
            return self._notifications

    def _idle(self, seen: int, due_in_s: float | None) -> None:
        """Sleep until a notification newer than `seen`, a stop, the next queued job's due
        time, or idle_wait_s, whichever comes first."""
        longest = self.idle_wait_s
        timeout = longest if due_in_s is None else min(longest, max(float(due_in_s), MIN_WAIT_S))
        with self._wakeup:
            self._wakeup.wait_for(lambda: self._stopping.is_set() or self._notifications != seen, timeout)

    def _listen(self) -> None:
        """Wake idle slots when a job is enqueued; the idle timeout covers a lost notification."""
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                while not self._stopping.is_set():
                    for _ in conn.notifies(timeout=1.0, stop_after=1):
                        with self._wakeup:
                            self._notifications += 1
                            self._wakeup.notify_all()
        except psycopg.Error as error:
            log.warning("worker %s: LISTEN stopped (%s); slots poll every %g s", self.name, error, self.idle_wait_s)


def _primary(error: psycopg.Error) -> str:
    return error.diag.message_primary or str(error)


def _counts_text(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {counts[k]}" for k in ("queued", "running", "stored", "failed"))


def main(
    conninfo: str, *, concurrency: int, lease_s: float | None, name: str | None, drain: bool,
    idle_wait_s: float = IDLE_WAIT_S,
) -> int:
    """The `scene-images worker` command: log to stderr, stop gracefully on SIGTERM/SIGINT.
    Exit status 0 when stopped or drained, 1 when a slot stopped on an unexpected error."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(threadName)s %(message)s")
    worker = Worker(
        conninfo, concurrency=concurrency, name=name, drain=drain, idle_wait_s=idle_wait_s,
        lease=None if lease_s is None else timedelta(seconds=lease_s),
    )
    worker.install_signal_handlers()
    worker.run()
    return 1 if worker.failed else 0
