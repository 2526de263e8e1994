"""Faults with real processes: storage that goes away and comes back, a backend killed with
SIGKILL in the middle of a bulk store, concurrent writers against a flaky source, and a slow
download cancelled by statement_timeout or pg_cancel_backend.

The SIGKILL test runs on a throwaway cluster of its own (initdb under var/, its own socket and
port, no TCP listener): killing a backend makes the postmaster restart every session of its
cluster, and the shared cluster serves other people's tests.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from client_sources import png
from launchers import moto_server
from loopback_http import free_port
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from security_fixtures import (
    BASE_FETCH,
    DictConnection,
    FetchSettings,
    StorageRoot,
    assert_row_matches_object,
    primary,
    refused,
    server_owned_dir,
    store,
    store_bulk,
)
from sources import DEADLINE_MARGIN_S, HOLD_S, HTML_PAGE, STALL_S, ImageSourceServer, SourceHandler
from supabase_storage_standin import StorageStandIn

from scene_images_core.backends.supabase import SupabaseBackend

pytest_plugins = ["client_fixtures", "security_fixtures"]

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# --- storage down, storage back ----------------------------------------------------------------


class _S3Storage:
    """moto on a fixed port, so the configured endpoint is the same after a restart. moto keeps
    nothing across restarts; the bucket is made again, as a real store would still have it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bucket = f"faults-{uuid.uuid4().hex[:10]}"
        self._stack = ExitStack()

    def start(self) -> None:
        self.settings = self._stack.enter_context(moto_server(self.port)).s3_settings(self.bucket)
        self._client().create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def stop(self) -> None:
        self._stack.close()

    def configure(self, db: DictConnection) -> None:
        db.execute("SELECT configure_scene_image_storage('s3', %s)", (Jsonb(self.settings),))

    def read(self, path: str) -> bytes:
        return self._client().get_object(Bucket=self.bucket, Key=path)["Body"].read()

    def _client(self) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.settings["endpoint_url"], region_name=self.settings["region"],
            aws_access_key_id=self.settings["access_key_id"], aws_secret_access_key=self.settings["secret_access_key"],
        )


class _SupabaseStorage:
    """The Supabase Storage stand-in, restarted on the same port with the same key."""

    def __init__(self) -> None:
        self.port = free_port()
        self._stack = ExitStack()

    def start(self) -> None:
        self._server = self._stack.enter_context(StorageStandIn(port=self.port))
        self.settings = self._server.backend_settings()
        SupabaseBackend(self.settings).ensure_ready()  # the bucket, public

    def stop(self) -> None:
        self._stack.close()

    def configure(self, db: DictConnection) -> None:
        db.execute("SELECT configure_scene_image_storage('supabase', %s)", (Jsonb(self.settings),))

    def read(self, path: str) -> bytes:
        return self._server.objects[(self.settings["bucket"], path)].data


@pytest.mark.parametrize("kind", ["s3", "supabase"])
def test_store_fails_with_sis01_while_storage_is_down_and_succeeds_once_it_is_back(
    db: DictConnection, project_id: uuid.UUID, restore_settings: None, fetch_settings: FetchSettings,
    source: ImageSourceServer, kind: str,
) -> None:
    storage = _S3Storage() if kind == "s3" else _SupabaseStorage()
    url = source.url("/img.png")
    try:
        storage.start()
        storage.configure(db)
        storage.stop()
        with refused(db, project_id, None, "SIS01") as caught:
            store(db, project_id, "s1", url)
        # The caller learns which kind of backend failed, never where it lives.
        assert primary(caught.value).startswith(f"StorageFailed: {kind} storage backend")
        assert f"127.0.0.1:{storage.port}" not in str(caught.value)
        storage.start()
        row = store(db, project_id, "s1", url)
        data = storage.read(row["storage_path"])
    finally:
        storage.stop()
    assert hashlib.sha256(data).hexdigest() == row["sha256"] and len(data) == row["file_size"]
    assert (row["version"], row["is_current"]) == (1, True)


# --- SIGKILL mid-call on a cluster of its own ---------------------------------------------------


@dataclass(frozen=True)
class ScratchCluster:
    conninfo: str
    log: Path

    def wait_for_crash_restart(self, pid: int, timeout_s: float = 120.0) -> None:
        """Until the postmaster has noticed `pid` died, ended every session and is ready again.
        Connecting earlier could land in a session the crash restart is about to end."""
        death = f"server process (PID {pid}) was terminated by signal 9"

        def restarted() -> bool:
            text = self.log.read_text(errors="replace")
            return death in text and "ready to accept connections" in text.partition(death)[2]

        wait_until(restarted, timeout_s, "the crash restart")


@pytest.fixture(scope="module")
def crash_cluster() -> Iterator[ScratchCluster]:
    """A fresh cluster with the project deployed."""
    with server_owned_dir("security-cluster-") as base:
        data, run, log, port = base / "data", base / "run", base / "postgres.log", free_port()
        run.mkdir()
        os.chown(run, *_postgres_ids())
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*as_postgres, PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
        subprocess.run([*as_postgres, "env", f"PYTHONPATH={ROOT / 'py'}", PG_BIN / "pg_ctl", "-D", data,
                        "-l", log, "-w", "-t", "60", "start", "-o",
                        f"-p {port} -k {run} -c listen_addresses='' -c fsync=off -c full_page_writes=off"],
                       check=True, capture_output=True)
        try:
            with psycopg.connect(host=str(run), port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
                conn.execute("CREATE DATABASE scene_images_crash")
            env = {**os.environ, "PGHOST": str(run), "PGPORT": str(port), "PGUSER": "postgres"}
            subprocess.run([ROOT / "scripts/sqitch.sh", "scene_images_crash", "deploy"], env=env, check=True,
                           capture_output=True)
            yield ScratchCluster(f"host={run} port={port} user=postgres dbname=scene_images_crash", log)
        finally:
            subprocess.run([*as_postgres, PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], check=False,
                           capture_output=True)


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _connect_when_back(conninfo: str, timeout_s: float = 120.0) -> DictConnection:
    """Retry until the restarted cluster accepts connections (it may still be recovering)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_backend_killed_mid_bulk_store_leaves_an_orphan_the_sweep_removes(
    crash_cluster: ScratchCluster, source: ImageSourceServer,
) -> None:
    conninfo = crash_cluster.conninfo
    with server_owned_dir("security-crash-storage-") as path:
        root = StorageRoot(path, "http://127.0.0.1:9/objects")
        with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as admin:
            admin.execute("SELECT configure_scene_image_storage('file', %s)", (Jsonb(root.settings()),))
            admin.execute("SELECT configure_scene_image_fetch(%s)", (Jsonb({**BASE_FETCH, "timeout_s": 2 * STALL_S}),))
            project = admin.execute("INSERT INTO projects (name) VALUES ('crash') RETURNING id").fetchone()["id"]
            kept = [store(admin, project, f"kept{i}", source.url(p)) for i, p in enumerate(["/img.png", "/img.jpg"])]

        victim = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
        pid = victim.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        # The fast item is uploaded at once; the trickling one (STALL_S long, within the
        # deadline) keeps the call and its transaction open, so the kill lands between upload
        # and commit.
        slow = png()
        source.trickle("/slow.png", slow, STALL_S / len(slow))
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(store_bulk, victim, project, [
                {"scene_id": "lost-fast", "source_url": source.url("/img.gif")},
                {"scene_id": "lost-slow", "source_url": source.url("/slow.png")},
            ])
            wait_until(lambda: any("/lost-fast_" in p for p in root.objects()), HOLD_S, "the fast item's upload")
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(psycopg.OperationalError):
                call.result(timeout=HOLD_S)
        victim.close()
        crash_cluster.wait_for_crash_restart(pid)

        with _connect_when_back(conninfo) as admin:
            rows = admin.execute(
                "SELECT * FROM scene_images WHERE project_id = %s ORDER BY scene_id", (project,)
            ).fetchall()
            assert [r["scene_id"] for r in rows] == ["kept0", "kept1"]
            orphans = [p for p in root.objects() if "/lost-" in p]
            assert len(orphans) == 1
            sweep = "SELECT path FROM sweep_orphaned_scene_objects(older_than => %s, dry_run => %s) AS path"
            assert admin.execute(sweep, ("1 hour", True)).fetchall() == []  # young objects are spared
            assert [r["path"] for r in admin.execute(sweep, ("0 seconds", True))] == orphans
            assert root.objects() == sorted([*orphans, *(r["storage_path"] for r in kept)])
            assert [r["path"] for r in admin.execute(sweep, ("0 seconds", False))] == orphans
            assert root.objects() == sorted(r["storage_path"] for r in kept)
            for row in rows:
                assert_row_matches_object(row, root)
            assert admin.execute(sweep, ("0 seconds", True)).fetchall() == []


# --- concurrent writers, flaky source ------------------------------------------------------------

WRITERS, STORES_PER_WRITER, SCENES, FAILURE_RATE = 8, 100, 10, 0.2


def _flaky_generator(seed: int) -> tuple[Callable[[SourceHandler], None], Counter[str]]:
    """A route answering a fresh PNG, or one time in five a failure: 500, an HTML page with 200,
    or a cut-off PNG. Returns the route and a counter of what it answered."""
    rng, lock, answered = random.Random(seed), threading.Lock(), Counter[str]()

    def route(handler: SourceHandler) -> None:
        with lock:
            roll, kind = rng.random(), rng.choice(["500", "html", "truncated"])
        image = png()
        if roll >= FAILURE_RATE:
            kind = "image"
            handler.send_body(image, "image/png")
        elif kind == "500":
            handler.send_body(b"upstream error", "text/plain", status=500)
        elif kind == "html":
            handler.send_body(HTML_PAGE, "text/html")
        else:
            handler.send_body(image[:-30], "image/png")
        with lock:
            answered[kind] += 1

    return route, answered


def test_concurrent_writers_with_a_flaky_source_keep_storage_rows_and_master_json_consistent(
    conninfo: str, db: DictConnection, project_id: uuid.UUID, storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer,
) -> None:
    route, answered = _flaky_generator(seed=20261125)
    source.routes["/generated.png"] = route
    start = threading.Barrier(WRITERS)

    def writer(number: int) -> Counter[str]:
        rng, outcomes = random.Random(number), Counter[str]()
        with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
            start.wait()
            for i in range(STORES_PER_WRITER):
                scene = f"scene-{rng.randrange(SCENES)}"
                try:
                    store(conn, project_id, scene, source.url(f"/generated.png?w={number}&i={i}"))
                    outcomes["stored"] += 1
                except psycopg.Error as error:
                    outcomes[error.sqlstate or "?"] += 1
        return outcomes

    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = sum((f.result() for f in [pool.submit(writer, n) for n in range(WRITERS)]), Counter[str]())

    assert sum(outcomes.values()) == WRITERS * STORES_PER_WRITER == sum(answered.values())
    assert set(outcomes) <= {"stored", "SIF01", "SII01"}
    assert outcomes["stored"] == answered["image"]
    assert outcomes["SIF01"] == answered["500"] and outcomes["SII01"] == answered["html"] + answered["truncated"]
    # The source's rolls are seeded and drawn one per request whichever writer asks, so the
    # failures are the same 161 of 800 (20.1 %) on every run: this checks the injection, not luck.
    assert 0.1 < 1 - outcomes["stored"] / (WRITERS * STORES_PER_WRITER) < 0.3

    rows = db.execute(
        "SELECT * FROM scene_images WHERE project_id = %s ORDER BY scene_id, version", (project_id,)
    ).fetchall()
    assert len(rows) == outcomes["stored"]
    versions: dict[str, list[int]] = defaultdict(list)
    current: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        assert_row_matches_object(row, storage)
        versions[row["scene_id"]].append(row["version"])
        if row["is_current"]:
            current[row["scene_id"]].append(row)
    assert set(versions) == {f"scene-{n}" for n in range(SCENES)}
    for scene, numbers in versions.items():
        assert numbers == list(range(1, len(numbers) + 1)), f"{scene}: versions not gapless"
        assert [r["version"] for r in current[scene]] == [len(numbers)], f"{scene}: not exactly one current, the newest"
    # Failed calls uploaded nothing: every object belongs to a row.
    assert storage.objects() == sorted(r["storage_path"] for r in rows)
    master = db.execute("SELECT master_json FROM projects WHERE id = %s", (project_id,)).fetchone()["master_json"]
    view = {r["scene_id"]: r["storage_url"] for r in db.execute(
        "SELECT scene_id, storage_url FROM current_scene_images WHERE project_id = %s", (project_id,))}
    assert {scene: entry["scene_start_frame"] for scene, entry in master["scenes"].items()} == view
    assert view == {scene: rows_[0]["storage_url"] for scene, rows_ in current.items()}


# --- cancel and statement_timeout during a slow download -------------------------------------------

SLOW_DOWNLOAD_S = 2 * STALL_S  # what the trickling item would take; the cancel must come long before
STATEMENT_TIMEOUT_S = 5  # long enough for the fast item's upload on a loaded machine


@pytest.mark.parametrize("how", ["statement_timeout", "pg_cancel_backend"])
def test_slow_download_is_cancelled_promptly_and_leaves_nothing(
    conninfo: str, db: DictConnection, project_id: uuid.UUID, storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer, how: str,
) -> None:
    fetch_settings(timeout_s=2 * SLOW_DOWNLOAD_S)  # no fetch deadline comes first: the cancel must
    image = png()
    source.trickle("/trickle-slow.png", image, SLOW_DOWNLOAD_S / len(image))
    peak = 0
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn, ThreadPoolExecutor(1) as pool:
        pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        if how == "statement_timeout":
            conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT_S}s'")
        started = time.monotonic()
        with refused(db, project_id, storage, "57014"):
            call = pool.submit(store_bulk, conn, project_id, [
                {"scene_id": "fast", "source_url": source.url("/img.png")},
                {"scene_id": "slow", "source_url": source.url("/trickle-slow.png")},
            ])
            wait_until(lambda: bool(storage.objects()) or call.done(), HOLD_S, "the fast item's upload")
            peak = len(storage.objects())
            if how == "pg_cancel_backend":
                cancelled_at = time.monotonic()
                assert db.execute("SELECT pg_cancel_backend(%s) AS ok", (pid,)).fetchone()["ok"]
            else:
                cancelled_at = started + STATEMENT_TIMEOUT_S
            call.result(timeout=HOLD_S)
        ended = time.monotonic()
    assert peak == 1  # the fast item was uploaded, and removed when the call was cancelled
    # The deadline under test: the call ends once cancelled, however loaded the machine, not
    # when the download would (SLOW_DOWNLOAD_S).
    assert ended - cancelled_at < DEADLINE_MARGIN_S, f"ended {ended - cancelled_at:.1f} s after the cancel"
    assert sorted(source.paths()) == ["/img.png", "/trickle-slow.png"]
