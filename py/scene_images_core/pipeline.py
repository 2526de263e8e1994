"""fetch → inspect → store, for one image or many at once.

Threads only do I/O: nothing here touches the database, so the SQL layer can run the batch
from a PL/Python function and record the results on its own (main) thread afterwards.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from .backends.base import Backend
from .errors import IngestCancelled, ItemFailed, QueryCanceled, StorageError
from .fetch import BeforeBody, Resolver, fetch
from .paths import check_scene_id, object_path
from .policy import FetchPolicy
from .redact import redact_url
from .sniff import ImageInfo, inspect_image

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Prepared:
    """A downloaded, verified image, not stored yet."""

    data: bytes
    sha256: str
    info: ImageInfo
    # final_url (redacted), status, content_type (header), content_length, redirects
    source: dict[str, Any]


@dataclass(frozen=True)
class StoredObject:
    storage_path: str
    storage_url: str
    file_size: int
    content_type: str
    sha256: str
    width: int
    height: int
    source: dict[str, Any]


@dataclass(frozen=True)
class Unchanged:
    """store_many's answer for an item whose bytes equal the scene's current image (per
    skip_if_sha): nothing was uploaded; the caller returns the existing row."""

    scene_id: str
    sha256: str
    source: dict[str, Any]


@dataclass(frozen=True)
class Deadline:
    """When a whole call must end (time.monotonic()), and what to tell the caller then."""

    at: float
    message: str


class ByteBudget:
    """Bytes a batch may hold in memory at once, shared by its threads. `reserve(n)` waits
    until n more fit under `capacity` (first come, first served, so a big image is not starved
    by small ones); one reservation larger than the whole capacity waits until nothing else is
    held, then proceeds alone. `peak` is the most ever held."""

    POLL_S = 0.05  # how often a waiter looks at `cancel`

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a byte budget must be at least 1 byte, got {capacity}")
        self.capacity = capacity
        self.held = 0
        self.peak = 0
        self._turns: deque[object] = deque()
        self._changed = threading.Condition()

    def reserve(self, size: int, cancel: threading.Event | None = None, url: str | None = None) -> None:
        turn = object()
        with self._changed:
            self._turns.append(turn)
            try:
                while self._turns[0] is not turn or (self.held and self.held + size > self.capacity):
                    if cancel is not None and cancel.is_set():
                        raise IngestCancelled("download cancelled", url=url)
                    self._changed.wait(self.POLL_S)
            finally:
                self._turns.remove(turn)
                self._changed.notify_all()
            self.held += size
            self.peak = max(self.peak, self.held)

    def release(self, size: int) -> None:
        with self._changed:
            self.held -= size
            self._changed.notify_all()


class _Holding:
    """One item's share of a ByteBudget (nothing when there is no budget): taken before its
    body is read, trimmed to what arrived, given back after its upload."""

    def __init__(self, budget: ByteBudget | None, cancel: threading.Event, url: str) -> None:
        self._budget = budget
        self._cancel = cancel
        self._url = url
        self.size = 0

    def take(self, size: int) -> None:
        if self._budget is not None:
            self._budget.reserve(size, self._cancel, self._url)
            self.size += size

    def trim(self, size: int) -> None:
        if self._budget is not None and size < self.size:
            self._budget.release(self.size - size)
            self.size = size

    def give_back(self) -> None:
        self.trim(0)


def prepare(
    url: str,
    policy: FetchPolicy,
    *,
    resolver: Resolver | None = None,
    cancel: threading.Event | None = None,
    before_body: BeforeBody | None = None,
) -> Prepared:
    """Download `url` under `policy`, check that it is an image, hash it. `before_body`: see
    fetch."""
    fetched = fetch(url, policy, resolver=resolver, cancel=cancel, before_body=before_body)
    info = inspect_image(fetched.data, policy.max_pixels, url=fetched.final_url)
    source = {
        "final_url": redact_url(fetched.final_url),
        "status": fetched.status,
        "content_type": fetched.content_type,
        "content_length": fetched.content_length,
        "redirects": [redact_url(u) for u in fetched.redirects],
    }
    return Prepared(
        fetched.data, hashlib.sha256(fetched.data).hexdigest(), info, source
    )


def store(
    prepared: Prepared,
    backend: Backend,
    project_id: Any,
    scene_id: str,
    *,
    now: datetime | None = None,
) -> StoredObject:
    """Upload a prepared image to a new, unique path (see paths.object_path)."""
    info = prepared.info
    path = object_path(
        project_id, scene_id, now or datetime.now(UTC), prepared.sha256, info.extension
    )
    try:
        url = backend.put(path, prepared.data, info.content_type)
    except StorageError as error:
        error.kind = error.kind or backend.kind
        raise
    return StoredObject(
        path,
        url,
        len(prepared.data),
        info.content_type,
        prepared.sha256,
        info.width,
        info.height,
        prepared.source,
    )


def ingest(
    url: str,
    policy: FetchPolicy,
    backend: Backend,
    project_id: Any,
    scene_id: str,
    *,
    resolver: Resolver | None = None,
    cancel: threading.Event | None = None,
    now: datetime | None = None,
) -> StoredObject:
    """prepare + store; the scene_id is checked before anything is downloaded, and nothing is
    uploaded once `cancel` is set."""
    check_scene_id(scene_id)
    prepared = prepare(url, policy, resolver=resolver, cancel=cancel)
    if cancel is not None and cancel.is_set():
        raise IngestCancelled("cancelled before the upload", url=url)
    return store(prepared, backend, project_id, scene_id, now=now)


def run_concurrently(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    max_workers: int = 16,
    poll: Callable[[], object] | None = None,
    poll_interval: float = 0.05,
    cancel: threading.Event | None = None,
    deadline: Deadline | None = None,
) -> list[R]:
    """fn(item) for every item in a thread pool; results in item order.

    While waiting, the calling thread runs `poll()` at least every poll_interval seconds
    (inside PostgreSQL it checks for a query cancel). `fn` should watch `cancel`: it is set
    when poll raises, an item fails or `deadline` passes, and then no queued item starts.
    Either way this waits until every running item has returned before raising, so nothing
    runs on behind the caller's back. A poll exception propagates unchanged; an item's failure
    is raised as ItemFailed(index, error) — the first failure seen, the lowest index among
    simultaneous ones; a passed deadline as QueryCanceled(deadline.message).
    """
    work = list(items)
    if not work:
        return []
    stop = cancel if cancel is not None else threading.Event()
    pool = ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(work))),
        thread_name_prefix="scene-images",
    )
    try:
        futures = [pool.submit(fn, item) for item in work]
        _wait_all(futures, poll, poll_interval, deadline)
        return [f.result() for f in futures]
    except BaseException:
        # Queued items are cancelled before the running ones are told to stop: a running item
        # that stops frees its thread, which must not find a queued item still to start.
        pool.shutdown(wait=False, cancel_futures=True)
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _wait_all(
    futures: list[Future[R]],
    poll: Callable[[], object] | None,
    poll_interval: float,
    deadline: Deadline | None,
) -> None:
    index = {f: i for i, f in enumerate(futures)}
    pending: set[Future[R]] = set(futures)
    next_poll = time.monotonic()
    while pending:
        timeout = poll_interval
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline.at - time.monotonic()))
        done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        failures = [(index[f], e) for f in done if (e := f.exception()) is not None]
        if failures:
            position, error = min(failures, key=lambda failure: failure[0])
            raise ItemFailed(position, error) from error
        if deadline is not None and pending and time.monotonic() >= deadline.at:
            raise QueryCanceled(deadline.message)
        if poll is not None and pending and time.monotonic() >= next_poll:
            poll()
            next_poll = time.monotonic() + poll_interval


def store_many(
    requests: Iterable[Mapping[str, Any]],
    policy: FetchPolicy,
    backend: Backend,
    project_id: Any,
    *,
    skip_if_sha: Mapping[str, str] | None = None,
    poll: Callable[[], object] | None = None,
    max_workers: int = 16,
    resolver: Resolver | None = None,
    deadline: Deadline | None = None,
    max_bytes_held: int | None = None,
) -> list[StoredObject | Unchanged]:
    """Fetch and store every {"scene_id", "source_url"} request concurrently; results in
    request order. All or nothing: when any item fails (ItemFailed names its index), poll
    raises or `deadline` passes (QueryCanceled), every object this call stored is deleted
    before the exception propagates; paths that could not be deleted are listed in the
    exception's notes. An item whose sha256 equals skip_if_sha[scene_id] is not uploaded: its
    result is Unchanged.

    `max_bytes_held` caps the image bytes the batch holds at once: each item reserves its
    Content-Length (max_bytes without one) before reading its body, keeps what arrived until
    its upload is done, then gives it back. Items wait their turn with their connection
    open, the wait not counted against timeout_s; an image larger than the cap proceeds
    alone (it is within max_bytes, the owner's limit for one image)."""
    items = list(requests)
    for i, item in enumerate(items):
        try:
            if not isinstance(item.get("source_url"), str):
                raise ValueError("source_url must be a string")  # noqa: TRY004 - reported as 22023
            check_scene_id(item.get("scene_id"))
        except (ValueError, AttributeError) as exc:
            raise ItemFailed(i, ValueError(str(exc))) from None
    current = dict(skip_if_sha or {})
    cancel = threading.Event()
    stored: list[str] = []
    lock = threading.Lock()

    budget = ByteBudget(max_bytes_held) if max_bytes_held is not None else None

    def one(item: Mapping[str, Any]) -> StoredObject | Unchanged:
        holding = _Holding(budget, cancel, item["source_url"])
        prepared: Prepared | None = None
        try:
            prepared = prepare(item["source_url"], policy, resolver=resolver, cancel=cancel,
                               before_body=holding.take)
            holding.trim(len(prepared.data))
            if current.get(item["scene_id"]) == prepared.sha256:
                return Unchanged(item["scene_id"], prepared.sha256, prepared.source)
            if cancel.is_set():  # another item failed while we downloaded: do not upload
                raise IngestCancelled("batch cancelled", url=item["source_url"])
            result = store(prepared, backend, project_id, item["scene_id"])
            with lock:
                stored.append(result.storage_path)
            return result
        finally:
            prepared = None  # the bytes' only reference: dropped before their share is given back
            holding.give_back()

    try:
        return run_concurrently(
            one, items, max_workers=max_workers, poll=poll, cancel=cancel, deadline=deadline
        )
    except BaseException as exc:
        left = remove_objects(backend, stored)
        if left:
            exc.add_note(
                f"could not delete {len(left)} stored object(s): {', '.join(left)}"
            )
        raise


def remove_objects(backend: Backend, paths: Iterable[str]) -> list[str]:
    """Delete each path; returns those whose delete failed (an orphan sweep finds them later).
    For callers that stored objects but could not record them."""
    left = []
    for path in paths:
        try:
            backend.delete(path)
        except Exception:  # noqa: BLE001 - one failed delete must not stop the others
            left.append(path)
    return left
