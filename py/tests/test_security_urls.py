"""Hostile source URLs, end to end through store_scene_image(s): each refusal has its SQLSTATE,
writes nothing, and — where the URL points at one of our loopback servers — that server never
sees a request. Non-loopback addresses (cloud metadata, RFC 1918, public hosts) appear only in
the address classifier or as answers of an injected resolver, with a tripwire session and the
process-wide loopback guard in place: nothing here can connect outside 127.0.0.0/8 and ::1.
"""

from __future__ import annotations

import base64
import ipaddress
import uuid

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from hypothesis import given, settings
from hypothesis import strategies as st
from images import make_image
from network_guard import guard_loopback_only
from security_fixtures import (
    DictConnection,
    FetchSettings,
    StorageRoot,
    Tripwire,
    assert_row_matches_object,
    ipv6_loopback_available,
    message_texts,
    primary,
    refused,
    resolver_for,
    store,
    store_bulk,
)
from sources import ImageSourceServer

from scene_images_core.errors import HostNotAllowed, PrivateAddressRefused
from scene_images_core.fetch import fetch
from scene_images_core.policy import FetchPolicy, classify_address, is_address_allowed

pytest_plugins = ["client_fixtures", "security_fixtures"]

PASSWORD = "hunter2-Pa55word-must-not-leak"
needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_available(), reason="no ::1 on this host")


# --- schemes and URL shapes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_url",
    [
        lambda s: "file:///etc/passwd",
        lambda s: "file://127.0.0.1/etc/passwd",
        lambda s: f"gopher://127.0.0.1:{s.port}/_GET%20/img.png%20HTTP/1.0%0D%0A%0D%0A",
        lambda s: f"ftp://127.0.0.1:{s.port}/img.png",
        lambda s: f"dict://127.0.0.1:{s.port}/info",
        lambda s: "data:image/png;base64," + base64.b64encode(make_image("png")).decode(),
        lambda s: f"//127.0.0.1:{s.port}/img.png",
        lambda s: f"http:/127.0.0.1:{s.port}/img.png",
        lambda s: f"http://127.0.0.1:{s.port}\\@127.0.0.2/img.png",
        lambda s: f"http://127.0.0.1:{s.port}/img.png\r\nX-Injected: 1",
    ],
    ids=["file", "file-host", "gopher", "ftp", "dict", "data", "scheme-relative", "one-slash", "backslash", "crlf"],
)
def test_store_refuses_non_http_urls_without_a_request(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, make_url,
) -> None:
    with refused(db, project_id, storage, "SIU01"):
        store(db, project_id, "s1", make_url(source))
    assert source.requests == []


@pytest.mark.parametrize(
    "userinfo", [f"alice:{PASSWORD}", PASSWORD, f":{PASSWORD}", f"alice:{PASSWORD}@127.0.0.1"],
    ids=["user-password", "user-only", "password-only", "double-at"],
)
def test_store_refuses_credentials_without_repeating_them(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, userinfo: str,
) -> None:
    url = f"http://{userinfo}@127.0.0.1:{source.port}/img.png"
    with refused(db, project_id, storage, "SIU01") as single:
        store(db, project_id, "s1", url)
    with refused(db, project_id, storage, "SIU01") as bulk:
        store_bulk(db, project_id, [{"scene_id": "s1", "source_url": url}])
    for error in (single.value, bulk.value):
        assert PASSWORD not in message_texts(error)
    assert source.requests == []


def test_store_refuses_credentials_in_a_redirect_without_repeating_them(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    source.redirect("/to-credentials", f"http://alice:{PASSWORD}@127.0.0.1:{source.port}/img.png")
    with refused(db, project_id, storage, "SIU01") as caught:
        store(db, project_id, "s1", source.url("/to-credentials"))
    assert PASSWORD not in message_texts(caught.value)
    assert source.paths() == ["/to-credentials"]


def test_store_redacts_signed_query_values_in_rows_and_errors(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    # Generators hand out presigned URLs: the signature must not outlive the download.
    query = "?X-Amz-Signature=sig-SECRET-1&token=tok-SECRET-2&w=512"
    row = store(db, project_id, "s1", source.url("/img.png" + query))
    stored = db.execute("SELECT to_jsonb(si)::text AS j FROM scene_images AS si WHERE id = %s", (row["id"],)).fetchone()
    assert "SECRET" not in stored["j"] and "w=512" in stored["j"]
    assert_row_matches_object(row, storage)
    with refused(db, project_id, storage, "SIF01") as caught:
        store(db, project_id, "s2", source.url("/404" + query))
    assert "SECRET" not in message_texts(caught.value)


# --- loopback in disguise --------------------------------------------------------------------

LOOPBACK_FORMS = [
    "127.0.0.1", "2130706433", "017700000001", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1",
    "0X7F.0.0.01", "127.1", "127.0.1", "0x7f.1", "0177.1", "127.0.0.1.",
]


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
def test_store_refuses_every_spelling_of_loopback_while_private_networks_are_refused(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, host: str,
) -> None:
    url = f"http://{host}:{source.port}/img.png"
    fetch_settings(allow_private_networks=False)
    with refused(db, project_id, storage, "SIU03"):
        store(db, project_id, "s1", url)
    assert source.requests == []
    # The same URL does reach the server once 127.0.0.1 is allowed: the refusal above was the policy's.
    fetch_settings()
    assert_row_matches_object(store(db, project_id, "s1", url), storage)
    assert source.paths() == ["/img.png"]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost."])
def test_store_refuses_localhost_while_private_networks_are_refused(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, host: str,
) -> None:
    url = f"http://{host}:{source.port}/img.png"
    fetch_settings(allow_private_networks=False)
    with refused(db, project_id, storage, "SIU03") as caught:
        store(db, project_id, "s1", url)
    assert "loopback" in primary(caught.value)
    assert source.requests == []
    fetch_settings()
    assert_row_matches_object(store(db, project_id, "s1", url), storage)


@needs_ipv6
@pytest.mark.parametrize("host", ["[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"])
def test_store_refuses_ipv6_loopback_forms_without_a_request(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, ipv6_source: ImageSourceServer, host: str,
) -> None:
    # ::1 forms would land on the ::1 server, IPv4-mapped ones on the 127.0.0.1 server.
    server = source if "ffff" in host else ipv6_source
    fetch_settings(allow_private_networks=False)
    with refused(db, project_id, storage, "SIU03"):
        store(db, project_id, "s1", f"http://{host}:{server.port}/img.png")
    assert source.requests == [] and ipv6_source.requests == []


@needs_ipv6
def test_store_refuses_ipv6_loopback_outside_the_allowed_cidr(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    ipv6_source: ImageSourceServer,
) -> None:
    url = ipv6_source.url("/img.png")
    with refused(db, project_id, storage, "SIU03"):  # 127.0.0.1/32 does not let ::1 in
        store(db, project_id, "s1", url)
    assert ipv6_source.requests == []
    fetch_settings(allow_private_networks=["::1/128"])
    assert_row_matches_object(store(db, project_id, "s1", url), storage)
    assert ipv6_source.paths() == ["/img.png"]


# --- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        lambda o: f"http://127.0.0.2:{o.port}/img.png",
        lambda o: f"http://2130706434:{o.port}/img.png",
        lambda o: f"http://0x7f.0.0.2:{o.port}/img.png",
        lambda o: f"http://[::ffff:127.0.0.2]:{o.port}/img.png",
    ],
    ids=["dotted", "decimal", "hex", "ipv4-mapped"],
)
def test_store_refuses_a_redirect_into_a_loopback_address_not_allowed(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, other_loopback: ImageSourceServer, location,
) -> None:
    # Two hops on the allowed source first: every hop is checked, not only the first or last.
    source.redirect("/hop-1", "/hop-2")
    source.redirect("/hop-2", location(other_loopback))
    with refused(db, project_id, storage, "SIU03") as caught:
        store(db, project_id, "s1", source.url("/hop-1"))
    assert "127.0.0.2" in primary(caught.value)
    assert source.paths() == ["/hop-1", "/hop-2"]
    assert other_loopback.requests == []


@needs_ipv6
def test_store_refuses_a_redirect_to_ipv6_loopback(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, ipv6_source: ImageSourceServer,
) -> None:
    source.redirect("/to-v6", ipv6_source.url("/img.png"))
    with refused(db, project_id, storage, "SIU03"):
        store(db, project_id, "s1", source.url("/to-v6"))
    assert ipv6_source.requests == []


def test_store_refuses_redirect_loops(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    source.redirect("/self", "/self")
    for path in ("/loop-a", "/self"):
        with refused(db, project_id, storage, "SIU04") as caught:
            store(db, project_id, "s1", source.url(path))
        assert "loop" in primary(caught.value)
    assert source.paths() == ["/loop-a", "/loop-b", "/self"]


def test_store_stops_an_endless_redirect_chain_at_max_redirects(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    # Every hop is a new URL (?n=1, ?n=2, ...), so only the hop count can stop it.
    def endless(handler) -> None:
        n = int(handler.path.partition("?n=")[2] or 0)
        handler.send_body(b"", None, status=307, headers={"Location": f"/endless?n={n + 1}"})

    source.routes["/endless"] = endless
    for max_redirects in (0, 3):
        fetch_settings(max_redirects=max_redirects)
        source.clear_log()
        with refused(db, project_id, storage, "SIU04"):
            store(db, project_id, "s1", source.url("/endless"))
        assert len(source.requests) == max_redirects + 1
    fetch_settings(max_redirects=4)
    assert_row_matches_object(store(db, project_id, "s1", source.url("/redirect/4")), storage)


# --- overlong URLs ---------------------------------------------------------------------------


def test_store_refuses_urls_over_2048_characters_without_a_request(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    base = source.url("/404?pad=")
    at_limit = base + "a" * (2048 - len(base))
    with refused(db, project_id, storage, "SIU01"):
        store(db, project_id, "s1", at_limit + "a")
    assert source.requests == []
    with refused(db, project_id, storage, "SIF01"):  # 2048 is still a URL: fetched, answered 404
        store(db, project_id, "s1", at_limit)
    assert [path.partition("?")[0] for path in source.paths()] == ["/404"]


@pytest.mark.parametrize(
    ("padding", "sqlstate"),
    [(3000, "SIU01"), (100_000, "SIF04")],  # past http.client's 64 KiB header line limit: not read at all
    ids=["over-max-url-length", "over-header-limit"],
)
def test_store_refuses_an_overlong_redirect_target_and_keeps_the_message_short(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, padding: int, sqlstate: str,
) -> None:
    source.redirect("/to-long", "/img.png?pad=" + "b" * padding)
    with refused(db, project_id, storage, sqlstate) as caught:
        store(db, project_id, "s1", source.url("/to-long"))
    assert len(primary(caught.value)) < 1000
    assert source.paths() == ["/to-long"]


# --- non-loopback addresses: classifier and injected resolver only ----------------------------

# The policy every SQL test above runs with: loopback 127.0.0.1 allowed, nothing else private.
TEST_POLICY = FetchPolicy(allow_private_networks=("127.0.0.1/32",), timeout_s=5.0)
INTERNAL_ANSWERS = {
    "metadata.internal": ["169.254.169.254"],
    "metadata-v6.internal": ["::ffff:169.254.169.254"],
    "metadata-nat64.internal": ["64:ff9b::a9fe:a9fe"],
    "db.internal": ["10.0.0.5"],
    "router.lan": ["192.168.1.1"],
    "cgnat.internal": ["100.64.0.1"],
    "ula.internal": ["fd00::1"],
    "split.example": ["93.184.216.34", "10.0.0.5"],  # one private answer refuses the host
}


@pytest.mark.parametrize("host", sorted(INTERNAL_ANSWERS))
def test_fetch_refuses_internal_names_under_the_loopback_policy(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    guard_loopback_only(monkeypatch)
    with pytest.raises(PrivateAddressRefused) as caught:
        fetch(f"http://{host}/latest/meta-data/", TEST_POLICY, resolver=resolver_for(INTERNAL_ANSWERS),
              session_factory=Tripwire)
    assert caught.value.sqlstate == "SIU03"


def test_fetch_refuses_a_redirect_to_cloud_metadata_from_an_allowed_source(
    monkeypatch: pytest.MonkeyPatch, source: ImageSourceServer
) -> None:
    guard_loopback_only(monkeypatch)
    asked: list[str] = []
    source.redirect("/to-metadata", "http://metadata.internal/latest/meta-data/iam/security-credentials/")
    with pytest.raises(PrivateAddressRefused, match="169.254.169.254"):
        fetch(source.url("/to-metadata"), TEST_POLICY, resolver=resolver_for(INTERNAL_ANSWERS, asked))
    assert asked == ["metadata.internal"]
    assert source.paths() == ["/to-metadata"]


def test_fetch_refuses_hosts_outside_allowed_hosts_before_resolving(monkeypatch: pytest.MonkeyPatch) -> None:
    guard_loopback_only(monkeypatch)
    asked: list[str] = []
    policy = FetchPolicy(allowed_hosts=("*.fal.media",), allow_private_networks=("127.0.0.1/32",))
    for url in ("http://evil.example/a.png", "http://fal.media.evil.example/a.png", "http://93.184.216.34/a.png"):
        with pytest.raises(HostNotAllowed):
            fetch(url, policy, resolver=resolver_for({}, asked), session_factory=Tripwire)
    assert asked == []


PRIVATE_V4 = [
    ipaddress.IPv4Network(n)
    for n in ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
              "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4")
]


def _spellings(address: ipaddress.IPv4Address) -> st.SearchStrategy[str]:
    """The inet_aton forms a resolver accepts for `address`: dotted, 1-3 parts, decimal/octal/hex."""
    value, octets = int(address), address.packed

    def part(n: int) -> st.SearchStrategy[str]:
        return st.sampled_from([str(n), hex(n), "0" + oct(n)[2:] if n else "0"])

    return st.one_of(
        st.tuples(*(part(b) for b in octets)).map(".".join),
        part(value),
        st.tuples(part(octets[0]), part(int.from_bytes(octets[1:], "big"))).map(".".join),
        st.tuples(part(octets[0]), part(octets[1]), part(int.from_bytes(octets[2:], "big"))).map(".".join),
        st.just(f"[::ffff:{address}]"),
    )


@st.composite
def _private_host(draw: st.DrawFn) -> tuple[ipaddress.IPv4Address, str]:
    network = draw(st.sampled_from(PRIVATE_V4))
    address = network[draw(st.integers(0, network.num_addresses - 1))]
    return address, draw(_spellings(address))


@settings(max_examples=200, deadline=None)
@given(_private_host())
def test_fetch_refuses_any_spelling_of_a_non_public_ipv4_address_before_connecting(
    sample: tuple[ipaddress.IPv4Address, str],
) -> None:
    # No network at all: a numeric host is classified without DNS and refused before the
    # Tripwire session could send. 127.0.0.1 itself is the one address the policy allows.
    address, host = sample
    assert classify_address(address) != "public"
    if is_address_allowed(address, TEST_POLICY):
        assert address == ipaddress.IPv4Address("127.0.0.1")
        return
    with pytest.raises(PrivateAddressRefused):
        fetch(f"http://{host}/a.png", TEST_POLICY, resolver=resolver_for({}), session_factory=Tripwire)


def test_store_refuses_a_bulk_call_whose_last_url_is_private_and_leaves_nothing(
    db: DictConnection, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, other_loopback: ImageSourceServer,
) -> None:
    requests_ = [{"scene_id": f"s{i}", "source_url": source.url(f"/img.{ext}")} for i, ext in enumerate(["png", "jpg"])]
    requests_.append({"scene_id": "s2", "source_url": other_loopback.url("/img.png")})
    with refused(db, project_id, storage, "SIU03") as caught:
        store_bulk(db, project_id, requests_)
    assert primary(caught.value).startswith("PrivateAddressRefused: requests[2] (scene_id s2)")
    assert other_loopback.requests == []


def test_store_refuses_hostile_urls_for_the_service_role_too(
    conninfo: str, project_id: uuid.UUID, storage: StorageRoot, fetch_settings: FetchSettings,
    source: ImageSourceServer, db: DictConnection,
) -> None:
    # The policy is not an owner's privilege to skip: the most trusted client role gets the same answers.
    fetch_settings(allow_private_networks=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET ROLE service_role")
        for url, sqlstate in ((source.url("/img.png"), "SIU03"), ("file:///etc/passwd", "SIU01")):
            with refused(db, project_id, storage, sqlstate):
                store(conn, project_id, "s1", url)
    assert source.requests == []
