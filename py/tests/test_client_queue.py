"""The asynchronous path from Python: enqueue, job status and retry, and the safe fallback."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from client_sources import FetchPolicy, ImageSource

from scene_images import (
    JobNotFound,
    JobNotRetryable,
    SceneImageRequest,
    SceneImageStore,
    generate_and_store,
)

pytest_plugins = ["client_fixtures"]


def test_enqueue_returns_a_queued_job_that_the_in_database_worker_stores(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy, db
) -> None:
    job = store.enqueue(project_id, SceneImageRequest("scene_01", image_source.image(), prompt="dawn"))
    assert (job.status, job.attempts, job.scene_id, job.prompt) == ("queued", 0, "scene_01", "dawn")
    assert image_source.requests == []  # enqueueing downloads nothing

    db.execute("SELECT * FROM process_scene_image_jobs(max_jobs => 50)")
    done = store.get_job(job.id)
    assert done.status == "stored"
    assert done.scene_image_id == store.history(project_id, "scene_01")[-1].id


def test_enqueue_bulk_returns_jobs_in_request_order(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    scenes = ["scene_b", "scene_a", "scene_c"]
    jobs = store.enqueue_bulk(project_id, [SceneImageRequest(s, image_source.image()) for s in scenes])
    assert [j.scene_id for j in jobs] == scenes


def test_get_job_raises_job_not_found(store: SceneImageStore) -> None:
    with pytest.raises(JobNotFound):
        store.get_job(uuid.uuid4())


def test_retry_job_raises_job_not_retryable_for_a_queued_job(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource
) -> None:
    job = store.enqueue(project_id, SceneImageRequest("scene_01", image_source.image()))
    with pytest.raises(JobNotRetryable):
        store.retry_job(job.id)


def test_generate_and_store_with_fallback_queues_when_storage_fails_and_never_records_the_temporary_url(
    store: SceneImageStore,
    project_id: uuid.UUID,
    image_source: ImageSource,
    fetch_policy: FetchPolicy,
    storage_dir: str,
    db,
) -> None:
    root = os.path.join(storage_dir, "objects")
    store.configure_storage("file", {"root": root, "public_base_url": "http://127.0.0.1:9/objects"})
    os.chmod(root, 0o000)  # the server (OS user postgres) can no longer write: storage is down
    url = image_source.image()

    outcome = generate_and_store(store, project_id, "scene_01", "dawn", lambda prompt: (url, {}), fallback=True)

    assert (outcome.stored, outcome.url, outcome.image, outcome.sqlstate) == (False, url, None, "SIS01")
    assert outcome.job_id is not None
    assert store.history(project_id, "scene_01") == []
    assert url not in str(store.master_json(project_id))

    os.chmod(root, 0o755)  # storage is back; a worker stores the queued image
    db.execute("SELECT * FROM process_scene_image_jobs(max_jobs => 50)")
    assert store.get_job(outcome.job_id).status == "stored"
    [image] = store.history(project_id, "scene_01")
    assert store.master_json(project_id)["scenes"]["scene_01"]["scene_start_frame"] == image.storage_url
    assert os.path.exists(os.path.join(root, image.storage_path))


def test_generate_and_store_with_fallback_stores_at_once_when_storage_works(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    url = image_source.image()
    outcome = generate_and_store(store, project_id, "scene_01", "dawn", lambda prompt: (url, {}), fallback=True)
    assert outcome.stored and outcome.job_id is None
    assert outcome.image is not None and outcome.url == outcome.image.storage_url != url


def test_sweep_orphans_lists_nothing_younger_than_the_threshold(store: SceneImageStore) -> None:
    assert store.sweep_orphans(timedelta(days=3650)) == []
