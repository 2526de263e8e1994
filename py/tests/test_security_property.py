"""Property: whatever scene_id, URL and metadata store_scene_image is given, it either stores a
valid row whose object holds exactly its bytes, or fails with a documented SQLSTATE having
written nothing.

Every generated URL points at loopback: one of our servers (valid images, error routes,
redirects, a refused 127.0.0.2 and ::1), a numeric or named spelling of 127.0.0.1, or a closed
port — or it is no http(s) URL at all. Hosts are drawn from a fixed list, never generated, so
no example can reach or resolve anything outside the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from hypothesis import event, given, settings
from hypothesis import strategies as st
from loopback_http import free_port
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from security_fixtures import (
    BASE_FETCH,
    DOCUMENTED_SQLSTATES,
    RawJson,
    StorageRoot,
    assert_row_matches_object,
    ipv6_loopback_available,
    primary,
    server_owned_dir,
    snapshot,
    store,
)
from sources import ImageSourceServer

pytest_plugins = ["client_fixtures", "security_fixtures"]

SCENE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
ROUTES = [
    "/img.png", "/img.jpg", "/img.gif", "/img.webp", "/img.avif", "/minimal.avif", "/mislabeled.png",
    "/404", "/html", "/xml-error", "/big", "/lying-length", "/redirect/2", "/redirect/5", "/loop-a",
    "/polyglot.png", "/truncated.png", "/empty", "/bomb.png", "/bomb.gif", "/no-such-route",
]
# PostgreSQL text and jsonb cannot hold NUL: psycopg refuses it before the server sees the call.
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)


@pytest.fixture(scope="module")
def world(
    conninfo: str, _source: ImageSourceServer, _other_loopback: ImageSourceServer, _ipv6_source: ImageSourceServer,
) -> Iterator[dict[str, Any]]:
    """One project, one storage root and the fetch policy for every example of the module."""
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn, \
            server_owned_dir("security-property-") as path:
        saved = conn.execute("SELECT name, value FROM scene_images_internal.settings").fetchall()
        root = StorageRoot(path, "http://127.0.0.1:9/objects")
        conn.execute("SELECT configure_scene_image_storage('file', %s)", (Jsonb(root.settings()),))
        conn.execute("SELECT configure_scene_image_fetch(%s)", (Jsonb({**BASE_FETCH, "timeout_s": 3}),))
        project_id = conn.execute("INSERT INTO projects (name) VALUES ('property') RETURNING id").fetchone()["id"]
        try:
            hosts = _hosts(_source, _other_loopback, _ipv6_source)
            yield {"conn": conn, "root": root, "project_id": project_id, "hosts": hosts}
        finally:
            for row in saved:
                conn.execute("UPDATE scene_images_internal.settings SET value = %s WHERE name = %s",
                             (Jsonb(row["value"]), row["name"]))


def _hosts(source: ImageSourceServer, other: ImageSourceServer, ipv6: ImageSourceServer) -> list[str]:
    port = source.port
    hosts = [f"127.0.0.1:{port}", f"2130706433:{port}", f"0x7f.1:{port}", f"localhost:{port}",
             f"[::ffff:127.0.0.1]:{port}", f"127.0.0.2:{other.port}", f"127.0.0.1:{free_port()}"]
    if ipv6_loopback_available():
        hosts.append(f"[::1]:{ipv6.port}")
    return hosts


@st.composite
def _url(draw: st.DrawFn, hosts: list[str]) -> str:
    kind = draw(st.sampled_from(["route"] * 6 + ["junk-path", "scheme", "junk"]))
    host = draw(st.sampled_from(hosts))
    if kind == "route":
        query = draw(st.sampled_from(["", "?w=1", "?token=abc", "#frag"]))
        return f"{draw(st.sampled_from(['http', 'HTTP']))}://{host}{draw(st.sampled_from(ROUTES))}{query}"
    if kind == "junk-path":
        return f"http://{host}/" + draw(TEXT)
    if kind == "scheme":
        scheme = draw(st.sampled_from(["file", "ftp", "gopher", "data", "javascript", "dict", "ws", "https"]))
        return f"{scheme}://{host}/img.png"  # https to a plain-HTTP server: a TLS failure, still loopback
    # No http(s) prefix, so never a URL of any host (filtered, not trusted to chance).
    return draw(TEXT.filter(lambda t: not t.lower().lstrip().startswith(("http:", "https:"))))


def _mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` 9 times in 10, so most examples get past the argument checks to the URL and body."""
    return st.sampled_from([usual] * 9 + [odd]).flatmap(lambda chosen: chosen)


def _scene_ids() -> st.SearchStrategy[str]:
    return _mostly(st.from_regex(SCENE_PATTERN, fullmatch=True), TEXT | st.sampled_from(["..", "a/b", "../x"]))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def _metadata() -> st.SearchStrategy[object]:
    """Mostly JSON objects (sent as jsonb), sometimes any JSON value as raw text."""
    return _mostly(st.dictionaries(TEXT, _JSON, max_size=4), _JSON.map(lambda v: RawJson(json.dumps(v))))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_store_either_stores_a_valid_row_or_refuses_with_a_documented_sqlstate(
    world: dict[str, Any], data: st.DataObject,
) -> None:
    conn, root, project_id = world["conn"], world["root"], world["project_id"]
    scene_id = data.draw(_scene_ids(), label="scene_id")
    url = data.draw(_url(world["hosts"]), label="source_url")
    metadata = data.draw(_metadata(), label="metadata")
    before = snapshot(conn, project_id, root)
    try:
        row = store(conn, project_id, scene_id, url, metadata=metadata)
    except psycopg.Error as error:
        event(f"refused {error.sqlstate}")
        assert error.sqlstate in DOCUMENTED_SQLSTATES, f"{error.sqlstate}: {primary(error)}"
        assert snapshot(conn, project_id, root) == before, "a refused call wrote something"
        return
    event("stored")
    assert row["scene_id"] == scene_id and row["is_current"] and row["version"] >= 1
    assert row["fal_metadata"]["source"]["status"] == 200
    assert_row_matches_object(row, root)
    after = snapshot(conn, project_id, root)
    # A new version adds one object; the same bytes as the current image return that row unchanged.
    assert len(after.objects) - len(before.objects) == len(after.rows) - len(before.rows) in (0, 1)
