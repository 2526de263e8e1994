"""The limits of configure_scene_image_limits, end to end through the SQL API: oversized prompts
and metadata refused (54000) before the source is contacted, by every entry point; the
pending-jobs cap, also under concurrent enqueues of one project and without blocking another
tenant; the bulk whole-call deadline (57014, nothing left behind); and the image bytes one bulk
call holds at once, counted at the source. Every setting changed here comes back after the test
(client_fixtures' restore_settings); nothing here depends on timing.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from psycopg.types.json import Jsonb
from security_fixtures import (
    DictConnection,
    FetchSettings,
    RawJson,
    StorageRoot,
    enqueue,
    primary,
    refused,
    store_bulk,
)
from security_fixtures import store as store_one
from sources import ImageSourceServer, SourceHandler

from scene_images import LimitExceeded, SceneImageRequest, SceneImageStore

pytest_plugins = ["client_fixtures", "security_fixtures"]

MIB = 1024 * 1024
ENQUEUE_MANY = "SELECT * FROM enqueue_scene_images(project_id => %s, requests => %s)"


@pytest.fixture
def limits(db: DictConnection, restore_settings: None) -> Callable[..., dict[str, Any]]:
    """`limits(**settings)`: configure_scene_image_limits as the owner; restored after the test."""

    def apply(**settings: Any) -> dict[str, Any]:
        row = db.execute("SELECT configure_scene_image_limits(%s) AS limits", (Jsonb(settings),)).fetchone()
        assert row is not None
        effective: dict[str, Any] = row["limits"]
        return effective

    return apply


def nested(levels: int) -> str:
    """JSON text of an object `levels` deep: {"a": {"a": ... 1}} (built as text: Python's json
    module would recurse)."""
    return '{"a": ' * levels + "1" + "}" * levels


# (id, prompt, metadata as JSON text, the limit the message names)
OVERSIZED: list[tuple[str, str | None, str, str]] = [
    ("prompt-1-mib", "p" * MIB, "{}", "prompt_max_bytes allows 65536"),
    ("metadata-1-mib", None, '{"note": "' + "m" * MIB + '"}', "metadata_max_bytes allows 262144"),
    ("metadata-100-deep", None, nested(100), "metadata_max_depth allows 32"),
    ("metadata-1000-deep", None, nested(1000), "metadata_max_depth allows 32"),
]


def _bulk_item(source_url: str, prompt: str | None, metadata: str) -> RawJson:
    prompt_json = "null" if prompt is None else f'"{prompt}"'
    return RawJson(f'[{{"scene_id": "s1", "source_url": "{source_url}", "prompt": {prompt_json}, "metadata": {metadata}}}]')


ENTRY_POINTS: dict[str, Callable[[DictConnection, Any, str, str | None, str], object]] = {
    "store_scene_image": lambda db, project, url, prompt, metadata: store_one(
        db, project, "s1", url, prompt=prompt, metadata=RawJson(metadata)),
    "store_scene_images": lambda db, project, url, prompt, metadata: store_bulk(
        db, project, _bulk_item(url, prompt, metadata)),
    "enqueue_scene_image": lambda db, project, url, prompt, metadata: enqueue(
        db, project, "s1", url, prompt=prompt, metadata=RawJson(metadata)),
}


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(("prompt", "metadata", "named"), [case[1:] for case in OVERSIZED],
                         ids=[case[0] for case in OVERSIZED])
def test_every_entry_point_refuses_oversized_prompts_and_metadata_before_the_source_is_contacted(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, entry_point: str, prompt: str | None, metadata: str, named: str,
) -> None:
    began = time.monotonic()
    with refused(db, project_id, storage, "54000") as caught:
        ENTRY_POINTS[entry_point](db, project_id, source.url("/img.png"), prompt, metadata)
    assert named in primary(caught.value)
    assert "RecursionError" not in str(caught.value)
    assert source.requests == []  # the source was allowed and reachable, and never asked
    assert time.monotonic() - began < 30  # generous: a hang would show here, not a slow machine


def test_the_limits_are_the_owners_to_set_and_the_client_raises_limit_exceeded(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, limits: Callable[..., dict[str, Any]], store: SceneImageStore,
) -> None:
    assert store.configure_limits({"prompt_max_bytes": 8})["prompt_max_bytes"] == 8
    with pytest.raises(LimitExceeded) as caught:
        store.download_and_store(project_id, SceneImageRequest("s1", source.url("/img.png"), prompt="nine byte"))
    assert caught.value.sqlstate == "54000"
    assert "prompt_max_bytes allows 8" in caught.value.message
    row = store.download_and_store(project_id, SceneImageRequest("s1", source.url("/img.png"), prompt="8 bytes!"))
    assert row.generation_prompt == "8 bytes!"  # at the limit: stored


# --- pending jobs per project ----------------------------------------------------------------


def _requests(source: ImageSourceServer, *scene_ids: str) -> Jsonb:
    return Jsonb([{"scene_id": s, "source_url": source.url("/img.png")} for s in scene_ids])


def _pending(db: DictConnection, project_id: uuid.UUID) -> int:
    row = db.execute(
        "SELECT count(*) AS n FROM scene_images_internal.scene_image_jobs WHERE project_id = %s"
        " AND status IN ('queued', 'running')", (project_id,)).fetchone()
    assert row is not None
    return int(row["n"])


def test_pending_jobs_per_project_refuses_the_enqueue_that_would_pass_it(
    db: DictConnection, project_id: uuid.UUID, source: ImageSourceServer, fetch_settings: FetchSettings,
    limits: Callable[..., dict[str, Any]], store: SceneImageStore,
) -> None:
    limits(pending_jobs_per_project=3)
    assert len(db.execute(ENQUEUE_MANY, (project_id, _requests(source, "a", "b"))).fetchall()) == 2
    with refused(db, project_id, None, "54000") as caught:
        db.execute(ENQUEUE_MANY, (project_id, _requests(source, "c", "d")))
    assert "pending_jobs_per_project, which allows 3" in primary(caught.value)
    assert len(db.execute(ENQUEUE_MANY, (project_id, _requests(source, "c"))).fetchall()) == 1
    with pytest.raises(LimitExceeded):
        store.enqueue(project_id, SceneImageRequest("e", source.url("/img.png")))
    assert _pending(db, project_id) == 3
    assert source.requests == []


def _wait_until_waiting_for_a_lock(db: DictConnection, pid: int) -> None:
    """Until backend `pid` waits for a lock (bounded only so a broken test cannot hang)."""
    for _ in range(3000):
        row = db.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row is not None and row["wait_event_type"] == "Lock":
            return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


@pytest.fixture
def other_project(db: DictConnection) -> Iterator[uuid.UUID]:
    row = db.execute("INSERT INTO projects (name) VALUES ('another tenant') RETURNING id").fetchone()
    assert row is not None
    yield row["id"]
    db.execute("DELETE FROM projects WHERE id = %s", (row["id"],))


def test_concurrent_enqueues_of_one_project_count_in_turn_and_other_projects_do_not_wait(
    db: DictConnection, conninfo: str, project_id: uuid.UUID, other_project: uuid.UUID,
    source: ImageSourceServer, limits: Callable[..., dict[str, Any]],
) -> None:
    limits(pending_jobs_per_project=3)
    outcome: dict[str, Any] = {}
    with psycopg.connect(conninfo) as first, psycopg.connect(conninfo, autocommit=True) as second, \
            psycopg.connect(conninfo, autocommit=True) as bystander:
        first.execute(ENQUEUE_MANY, (project_id, _requests(source, "a", "b")))  # not committed yet

        def enqueue_two_more() -> None:
            try:
                second.execute(ENQUEUE_MANY, (project_id, _requests(source, "c", "d")))
                outcome["result"] = "queued"
            except psycopg.Error as error:
                outcome["result"] = error

        thread = threading.Thread(target=enqueue_two_more)
        thread.start()
        _wait_until_waiting_for_a_lock(db, second.info.backend_pid)
        # Another project's enqueue does not wait behind the open transaction (it would hang
        # here, up to the statement_timeout, if it did).
        bystander.execute("SET statement_timeout = '20s'")
        assert len(bystander.execute(ENQUEUE_MANY, (other_project, _requests(source, "x", "y"))).fetchall()) == 2
        first.commit()
        thread.join(30)
    error = outcome["result"]
    # Counted after the first commit: 2 + 2 > 3. Counted concurrently, both would have passed.
    assert isinstance(error, psycopg.Error) and error.sqlstate == "54000", error
    assert _pending(db, project_id) == 2


# --- the bulk deadline -------------------------------------------------------------------------


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set after the test: stalled routes return then (and at the latest when the source stops)."""
    event = threading.Event()
    yield event
    event.set()


def test_a_bulk_call_past_bulk_deadline_s_ends_with_57014_and_leaves_nothing(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, limits: Callable[..., dict[str, Any]], released: threading.Event,
) -> None:
    fetch_settings(timeout_s=600)  # only the bulk deadline can end the stalled download

    def stall(handler: SourceHandler) -> None:
        released.wait(600)
        handler.close_connection = True

    source.routes["/stall.png"] = stall
    limits(bulk_deadline_s=1)
    items = [{"scene_id": f"ok{i}", "source_url": source.url(f"/img.{ext}")} for i, ext in enumerate(("png", "jpg", "gif"))]
    items.append({"scene_id": "stalled", "source_url": source.url("/stall.png")})

    with refused(db, project_id, storage, "57014") as caught:
        store_bulk(db, project_id, items)
    assert "bulk_deadline_s (1 s)" in primary(caught.value)
    assert isinstance(caught.value, psycopg.errors.QueryCanceled)  # what statement_timeout raises too
    assert "/stall.png" in source.paths()
    assert storage.objects() == []


# --- bytes held by one bulk call ---------------------------------------------------------------

BODY_BYTES = 2 * MIB + 4096
# A source that cannot push this much of a body into a client that is not reading: its own send
# buffer is pinned small and a client's receive buffer only grows while it reads (it holds
# about 200 KiB on loopback here). Past this mark the client is reading the body.
READING_MARK = MIB


def png_of(size: int) -> bytes:
    """A real PNG of noise, stored uncompressed: about `size` bytes, a sha256 of its own."""
    from PIL import Image

    side = int((size / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


class ReadingCounter:
    """Counts the responses whose body a client is reading at once (past READING_MARK, not
    finished), and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.finished = 0

    def route(self, data: bytes, stopping: threading.Event) -> Callable[[SourceHandler], None]:
        def serve(handler: SourceHandler) -> None:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[:READING_MARK])
            handler.wfile.flush()
            with self._lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            # Linger mid-body, so readers that could overlap do (this only makes a broken cap
            # visible; the assertion counts, it never measures time).
            stopping.wait(0.2)
            handler.wfile.write(data[READING_MARK:])
            handler.wfile.flush()
            with self._lock:
                self.active -= 1
                self.finished += 1

        return serve


@pytest.mark.parametrize(("cap", "at_once"), [(5 * MIB, 2), (MIB, 1)], ids=["two-fit", "one-over-the-cap-alone"])
def test_a_bulk_call_holds_no_more_image_bytes_than_bulk_max_bytes_held(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, limits: Callable[..., dict[str, Any]], cap: int, at_once: int,
) -> None:
    fetch_settings(max_bytes=8 * MIB, timeout_s=120)
    limits(bulk_max_bytes_held=cap)
    counter = ReadingCounter()
    items = []
    for i in range(8):
        data = png_of(BODY_BYTES)
        assert READING_MARK < len(data) <= cap / at_once or at_once == 1
        source.routes[f"/held/{i}.png"] = counter.route(data, source.stopping)
        items.append({"scene_id": f"held{i}", "source_url": source.url(f"/held/{i}.png")})

    rows = store_bulk(db, project_id, items)

    assert [r["scene_id"] for r in rows] == [item["scene_id"] for item in items]
    assert counter.finished == 8
    # Without the cap all eight bodies are read at once (32 workers); with it, as many as fit
    # (an image larger than the cap proceeds alone).
    assert 1 <= counter.peak <= at_once, f"{counter.peak} bodies were read at once"
    assert len(storage.objects()) == 8
