"""Helpers for the queue tests (test_jobs_worker.py, test_portable_deploy.py); test modules load
the fixtures with `pytest_plugins = ["job_workers"]`.

- `worker_processes`: starts `scene-images worker` as real subprocesses (the installed console script,
  PG* environment, log in a file per worker) and kills whatever is still running at teardown.
- `empty_job_queue`: the queue is the whole database's and a worker takes any job, so unfinished
  jobs other tests left behind are removed before (and after) the test.
- `set_queue_policy`, `enqueue`, `scalar`, `jobs_of`, `job_status(_is)`, `new_project`, `master_json`, `wait_until`:
  small SQL and timing helpers; `assert_*`: what must hold of a project's rows after the queue ran.

PYTEST_DONT_REWRITE: test modules import helpers from here before pytest loads it as a plugin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from client_sources import DictConnection
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[2]
WORKER_COMMAND = ROOT / "var" / "venv" / "bin" / "scene-images"
# How long a step (a worker draining its jobs, a job being claimed) may take before a test calls
# it hung. Each normally takes well under a few seconds; the bound is only there so a broken
# worker fails the test instead of stalling the run, and a loaded CI machine never reaches it.
HANG_S = 120.0

T = TypeVar("T")


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout_s: float) -> int:
        """The exit status; fails the test, showing the log's end, if it takes longer."""
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker {self.name} still runs after {timeout_s} s:\n{self.log()[-4000:]}") from None

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)


class Workers:
    """The worker processes one test started."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._started: list[WorkerProcess] = []

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        """`scene-images worker --name NAME ARGS...` with the test's PG* environment plus `env`."""
        log_path = self._log_dir / f"{name}.log"
        with log_path.open("wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [str(WORKER_COMMAND), "worker", "--name", name, *args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            )
        worker = WorkerProcess(name, process, log_path)
        self._started.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self._started:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()


@pytest.fixture
def worker_processes(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.kill_all()


@pytest.fixture
def empty_job_queue(db: DictConnection) -> Iterator[None]:
    unfinished = "DELETE FROM scene_images_internal.scene_image_jobs WHERE status IN ('queued', 'running')"
    db.execute(unfinished)
    yield
    db.execute(unfinished)


def set_queue_policy(db: DictConnection, **policy: float) -> None:
    """Merge `policy` into the queue settings (client_fixtures' restore_settings puts them back)."""
    db.execute(
        "UPDATE scene_images_internal.settings SET value = value || %s WHERE name = 'queue'", (Jsonb(policy),)
    )


def enqueue(db: DictConnection, project_id: uuid.UUID, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT * FROM enqueue_scene_images(project_id => %s, requests => %s)", (project_id, Jsonb(requests))
    ).fetchall()


def scalar(db: DictConnection, query: str, params: tuple[Any, ...] = ()) -> Any:
    """The one value of a one-row, one-column query."""
    row = db.execute(query, params).fetchone()
    assert row is not None
    return next(iter(row.values()))


def jobs_of(db: DictConnection, project_id: uuid.UUID) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT * FROM scene_images_internal.scene_image_jobs WHERE project_id = %s ORDER BY scene_id, created_at, id",
        (project_id,),
    ).fetchall()


def wait_until(probe: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.01) -> T:
    """probe() until it returns something truthy; fails the test after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def new_project(db: DictConnection, name: str) -> uuid.UUID:
    row = db.execute("INSERT INTO projects (name) VALUES (%s) RETURNING id", (name,)).fetchone()
    assert row is not None
    project_id: uuid.UUID = row["id"]
    return project_id


def job_status(db: DictConnection, job_id: uuid.UUID) -> str:
    row = db.execute("SELECT status FROM scene_images_internal.scene_image_jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None
    status: str = row["status"]
    return status


def job_status_is(db: DictConnection, job_id: uuid.UUID, *statuses: str) -> Callable[[], bool]:
    """A probe for wait_until."""
    return lambda: job_status(db, job_id) in statuses


def master_json(db: DictConnection, project_id: uuid.UUID) -> dict[str, Any]:
    row = db.execute("SELECT master_json FROM projects WHERE id = %s", (project_id,)).fetchone()
    assert row is not None
    master: dict[str, Any] = row["master_json"]
    return master


def assert_versions_gapless_with_one_current(rows: list[dict[str, Any]]) -> None:
    versions: dict[str, list[int]] = {}
    current: Counter[str] = Counter()
    for row in rows:
        versions.setdefault(row["scene_id"], []).append(row["version"])
        current[row["scene_id"]] += row["is_current"]
    for scene_id, numbers in versions.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"{scene_id}: versions {sorted(numbers)}"
        assert current[scene_id] == 1, f"{scene_id}: {current[scene_id]} current rows"


def assert_master_json_follows_current_rows(db: DictConnection, project_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    scenes = master_json(db, project_id)["scenes"]
    for row in rows:
        if row["is_current"]:
            assert scenes[row["scene_id"]]["scene_start_frame"] == row["storage_url"]
