"""Hostile response bodies, end to end through store_scene_image(s): each is refused with its
SQLSTATE and leaves no row and no object in the test's own storage root. Stalling sources are
cut off by timeout_s (set small here), not by the far larger stall (sources.STALL_S).
"""

from __future__ import annotations

import gzip
import threading
import time
import uuid

import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from images import make_image, polyglot
from security_fixtures import (
    TEST_MAX_BYTES,
    DictConnection,
    FetchSettings,
    StorageRoot,
    assert_row_matches_object,
    primary,
    refused,
    stall_mid_body,
    store,
    store_bulk,
)
from sources import DEADLINE_MARGIN_S, HTML_PAGE, STALL_S, ImageSourceServer

pytest_plugins = ["client_fixtures", "security_fixtures"]

TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def hostile_routes(_source: ImageSourceServer) -> None:
    """The bodies the standard routes lack, installed once on the module's 127.0.0.1 source."""
    source = _source
    png = make_image("png")
    source.body("/html-labelled-png", HTML_PAGE, "image/png")  # the header lies; the bytes decide
    source.body("/svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml")
    source.body("/image-with-500", png, "image/png", status=500)  # an image body does not make an error a success
    # 10 MiB of zeros in a 10 KiB gzip body: refused as encoded, never inflated.
    source.body("/gzip-bomb", gzip.compress(bytes(10 * 1024 * 1024)), "image/png", headers={"Content-Encoding": "gzip"})
    stall_mid_body(source, "/stall-mid-body", png, len(png) // 2, seconds=STALL_S)


BODIES = [
    ("/empty", "SII01"),
    ("/truncated.png", "SII01"),
    ("/html", "SII01"),
    ("/xml-error", "SII01"),
    ("/html-labelled-png", "SII01"),
    ("/svg", "SII01"),
    ("/polyglot.png", "SII01"),
    ("/gzip-bomb", "SII01"),
    ("/bomb.png", "SII02"),
    ("/bomb.gif", "SII02"),
    ("/big", "SIF02"),
    ("/big-no-length", "SIF02"),
    ("/lying-length", "SIF05"),
    ("/image-with-500", "SIF01"),
]
# What /endless sends if nothing stops the reader: twice what loopback sockets can buffer at most
# here (tcp_rmem max 32 MiB + tcp_wmem max 4 MiB), so a reader that stopped at the cap leaves at
# least half of it unsent.
ENDLESS_BYTES = 128 * TEST_MAX_BYTES


@pytest.mark.parametrize(("path", "sqlstate"), BODIES, ids=[p.strip("/") for p, _ in BODIES])
def test_store_refuses_hostile_bodies_and_writes_nothing(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, hostile_routes: None, path: str, sqlstate: str,
) -> None:
    with refused(db, project_id, storage, sqlstate) as caught:
        store(db, project_id, "s1", source.url(path))
    assert source.url(path) in primary(caught.value)
    assert source.paths() == [path]


def test_store_stops_reading_an_unannounced_body_at_max_bytes(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    # No Content-Length, a body 128 times max_bytes: only the byte cap ends the read early. The
    # route counts what it managed to send before the reader hung up, so the proof is bytes, not
    # seconds: a reader that went on takes all of it, one that stopped at the cap leaves the
    # larger part unsent.
    sent, finished = [0], threading.Event()

    def endless(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"\x89PNG" + bytes(64 * 1024)
        try:
            while not source.stopping.is_set() and sent[0] < ENDLESS_BYTES:
                handler.wfile.write(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the reader hung up
        finally:
            finished.set()

    source.routes["/endless"] = endless
    fetch_settings(timeout_s=120)  # no deadline ends this read: the cap must
    with refused(db, project_id, storage, "SIF02") as caught:
        store(db, project_id, "s1", source.url("/endless"))
    assert f"max_bytes {TEST_MAX_BYTES}" in primary(caught.value)
    assert finished.wait(60), "the reader still holds the connection after the call ended"
    assert TEST_MAX_BYTES <= sent[0] < ENDLESS_BYTES // 2, f"{sent[0]} of {ENDLESS_BYTES} bytes sent"


@pytest.mark.parametrize("path", ["/stall-mid-body", "/silent", "/trickle"])
def test_store_gives_up_on_a_stalling_source_within_timeout_s(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, hostile_routes: None, path: str,
) -> None:
    fetch_settings(timeout_s=TIMEOUT_S)
    started = time.monotonic()
    with refused(db, project_id, storage, "SIF03"):
        store(db, project_id, "s1", source.url(path))
    elapsed = time.monotonic() - started
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + DEADLINE_MARGIN_S


def test_store_bulk_with_one_hostile_body_removes_what_the_others_uploaded(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    # The polyglot is answered only once the three good images are in storage (the route waits
    # for them, however long the machine takes), so the refusal has uploads to remove.
    uploaded = source.held("/late-polyglot", polyglot(make_image("png")), until=lambda: len(storage.objects()) >= 3)
    good = [
        {"scene_id": f"good{i}", "source_url": source.url(path)}
        for i, path in enumerate(["/img.png", "/img.jpg", "/img.webp"])
    ]
    bad = {"scene_id": "bad", "source_url": source.url("/late-polyglot")}
    with refused(db, project_id, storage, "SII01") as caught:
        store_bulk(db, project_id, [*good, bad])
    assert not uploaded.timed_out, "the three good images never reached storage during the call"
    assert primary(caught.value).startswith("SourceNotAnImage: requests[3] (scene_id bad)")
    assert sorted(source.paths()) == ["/img.jpg", "/img.png", "/img.webp", "/late-polyglot"]
    # The same good items alone are stored: the refusal was the polyglot's.
    rows = store_bulk(db, project_id, good)
    assert [r["scene_id"] for r in rows] == ["good0", "good1", "good2"]
    for row in rows:
        assert_row_matches_object(row, storage)
    assert storage.objects() == sorted(r["storage_path"] for r in rows)
