"""SceneImageStore: the SQL API over psycopg 3, one method per stored function."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

from psycopg import Connection, Cursor
from psycopg.rows import Row, class_row, scalar_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from . import sql
from .errors import ProjectNotFound, translating_errors
from .models import Project, SceneImage, SceneImageJob, SceneImageRequest, StoreOutcome


class SceneImageStore:
    """Client of the scene-images SQL API.

    Give a conninfo (empty or None: the PG* environment) to get a pool of its own, or an
    existing `pool`. Every method takes an optional `conn=`: pass one from `connection()` to
    group several calls in one transaction; without it each call is its own transaction.
    """

    def __init__(
        self,
        conninfo: str | None = None,
        *,
        pool: ConnectionPool[Any] | None = None,
        min_size: int = 1,
        max_size: int = 4,
    ) -> None:
        self._owns_pool = pool is None
        self._projects: sql.ProjectsStatements | None = None  # read once, on first use
        if pool is None:
            pool = ConnectionPool(conninfo or "", min_size=min_size, max_size=max_size, open=True)
            pool.wait()
        self._pool = pool

    def close(self) -> None:
        """Close the pool if this store created it."""
        if self._owns_pool:
            self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def connection(self) -> Iterator[Connection[Any]]:
        """A pooled connection in one transaction: committed on success, rolled back on error."""
        with translating_errors(), self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _use(self, conn: Connection[Any] | None) -> Iterator[Connection[Any]]:
        # Errors are translated outside the pool block too: masterJSON sync runs at COMMIT.
        if conn is not None:
            with translating_errors():
                yield conn
        else:
            with self.connection() as own:
                yield own

    def download_and_store(
        self, project_id: uuid.UUID, request: SceneImageRequest, *, conn: Connection[Any] | None = None
    ) -> SceneImage:
        """store_scene_image: download the source URL now and record the new current version."""
        with self._use(conn) as c:
            return _one(c.cursor(row_factory=class_row(SceneImage)).execute(
                sql.STORE_SCENE_IMAGE, _request_params(project_id, request)))

    def download_and_store_or_enqueue(
        self, project_id: uuid.UUID, request: SceneImageRequest, *, conn: Connection[Any] | None = None
    ) -> StoreOutcome:
        """store_scene_image(..., fallback => true): stored now, or, when storage fails, queued
        for a worker with the generator's URL returned for use meanwhile (stored = False)."""
        with self._use(conn) as c:
            outcome = _one(c.cursor(row_factory=scalar_row).execute(
                sql.STORE_SCENE_IMAGE_OR_ENQUEUE, _request_params(project_id, request)))
        return StoreOutcome.from_json(outcome)

    def enqueue(
        self, project_id: uuid.UUID, request: SceneImageRequest, *, conn: Connection[Any] | None = None
    ) -> SceneImageJob:
        """enqueue_scene_image: queue the image for a worker; returns at once."""
        with self._use(conn) as c:
            return _one(c.cursor(row_factory=class_row(SceneImageJob)).execute(
                sql.ENQUEUE_SCENE_IMAGE, _request_params(project_id, request)))

    def enqueue_bulk(
        self, project_id: uuid.UUID, requests: Sequence[SceneImageRequest], *, conn: Connection[Any] | None = None
    ) -> list[SceneImageJob]:
        """enqueue_scene_images: one job per request, in order."""
        params = {"project_id": project_id, "requests": Jsonb([r.to_json() for r in requests])}
        with self._use(conn) as c:
            return c.cursor(row_factory=class_row(SceneImageJob)).execute(sql.ENQUEUE_SCENE_IMAGES, params).fetchall()

    def get_job(self, job_id: uuid.UUID, *, conn: Connection[Any] | None = None) -> SceneImageJob:
        """get_scene_image_job: the job's status, attempts, last error and resulting row."""
        with self._use(conn) as c:
            return _one(c.cursor(row_factory=class_row(SceneImageJob)).execute(sql.GET_SCENE_IMAGE_JOB, {"job_id": job_id}))

    def retry_job(self, job_id: uuid.UUID, *, conn: Connection[Any] | None = None) -> SceneImageJob:
        """retry_scene_image_job: queue a failed job again."""
        with self._use(conn) as c:
            return _one(c.cursor(row_factory=class_row(SceneImageJob)).execute(sql.RETRY_SCENE_IMAGE_JOB, {"job_id": job_id}))

    def sweep_orphans(
        self, older_than: timedelta = timedelta(hours=1), *, dry_run: bool = True, conn: Connection[Any] | None = None
    ) -> list[str]:
        """sweep_orphaned_scene_objects (owner only): storage paths no row references."""
        params = {"older_than": older_than, "dry_run": dry_run}
        with self._use(conn) as c:
            return list(c.cursor(row_factory=scalar_row).execute(sql.SWEEP_ORPHANED_SCENE_OBJECTS, params).fetchall())

    def download_and_store_bulk(
        self,
        project_id: uuid.UUID,
        requests: Sequence[SceneImageRequest],
        *,
        conn: Connection[Any] | None = None,
    ) -> list[SceneImage]:
        """store_scene_images: download all in parallel on the server; rows in request order."""
        params = {"project_id": project_id, "requests": Jsonb([r.to_json() for r in requests])}
        with self._use(conn) as c:
            return c.cursor(row_factory=class_row(SceneImage)).execute(sql.STORE_SCENE_IMAGES, params).fetchall()

    def get_current_image_url(
        self, project_id: uuid.UUID, scene_id: str, *, conn: Connection[Any] | None = None
    ) -> str | None:
        """get_scene_image_url: the permanent URL of the scene's current image, None if none."""
        params = {"project_id": project_id, "scene_id": scene_id}
        with self._use(conn) as c:
            url: str | None = c.cursor(row_factory=scalar_row).execute(sql.GET_SCENE_IMAGE_URL, params).fetchone()
            return url

    def history(self, project_id: uuid.UUID, scene_id: str, *, conn: Connection[Any] | None = None) -> list[SceneImage]:
        """get_scene_image_history: every version of the scene, oldest first."""
        params = {"project_id": project_id, "scene_id": scene_id}
        with self._use(conn) as c:
            return c.cursor(row_factory=class_row(SceneImage)).execute(sql.GET_SCENE_IMAGE_HISTORY, params).fetchall()

    def set_current(
        self, project_id: uuid.UUID, scene_id: str, version: int, *, conn: Connection[Any] | None = None
    ) -> SceneImage:
        """set_current_scene_image: make an existing version current (roll back or forward)."""
        params = {"project_id": project_id, "scene_id": scene_id, "version": version}
        with self._use(conn) as c:
            return _one(c.cursor(row_factory=class_row(SceneImage)).execute(sql.SET_CURRENT_SCENE_IMAGE, params))

    def master_json(self, project_id: uuid.UUID, *, conn: Connection[Any] | None = None) -> dict[str, Any]:
        """The project's masterJSON (as committed: the sync runs at commit)."""
        with self._use(conn) as c:
            statement = self._projects_statements(c).get_master_json
            master: dict[str, Any] | None = (
                c.cursor(row_factory=scalar_row).execute(statement, {"project_id": project_id}).fetchone()
            )
        if master is None:
            raise ProjectNotFound(f"project {project_id} does not exist")
        return master

    def create_project(
        self,
        name: str | None = None,
        master_json: dict[str, Any] | None = None,
        *,
        conn: Connection[Any] | None = None,
    ) -> Project:
        """Insert a project (owned by the caller's JWT user, if any)."""
        params = {"name": name, "master_json": Jsonb(master_json if master_json is not None else {})}
        with self._use(conn) as c:
            statement = self._projects_statements(c).create_project
            return _one(c.cursor(row_factory=class_row(Project)).execute(statement, params))

    def _projects_statements(self, conn: Connection[Any]) -> sql.ProjectsStatements:
        """The projects table may be the app's own, with its own column names: ask once."""
        if self._projects is None:
            table: dict[str, str] = _one(conn.cursor(row_factory=scalar_row).execute(sql.GET_SCENE_IMAGE_PROJECTS_TABLE))
            self._projects = sql.projects_statements(table)
        return self._projects

    def configure_storage(
        self, backend: str, settings: dict[str, Any], *, conn: Connection[Any] | None = None
    ) -> dict[str, Any]:
        """configure_scene_image_storage (owner only): the effective config, secrets left out."""
        params = {"backend": backend, "settings": Jsonb(settings)}
        with self._use(conn) as c:
            return _one(c.cursor(row_factory=scalar_row).execute(sql.CONFIGURE_SCENE_IMAGE_STORAGE, params))

    def configure_fetch(self, settings: dict[str, Any], *, conn: Connection[Any] | None = None) -> dict[str, Any]:
        """configure_scene_image_fetch (owner only): merge settings; the effective fetch policy."""
        with self._use(conn) as c:
            return _one(
                c.cursor(row_factory=scalar_row).execute(sql.CONFIGURE_SCENE_IMAGE_FETCH, {"settings": Jsonb(settings)})
            )

    def configure_limits(self, settings: dict[str, Any], *, conn: Connection[Any] | None = None) -> dict[str, Any]:
        """configure_scene_image_limits (owner only): merge settings; the effective limits."""
        with self._use(conn) as c:
            return _one(
                c.cursor(row_factory=scalar_row).execute(sql.CONFIGURE_SCENE_IMAGE_LIMITS, {"settings": Jsonb(settings)})
            )


def _request_params(project_id: uuid.UUID, request: SceneImageRequest) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "scene_id": request.scene_id,
        "source_url": request.source_url,
        "prompt": request.prompt,
        "provider": request.provider,
        "metadata": Jsonb(request.metadata),
    }


def _one(cursor: Cursor[Row]) -> Row:
    """The single row a function returning one value must give."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the function returned no row")
    return row
