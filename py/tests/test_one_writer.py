"""One writer for every row we record (issue 12). A signed generator URL carrying secrets goes in
through each way an image becomes a row: store_scene_image, store_scene_images, enqueue + the
external worker, enqueue + process_scene_image_jobs. Each row records the same redacted URL, and
no secret is left in a row, a job or an error. The rule itself lives in SQL
(scene_images_internal.redact_url); the core's redact_url, which messages made outside the
database use, is pinned to it here."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from client_sources import DictConnection
from job_workers import ROOT, enqueue
from store_fixtures import Cdn, FileStorage, call_store_scene_image, call_store_scene_images

from scene_images.worker import Worker
from scene_images_core.redact import SECRET_PARAM, redact_url

pytest_plugins = ["store_fixtures", "job_workers"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy", "empty_job_queue")

SECRETS = ("deadbeef0123", "s3cr3tT0ken")
SIGNED = "{}?X-Amz-Signature=deadbeef0123&token=s3cr3tT0ken&width=64"


def _everything_of(db: DictConnection, project_id: uuid.UUID) -> str:
    rows = db.execute("SELECT to_jsonb(si)::text AS t FROM scene_images AS si WHERE project_id = %s", (project_id,))
    jobs = db.execute("SELECT to_jsonb(j)::text AS t FROM scene_images_internal.scene_image_jobs AS j"
                      " WHERE project_id = %s", (project_id,))
    return " ".join(r["t"] for r in [*rows.fetchall(), *jobs.fetchall()])


def test_a_signed_url_is_recorded_redacted_the_same_way_on_every_path(
    db: DictConnection, conninfo: str, project_id: uuid.UUID, cdn: Cdn, disk: FileStorage,
) -> None:
    url = {scene: SIGNED.format(cdn.url(path)) for scene, path in
           (("direct", "/img.png"), ("bulk", "/img.jpg"), ("worker", "/img.gif"), ("in_database", "/img.webp"))}
    call_store_scene_image(db, project_id, "direct", url["direct"])
    call_store_scene_images(db, project_id, [{"scene_id": "bulk", "source_url": url["bulk"]}])
    [by_worker] = enqueue(db, project_id, [{"scene_id": "worker", "source_url": url["worker"]}])
    assert Worker(conninfo, concurrency=1, drain=True).run().counts["stored"] == 1
    [in_database] = enqueue(db, project_id, [{"scene_id": "in_database", "source_url": url["in_database"]}])
    db.execute("SET ROLE scene_images_worker")
    try:
        ran = db.execute("SELECT id, status FROM process_scene_image_jobs(10)").fetchall()
    finally:
        db.execute("RESET ROLE")
    assert ran == [{"id": in_database["id"], "status": "stored"}]

    recorded = {r["scene_id"]: r["original_fal_url"] for r in db.execute(
        "SELECT scene_id, original_fal_url FROM scene_images WHERE project_id = %s", (project_id,)).fetchall()}
    assert recorded == {scene: re.sub(r"X-Amz-Signature=\w+&token=\w+", "X-Amz-Signature=REDACTED&token=REDACTED", u)
                        for scene, u in url.items()}
    everything = _everything_of(db, project_id)
    assert [secret for secret in SECRETS if secret in everything] == []
    jobs = db.execute("SELECT id, secrets_discarded_at FROM scene_images_internal.scene_image_jobs WHERE id = ANY(%s)",
                      ([by_worker["id"], in_database["id"]],)).fetchall()
    assert all(job["secrets_discarded_at"] is not None for job in jobs)


def test_a_job_failed_for_good_keeps_its_secrets_a_day_then_cannot_be_retried(
    db: DictConnection, project_id: uuid.UUID,
) -> None:
    [job] = enqueue(db, project_id, [{"scene_id": "s1", "source_url": SIGNED.format("http://127.0.0.1:9/x.png")}])
    db.execute("UPDATE scene_images_internal.scene_image_jobs SET status = 'failed', updated_at = now() - %s::interval"
               " WHERE id = %s", ("23 hours", job["id"]))
    db.execute("SELECT count(*) FROM claim_scene_image_jobs('purger', 1)")
    assert all(secret in _everything_of(db, project_id) for secret in SECRETS), "discarded while still retryable"
    db.execute("UPDATE scene_images_internal.scene_image_jobs SET updated_at = now() - %s::interval WHERE id = %s",
               ("25 hours", job["id"]))
    db.execute("SELECT count(*) FROM claim_scene_image_jobs('purger', 1)")
    assert [secret for secret in SECRETS if secret in _everything_of(db, project_id)] == []
    with pytest.raises(Exception, match="secrets were discarded") as refused:
        db.execute("SELECT * FROM retry_scene_image_job(%s)", (job["id"],))
    assert getattr(refused.value, "sqlstate", None) == "SIJ02"


@pytest.mark.parametrize("url", [
    "https://v3.fal.media/files/a/b.png",
    "https://user:pass@v3.fal.media/files/a/b.png?X-Amz-Signature=abc&X-Amz-Credential=k%2F1&size=2#frag",
    "HTTPS://cdn.example.com/x.jpg?token=&sig=1&Key=2&a==b&&c",
    "http://127.0.0.1:8080/p?apiKey=xyz&authorization=Bearer%20t&password=p&q=1",
    "https://a.example/" + "x" * 400 + "?secret=1",
    "https://a.example/path?plain=1&other=two",
])
def test_the_cores_redact_url_answers_what_the_databases_rule_answers(db: DictConnection, url: str) -> None:
    recorded = db.execute("SELECT scene_images_internal.redact_url(%s) AS u", (url,)).fetchone()["u"]
    assert redact_url(url) == recorded


def test_the_cores_secret_parameter_pattern_is_the_databases(db: DictConnection) -> None:
    pattern = db.execute("SELECT scene_images_internal.secret_query_parameter_pattern() AS p").fetchone()["p"]
    assert SECRET_PARAM.pattern == pattern


def test_no_code_of_ours_inserts_scene_images_but_the_one_writer() -> None:
    writers = []
    for path in [*Path(ROOT, "db/deploy").glob("*.sql"), *Path(ROOT, "py").glob("scene_images*/**/*.py")]:
        text = path.read_text()
        if re.search(r"INSERT\s+INTO\s+public\.scene_images\b", text, re.IGNORECASE):
            writers.append(path.name)
    assert writers == ["function_record_scene_images.sql"]
