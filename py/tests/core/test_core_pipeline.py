"""prepare/store/ingest, run_concurrently and store_many: concurrency, all-or-nothing, cancel."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from images import make_image
from sources import DEADLINE_MARGIN_S, HOLD_S, ImageSourceServer

from scene_images_core.backends import Backend
from scene_images_core.errors import IngestCancelled, ItemFailed, QueryCanceled, SourceHttpError, SourceNotAnImage
from scene_images_core.pipeline import (
    ByteBudget,
    Deadline,
    StoredObject,
    Unchanged,
    ingest,
    prepare,
    run_concurrently,
    store,
    store_many,
)
from scene_images_core.policy import FetchPolicy

PROJECT = "0b6f2d6e-3c1e-4d0a-9d7e-2f1c3b4a5d6e"


class Recording:
    """A backend wrapper that counts puts, to prove objects existed before the cleanup."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.puts: list[str] = []

    def put(self, path: str, data: bytes, content_type: str) -> str:
        url = self.inner.put(path, data, content_type)
        self.puts.append(path)
        return url

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scene-images")]


# --- one image -------------------------------------------------------------------------------


def test_prepare_records_redacted_source_facts(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    source.redirect("/signed", "/redirect/1?sig=abc")
    prepared = prepare(source.url("/signed?token=t"), loopback_policy)
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    assert (prepared.info.content_type, prepared.info.width, prepared.info.height) == (
        "image/png",
        64,
        48,
    )
    assert prepared.source == {
        "final_url": source.url("/img.png"),
        "status": 200,
        "content_type": "image/png",
        "content_length": len(prepared.data),
        "redirects": [source.url("/redirect/1?sig=REDACTED"), source.url("/img.png")],
    }


def test_store_writes_a_versioned_path(
    source: ImageSourceServer, loopback_policy: FetchPolicy, file_backend: Backend
) -> None:
    prepared = prepare(source.url("/img.webp"), loopback_policy)
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    stored = store(prepared, file_backend, PROJECT, "scene-1", now=now)
    expected = f"projects/{PROJECT}/scenes/scene-1_20240506T070809123456Z_{prepared.sha256[:12]}.webp"
    assert stored == StoredObject(
        expected,
        "http://cdn.test/media/" + expected,
        len(prepared.data),
        "image/webp",
        prepared.sha256,
        64,
        48,
        prepared.source,
    )
    assert file_backend.exists(expected)


def test_ingest_checks_the_scene_id_before_downloading(
    source: ImageSourceServer, loopback_policy: FetchPolicy, file_backend: Backend
) -> None:
    with pytest.raises(ValueError, match="scene_id"):
        ingest(source.url("/img.png"), loopback_policy, file_backend, PROJECT, "../etc")
    assert source.requests == []
    stored = ingest(
        source.url("/img.jpg"), loopback_policy, file_backend, PROJECT, "s1"
    )
    assert stored.content_type == "image/jpeg"


# --- run_concurrently --------------------------------------------------------------------------


def test_run_concurrently_keeps_item_order_and_overlaps() -> None:
    active, peak, lock = [0], [0], threading.Lock()
    first_four = threading.Barrier(4, timeout=HOLD_S)  # passes only with items 0-3 running at once

    def work(n: int) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if n < 4:
            first_four.wait()
        time.sleep(0.05 * (n % 3))  # items finish out of order
        with lock:
            active[0] -= 1
        return n * n

    assert run_concurrently(work, range(12), max_workers=4) == [
        n * n for n in range(12)
    ]
    assert peak[0] == 4  # overlapped, and never more than max_workers
    assert run_concurrently(work, []) == []


def test_run_concurrently_polls_from_the_calling_thread() -> None:
    callers: list[str] = []
    polled_five_times = threading.Event()

    def poll() -> None:
        callers.append(threading.current_thread().name)
        if len(callers) >= 5:
            polled_five_times.set()

    # The items run until the caller has polled five times (or HOLD_S passes, and the count fails).
    run_concurrently(lambda _: polled_five_times.wait(HOLD_S), [1, 2], poll=poll, poll_interval=0.02)
    assert len(callers) >= 5
    assert set(callers) == {threading.current_thread().name}


def test_run_concurrently_wraps_the_first_failure_and_cancels_the_rest() -> None:
    cancel = threading.Event()
    started: list[int] = []
    woken: list[bool] = []
    running = threading.Barrier(4, timeout=HOLD_S)  # item 2 fails only once 0-3 all run

    def work(n: int) -> int:
        started.append(n)
        if n < 4:
            running.wait()
        if n == 2:
            raise KeyError("boom")
        woken.append(cancel.wait(HOLD_S))  # a well-behaved item stops when cancelled
        return n

    with pytest.raises(ItemFailed) as caught:
        run_concurrently(work, range(40), max_workers=4, cancel=cancel)
    assert (caught.value.index, type(caught.value.error), caught.value.sqlstate) == (
        2,
        KeyError,
        "XX000",
    )
    assert caught.value.message == "item 2: KeyError: 'boom'"
    assert cancel.is_set()
    assert woken and all(woken)  # every running item was released by the cancel, none waited it out
    # Queued items never started: only 0-3 ran, and perhaps 4, taken by item 2's thread before
    # the failure was seen.
    assert sorted(started)[:4] == [0, 1, 2, 3] and len(started) <= 5
    assert worker_threads() == []


class PollCanceled(Exception):
    """What plpy raises from a poll when the statement is cancelled."""


def test_run_concurrently_propagates_a_poll_exception_after_the_threads_stop() -> None:
    cancel = threading.Event()
    started: list[int] = []
    finished: list[int] = []

    def poll() -> None:
        if len(started) == 3:  # all three running: now the statement is cancelled
            raise PollCanceled("canceling statement due to user request")

    def work(n: int) -> None:
        started.append(n)
        cancel.wait(HOLD_S)
        time.sleep(0.1)  # still busy when the poll raises: must be waited for
        finished.append(n)

    with pytest.raises(PollCanceled):
        run_concurrently(work, range(3), poll=poll, poll_interval=0.01, cancel=cancel)
    assert cancel.is_set()
    assert sorted(finished) == [0, 1, 2]
    assert worker_threads() == []


# --- store_many ------------------------------------------------------------------------------


@pytest.fixture
def scenes(source: ImageSourceServer) -> list[dict[str, str]]:
    """20 distinct images, each answered after 0.2 s so that the requests overlap."""
    requests = []
    for i in range(20):
        source.delayed(f"/scene/{i}.png", make_image("png", (10 + i, 10)), 0.2)
        requests.append(
            {"scene_id": f"scene-{i:02d}", "source_url": source.url(f"/scene/{i}.png")}
        )
    return requests


def test_store_many_stores_twenty_images_concurrently(
    scenes: list[dict[str, str]], source: ImageSourceServer, loopback_policy: FetchPolicy, file_backend: Backend
) -> None:
    # The same images, each answered only once ten of these downloads are in flight at the same
    # moment: one after another, none would be answered (503 after HOLD_S).
    source.gathered({f"/scene/{i}.png": make_image("png", (10 + i, 10)) for i in range(20)}, 10)
    results = store_many(scenes, loopback_policy, file_backend, PROJECT)
    assert [r.width for r in results if isinstance(r, StoredObject)] == [
        10 + i for i in range(20)
    ]
    for request, result in zip(scenes, results, strict=True):
        assert isinstance(result, StoredObject)
        assert result.storage_path.startswith(
            f"projects/{PROJECT}/scenes/{request['scene_id']}_"
        )
    assert len(list(file_backend.list(f"projects/{PROJECT}/"))) == 20


def test_store_many_works_with_every_backend(
    scenes: list[dict[str, str]], loopback_policy: FetchPolicy, backend: Backend
) -> None:
    results = store_many(scenes[:8], loopback_policy, backend, PROJECT)
    assert sorted(o.path for o in backend.list(f"projects/{PROJECT}/")) == sorted(
        r.storage_path for r in results if isinstance(r, StoredObject)
    )
    scenes[5]["source_url"] += "-missing"
    with pytest.raises(ItemFailed):
        store_many(scenes[:8], loopback_policy, backend, "other-project")
    assert list(backend.list("projects/other-project/")) == []


def test_store_many_deletes_everything_when_one_item_fails(
    scenes: list[dict[str, str]],
    source: ImageSourceServer,
    loopback_policy: FetchPolicy,
    file_backend: Backend,
) -> None:
    recording = Recording(file_backend)
    # The poison is answered only once ten other items are stored, however long that takes.
    source.held("/scene/poison", b"<html>expired</html>", "text/html", until=lambda: len(recording.puts) >= 10)
    scenes[13]["source_url"] = source.url("/scene/poison")
    with pytest.raises(ItemFailed) as caught:
        store_many(scenes, loopback_policy, recording, PROJECT)  # type: ignore[arg-type]
    assert caught.value.index == 13
    assert isinstance(caught.value.error, SourceNotAnImage)
    assert caught.value.sqlstate == "SII01"
    assert "item 13: " in caught.value.message
    assert len(recording.puts) >= 10  # they were stored ...
    assert list(file_backend.list("")) == []  # ... and removed
    assert worker_threads() == []


def test_store_many_deletes_everything_when_poll_raises(
    scenes: list[dict[str, str]],
    source: ImageSourceServer,
    loopback_policy: FetchPolicy,
    file_backend: Backend,
) -> None:
    # Still downloading when cancelled: /trickle takes sources.STALL_S, the deadline is a minute.
    scenes[5]["source_url"] = source.url("/trickle")
    patient = dataclasses.replace(loopback_policy, timeout_s=60.0)
    recording = Recording(file_backend)
    raised_at: list[float] = []

    def poll() -> None:
        if len(recording.puts) >= 10:  # ten stored: now the statement is cancelled
            raised_at.append(time.monotonic())
            raise PollCanceled("canceling statement due to statement timeout")

    with pytest.raises(PollCanceled):
        store_many(scenes, patient, recording, PROJECT, poll=poll)  # type: ignore[arg-type]
    # The trickling download was cut, not waited out.
    assert time.monotonic() - raised_at[0] < DEADLINE_MARGIN_S
    assert len(recording.puts) >= 10
    assert list(file_backend.list("")) == []
    assert worker_threads() == []


def test_store_many_skips_images_equal_to_the_current_one(
    source: ImageSourceServer,
    source_images: dict[str, bytes],
    loopback_policy: FetchPolicy,
    file_backend: Backend,
) -> None:
    current = hashlib.sha256(source_images["/img.png"]).hexdigest()
    requests = [
        {"scene_id": "same", "source_url": source.url("/img.png")},
        {"scene_id": "other", "source_url": source.url("/img.png")},
    ]
    results = store_many(
        requests, loopback_policy, file_backend, PROJECT, skip_if_sha={"same": current}
    )
    assert results[0] == Unchanged("same", current, results[0].source)
    assert isinstance(results[1], StoredObject)
    assert [o.path for o in file_backend.list("")] == [results[1].storage_path]


@pytest.mark.parametrize(
    "bad",
    [
        {"scene_id": "../x", "source_url": "http://a/"},
        {"scene_id": "ok"},
        {"source_url": "http://a/"},
        "not a dict",
    ],
)
def test_store_many_checks_requests_before_fetching(
    source: ImageSourceServer,
    loopback_policy: FetchPolicy,
    file_backend: Backend,
    bad: Any,
) -> None:
    requests = [{"scene_id": "fine", "source_url": source.url("/img.png")}, bad]
    with pytest.raises(ItemFailed) as caught:
        store_many(requests, loopback_policy, file_backend, PROJECT)
    assert (caught.value.index, caught.value.sqlstate) == (1, "22023")
    assert source.requests == []


def test_store_many_reports_http_errors_by_index(
    source: ImageSourceServer, loopback_policy: FetchPolicy, file_backend: Backend
) -> None:
    requests = [
        {
            "scene_id": f"s{i}",
            "source_url": source.url("/img.gif" if i != 2 else "/404"),
        }
        for i in range(4)
    ]
    with pytest.raises(ItemFailed) as caught:
        store_many(requests, loopback_policy, file_backend, PROJECT)
    assert caught.value.index == 2
    assert isinstance(caught.value.error, SourceHttpError)
    assert list(file_backend.list("")) == []


# --- whole-call deadline and byte budget -------------------------------------------------------


def test_run_concurrently_ends_at_its_deadline_with_57014_after_the_threads_stop() -> None:
    cancel = threading.Event()
    finished: list[int] = []

    def work(n: int) -> None:
        cancel.wait(30)  # stalls until cancelled
        finished.append(n)

    deadline = Deadline(time.monotonic() + 0.2, "past bulk_deadline_s (0.2 s)")
    with pytest.raises(QueryCanceled) as caught:
        run_concurrently(work, range(3), cancel=cancel, deadline=deadline)
    assert (caught.value.sqlstate, caught.value.message) == ("57014", "past bulk_deadline_s (0.2 s)")
    assert cancel.is_set()
    assert sorted(finished) == [0, 1, 2]  # every running item returned before the raise
    assert worker_threads() == []


def test_byte_budget_never_holds_more_than_its_capacity() -> None:
    budget = ByteBudget(10)
    active, peak, lock = [0], [0], threading.Lock()

    def work(size: int) -> None:
        budget.reserve(size)
        with lock:
            active[0] += size
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= size
        budget.release(size)

    run_concurrently(work, [4, 3, 6, 2, 5, 4, 1, 6] * 3, max_workers=8)
    assert peak[0] <= 10 and budget.peak <= 10
    assert budget.held == 0


def test_byte_budget_lets_one_reservation_over_capacity_proceed_alone() -> None:
    budget = ByteBudget(10)
    budget.reserve(4)
    alone = threading.Event()

    def big() -> None:
        budget.reserve(25)
        alone.set()

    thread = threading.Thread(target=big)
    thread.start()
    assert not alone.wait(0.2)  # 4 + 25 does not fit: it waits for the 4 to go
    budget.release(4)
    thread.join(5)
    assert alone.is_set() and budget.held == 25 and budget.peak == 25
    budget.release(25)


def test_byte_budget_serves_waiters_in_turn_and_stops_waiting_on_cancel() -> None:
    budget = ByteBudget(10)
    budget.reserve(8)
    cancel = threading.Event()
    failures: list[BaseException] = []

    def waiting() -> None:
        try:
            budget.reserve(5, cancel, "http://source.test/a.png")
        except IngestCancelled as error:
            failures.append(error)

    thread = threading.Thread(target=waiting)
    thread.start()
    cancel.set()
    thread.join(5)
    assert len(failures) == 1 and not thread.is_alive()
    assert budget.held == 8  # the cancelled waiter took nothing
    budget.release(8)


def test_store_many_holds_at_most_max_bytes_held_of_image_bytes(
    source: ImageSourceServer, file_backend: Backend
) -> None:
    image = make_image("png", (64, 64))
    requests = []
    for i in range(12):
        data = make_image("png", (64 + i, 64))
        source.delayed(f"/held/{i}.png", data, 0.05)
        requests.append({"scene_id": f"held-{i:02d}", "source_url": source.url(f"/held/{i}.png")})
    seen: list[int] = []
    real_reserve = ByteBudget.reserve

    def spy(self: ByteBudget, size: int, *args: Any) -> None:
        real_reserve(self, size, *args)
        seen.append(self.held)

    cap = 3 * len(image) + 200  # about three images at once
    policy = FetchPolicy(allow_private_networks=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ByteBudget, "reserve", spy)
        results = store_many(requests, policy, file_backend, PROJECT, max_workers=8, max_bytes_held=cap)
    assert len(results) == 12 and len(seen) == 12
    assert max(seen) <= cap
