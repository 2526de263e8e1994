"""The asynchronous path end to end: real `scene-images worker` processes against the test
database, a loopback image source and the file backend (a storage root of the test's own);
process_scene_image_jobs inside the database; and store_scene_image's fallback while S3 (moto)
is down. Every URL here is on 127.0.0.1."""

from __future__ import annotations

import hashlib
import signal
import uuid
from collections import Counter
from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs shipped
import psycopg
import pytest
from client_sources import DictConnection, ImageSource, png
from job_workers import (
    HANG_S,
    WorkerProcess,
    Workers,
    assert_master_json_follows_current_rows,
    assert_versions_gapless_with_one_current,
    enqueue,
    job_status,
    job_status_is,
    jobs_of,
    master_json,
    new_project,
    scalar,
    set_queue_policy,
    wait_until,
)
from launchers import moto_server
from psycopg.rows import dict_row
from sources import HTML_PAGE, SourceHandler
from store_fixtures import FileStorage, configure_storage, scene_rows, serve_after

pytest_plugins = ["store_fixtures", "job_workers"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy", "empty_job_queue")



# --- many workers, one of them killed ---------------------------------------------------------

SCENES = 50
JOBS_PER_SCENE = 20  # 1,000 jobs
DISTINCT_IMAGES = 300
# A live worker's job (about 50 ms) never outlasts its lease, even on a loaded machine; the killed
# worker's jobs come back after it.
LEASE_S = 10
KILL_AFTER_STORED = 300


def test_workers_store_a_thousand_jobs_once_each_when_one_worker_is_killed(
    db: DictConnection, project_id: uuid.UUID, image_source: ImageSource, disk: FileStorage, worker_processes: Workers
) -> None:
    set_queue_policy(db, retry_base_s=0.05, retry_max_s=0.5)
    images = [png(16, 16) for _ in range(DISTINCT_IMAGES)]
    for i, data in enumerate(images):
        serve_after(image_source, f"/many/{i}.png", 0.02, data, "image/png")  # a CDN's time to first byte
    sha_of_url = {image_source.url(f"/many/{i}.png"): hashlib.sha256(data).hexdigest() for i, data in enumerate(images)}
    # One call per round, one job per scene each (a call takes a scene once); within a scene all
    # 20 images differ, so every job must make a row of its own.
    for k in range(JOBS_PER_SCENE):
        enqueue(db, project_id, [
            {"scene_id": f"scene_{s:02d}", "source_url": image_source.url(f"/many/{(s * 7 + k) % DISTINCT_IMAGES}.png")}
            for s in range(SCENES)
        ])

    victim_app = f"victim-{uuid.uuid4().hex[:8]}"  # names the victim's sessions in pg_stat_activity
    fleet = [
        worker_processes.start(f"w{i}", "--drain", "--concurrency", "4", "--lease", str(LEASE_S),
                               env={"PGAPPNAME": victim_app} if i == 0 else None)
        for i in range(4)
    ]
    victim, survivors = fleet[0], fleet[1:]
    wait_until(lambda: scalar(
        db, "SELECT count(*) >= %s FROM scene_images WHERE project_id = %s", (KILL_AFTER_STORED, project_id)
    ), HANG_S, f"{KILL_AFTER_STORED} stored jobs")
    # Killed only while it holds jobs, so the lease path is always exercised.
    held = wait_until(lambda: freeze_holding_jobs(db, victim, victim_app), HANG_S, "the victim to hold a job")
    victim.signal(signal.SIGKILL)
    assert victim.wait(HANG_S) == -signal.SIGKILL
    for worker in survivors:
        assert worker.wait(HANG_S) == 0, worker.log()[-3000:]

    jobs = jobs_of(db, project_id)
    assert len(jobs) == SCENES * JOBS_PER_SCENE
    not_stored = [(j["scene_id"], j["status"], j["last_error_sqlstate"], j["last_error"])
                  for j in jobs if j["status"] != "stored"]
    assert not_stored == []
    # The killed worker's jobs waited out their lease and were run again by another worker.
    recovered = [j for j in jobs if j["id"] in held and j["locked_by"] != victim.name]
    assert {j["id"] for j in recovered} == held
    assert all(j["attempts"] == 2 for j in recovered)

    rows = db.execute(
        "SELECT id, scene_id, version, is_current, storage_path, storage_url, sha256 FROM scene_images WHERE project_id = %s",
        (project_id,),
    ).fetchall()
    row_by_id = {row["id"]: row for row in rows}
    assert len(rows) == len(jobs)
    assert sorted(j["scene_image_id"] for j in jobs) == sorted(row_by_id)  # one row per job, none shared
    assert len({row["storage_path"] for row in rows}) == len(rows)
    for job in jobs:
        row = row_by_id[job["scene_image_id"]]
        assert (row["scene_id"], row["sha256"]) == (job["scene_id"], sha_of_url[job["source_url"]])
    assert_versions_gapless_with_one_current(rows)
    assert {row["scene_id"] for row in rows if row["version"] == JOBS_PER_SCENE} == {f"scene_{s:02d}" for s in range(SCENES)}
    for row in rows:
        assert hashlib.sha256(disk.read(row["storage_path"])).hexdigest() == row["sha256"]
    assert_master_json_follows_current_rows(db, project_id, rows)
    for worker in survivors:
        assert " done: stored " in worker.log()


def freeze_holding_jobs(db: DictConnection, worker: WorkerProcess, app: str) -> set[uuid.UUID] | None:
    """SIGSTOP `worker` and, once none of its sessions is in the middle of a statement (nothing
    it started can still change a job), the ids of the running jobs it holds; if it holds none,
    SIGCONT and None, for wait_until to try again."""
    worker.signal(signal.SIGSTOP)
    wait_until(lambda: scalar(
        db, "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = %s AND state <> 'idle'", (app,)
    ), HANG_S, "the stopped worker's statements to end")
    held = {row["id"] for row in db.execute(
        "SELECT id FROM scene_images_internal.scene_image_jobs WHERE status = 'running' AND locked_by = %s",
        (worker.name,),
    )}
    if held:
        return held
    worker.signal(signal.SIGCONT)
    return None


# --- retries --------------------------------------------------------------------------------


def test_worker_retries_a_source_that_fails_twice_and_stores_on_the_third_attempt(
    db: DictConnection, project_id: uuid.UUID, image_source: ImageSource, disk: FileStorage, worker_processes: Workers
) -> None:
    set_queue_policy(db, retry_base_s=0.05, retry_max_s=0.1)
    image = png()
    answers = iter([503, 503])

    def flaky(handler: SourceHandler) -> None:
        status = next(answers, 200)
        if status == 200:
            handler.send_body(image, "image/png")
        else:
            handler.send_body(b"busy", "text/plain", status=status)

    image_source.routes["/flaky.png"] = flaky
    enqueue(db, project_id, [{"scene_id": "scene_01", "source_url": image_source.url("/flaky.png")}])

    worker = worker_processes.start("retrier", "--drain", "--concurrency", "1")
    assert worker.wait(HANG_S) == 0

    [job] = jobs_of(db, project_id)
    assert (job["status"], job["attempts"]) == ("stored", 3)
    assert image_source.paths().count("/flaky.png") == 3
    [row] = scene_rows(db, project_id)
    assert row["id"] == job["scene_image_id"]
    assert disk.read(row["storage_path"]) == image
    assert worker.log().count("will retry job") == 2


def test_worker_fails_an_html_page_after_one_attempt(
    db: DictConnection, project_id: uuid.UUID, image_source: ImageSource, disk: FileStorage, worker_processes: Workers
) -> None:
    set_queue_policy(db, retry_base_s=0.05, retry_max_s=0.1)
    image_source.body("/page.html", HTML_PAGE, "text/html; charset=utf-8")
    url = image_source.url("/page.html")
    enqueue(db, project_id, [{"scene_id": "scene_01", "source_url": url}])

    worker = worker_processes.start("refuser", "--drain", "--concurrency", "1")
    assert worker.wait(HANG_S) == 0

    [job] = jobs_of(db, project_id)
    assert (job["status"], job["attempts"], job["last_error_sqlstate"]) == ("failed", 1, "SII01")
    assert url in job["last_error"]
    assert image_source.paths().count("/page.html") == 1
    assert scene_rows(db, project_id) == []
    assert disk.files(project_id) == []


# --- LISTEN/NOTIFY and SIGTERM -----------------------------------------------------------------


# Without a notification an idle slot would look at the queue again only after this long: far
# beyond HANG_S, so a job stored within HANG_S was found through LISTEN/NOTIFY, not by polling.
NO_POLLING_S = 3600


def test_idle_worker_picks_up_a_new_job_at_once_through_notify(
    db: DictConnection, project_id: uuid.UUID, image_source: ImageSource, disk: FileStorage, worker_processes: Workers
) -> None:
    app = f"listen-test-{uuid.uuid4().hex[:8]}"  # names the worker's sessions in pg_stat_activity
    worker = worker_processes.start("listener", "--concurrency", "1", "--idle-wait", str(NO_POLLING_S),
                                    env={"PGAPPNAME": app})
    wait_until(lambda: db.execute(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND query = 'LISTEN scene_image_jobs'"
        " AND state = 'idle'", (app,)
    ).fetchone(), HANG_S, "the worker to LISTEN")

    for i in range(4):
        wait_until(lambda: slot_is_idle(db, app), HANG_S, "the worker's slot to go idle")
        [job] = enqueue(db, project_id, [{"scene_id": f"scene_{i}", "source_url": image_source.image()}])
        wait_until(job_status_is(db, job["id"], "stored"), HANG_S, "the job to be stored")

    assert len(scene_rows(db, project_id)) == 4
    worker.signal(signal.SIGTERM)
    assert worker.wait(HANG_S) == 0


def slot_is_idle(db: DictConnection, app: str) -> bool:
    """True while a `--concurrency 1` worker waits for work: its slot's last statement is the
    queue count it runs before it sleeps, as the main session's is (LISTEN's session aside)."""
    return bool(scalar(
        db, "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = %s AND state = 'idle'"
            " AND query LIKE '%%get_scene_image_queue_counts%%'", (app,),
    ))


SIGTERM_LOGGED = "SIGTERM, finishing in-flight jobs"


def test_sigterm_lets_the_job_in_flight_finish_claims_no_more_and_exits_0(
    db: DictConnection, project_id: uuid.UUID, image_source: ImageSource, disk: FileStorage, worker_processes: Workers
) -> None:
    slow_image = png()
    started: list[WorkerProcess] = []
    # The slow image is answered only once the worker has logged the SIGTERM: the job is in flight
    # when the signal arrives, however slow the machine.
    after_sigterm = image_source.held("/slow.png", slow_image, "image/png",
                                      until=lambda: bool(started) and SIGTERM_LOGGED in started[0].log())
    # Two calls, so the slow job is due first (claims go by available_at).
    [slow] = enqueue(db, project_id, [{"scene_id": "scene_01", "source_url": image_source.url("/slow.png")}])
    [waiting] = enqueue(db, project_id, [{"scene_id": "scene_02", "source_url": image_source.image()}])

    worker = worker_processes.start("graceful", "--concurrency", "1")
    started.append(worker)
    wait_until(lambda: "/slow.png" in image_source.paths(), HANG_S, "the slow download to start")
    worker.signal(signal.SIGTERM)
    assert worker.wait(HANG_S) == 0

    assert not after_sigterm.timed_out  # it stayed for the download, answered after the signal
    assert job_status(db, slow["id"]) == "stored"
    [row] = scene_rows(db, project_id)
    assert disk.read(row["storage_path"]) == slow_image
    after = {job["scene_id"]: job for job in jobs_of(db, project_id)}
    assert (after["scene_02"]["status"], after["scene_02"]["attempts"]) == ("queued", 0)
    assert waiting["id"] == after["scene_02"]["id"]


def test_claim_skips_a_job_another_transaction_holds_without_waiting(
    db: DictConnection, conninfo: str, project_id: uuid.UUID
) -> None:
    [first] = enqueue(db, project_id, [{"scene_id": "scene_01", "source_url": "http://127.0.0.1:9/1.png"}])
    [second] = enqueue(db, project_id, [{"scene_id": "scene_02", "source_url": "http://127.0.0.1:9/2.png"}])
    claim = "SELECT * FROM claim_scene_image_jobs(worker => %s, max_jobs => 10)"
    with psycopg.connect(conninfo, row_factory=dict_row) as holder:  # a transaction left open: its claim stays locked
        holder.execute("SELECT * FROM claim_scene_image_jobs(worker => 'holder', max_jobs => 1)")
        # Without SKIP LOCKED this claim would wait for the holder and hit the lock timeout.
        with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row, options="-c lock_timeout=500") as other:
            taken = other.execute(claim, ("other",)).fetchall()
        holder.rollback()
    assert [job["id"] for job in taken] == [second["id"]]
    assert job_status(db, first["id"]) == "queued"  # the holder's claim was rolled back


# --- the in-database worker ----------------------------------------------------------------


def test_process_scene_image_jobs_stores_queued_jobs_as_the_external_worker_does(
    db: DictConnection, image_source: ImageSource, disk: FileStorage, worker_processes: Workers
) -> None:
    image_source.body("/page.html", HTML_PAGE, "text/html; charset=utf-8")
    urls = [image_source.image(8 + i, 8) for i in range(9)]
    rounds = [[{"scene_id": f"scene_{s}", "source_url": urls[s * 3 + k]} for s in range(3)] for k in range(3)]
    rounds.append([{"scene_id": "scene_html", "source_url": image_source.url("/page.html")}])
    in_database, external = new_project(db, "in the database"), new_project(db, "external worker")

    for requests in rounds:
        enqueue(db, in_database, requests)
    processed = db.execute("SELECT * FROM process_scene_image_jobs(max_jobs => 50)").fetchall()
    assert Counter(job["status"] for job in processed) == {"stored": 9, "failed": 1}
    for requests in rounds:
        enqueue(db, external, requests)
    assert worker_processes.start("external", "--drain").wait(HANG_S) == 0

    def outcome(project_id: uuid.UUID) -> list[tuple[Any, ...]]:
        rows = {row["id"]: row for row in scene_rows(db, project_id)}
        assert_versions_gapless_with_one_current(list(rows.values()))
        assert_master_json_follows_current_rows(db, project_id, list(rows.values()))
        for row in rows.values():
            assert hashlib.sha256(disk.read(row["storage_path"])).hexdigest() == row["sha256"]
        facts = []
        for job in jobs_of(db, project_id):
            row = rows.get(job["scene_image_id"], {})
            facts.append((job["scene_id"], job["source_url"], job["status"], job["attempts"], job["last_error_sqlstate"],
                          row.get("sha256"), row.get("content_type"), row.get("width"), row.get("height")))
        return sorted(facts, key=repr)

    in_database_outcome = outcome(in_database)
    assert in_database_outcome == outcome(external)
    assert Counter(fact[2] for fact in in_database_outcome) == {"stored": 9, "failed": 1}


# --- the fallback ----------------------------------------------------------------------------


def test_fallback_answers_with_the_generator_url_while_storage_is_down_and_a_worker_stores_it_later(
    db: DictConnection, project_id: uuid.UUID, image_source: ImageSource, worker_processes: Workers
) -> None:
    image = png()
    image_source.body("/generated.png", image, "image/png")
    generator_url = image_source.url("/generated.png")
    bucket = f"scene-images-{uuid.uuid4().hex[:12]}"

    with moto_server() as moto:
        configure_storage(db, "s3", moto.s3_settings(bucket))
        moto.stop()  # storage is down
        outcome = db.execute(
            "SELECT stored, url, image, job_id, sqlstate FROM store_scene_image(project_id => %s, scene_id => 'scene_01',"
            " source_url => %s, prompt => 'dawn', provider => 'fal_ai_flux', metadata => '{}', fallback => true)",
            (project_id, generator_url),
        ).fetchone()
    assert outcome is not None
    assert (outcome["stored"], outcome["url"], outcome["image"], outcome["sqlstate"]) == (False, generator_url, None, "SIS01")
    assert job_status(db, outcome["job_id"]) == "queued"
    # The temporary URL is the caller's to use meanwhile; nothing records it.
    assert scalar(db, "SELECT count(*) FROM scene_images WHERE project_id = %s OR storage_url = %s",
                  (project_id, generator_url)) == 0
    assert generator_url not in str(master_json(db, project_id))

    with moto_server() as moto:  # storage is back (a new server; configuring creates the bucket)
        settings = moto.s3_settings(bucket)
        configure_storage(db, "s3", settings)
        assert worker_processes.start("after-outage", "--drain").wait(HANG_S) == 0
        s3 = boto3.client("s3", endpoint_url=settings["endpoint_url"], region_name=settings["region"],
                          aws_access_key_id=settings["access_key_id"], aws_secret_access_key=settings["secret_access_key"])
        [row] = scene_rows(db, project_id)
        assert s3.get_object(Bucket=bucket, Key=row["storage_path"])["Body"].read() == image

    assert job_status(db, outcome["job_id"]) == "stored"
    assert row["storage_url"] != generator_url
    assert master_json(db, project_id)["scenes"]["scene_01"]["scene_start_frame"] == row["storage_url"]
