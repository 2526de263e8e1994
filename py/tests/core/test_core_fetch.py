"""fetch() end to end against loopback servers, and its refusals.

Non-loopback addresses only ever appear as answers of an injected resolver; those tests
prove the refusal happens before any connection (a tripwire session plus the network guard).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import requests
from loopback_http import free_port
from sources import DEADLINE_MARGIN_S, ImageSourceServer
from tls import TLS_HOSTNAME, TlsFiles

from scene_images_core.errors import (
    HostNotAllowed,
    IngestCancelled,
    InvalidSourceUrl,
    PrivateAddressRefused,
    SourceHttpError,
    SourceIncomplete,
    SourceNotAnImage,
    SourceTimeout,
    SourceTooLarge,
    SourceUnreachable,
    TooManyRedirects,
)
from scene_images_core.fetch import fetch
from scene_images_core.pipeline import prepare
from scene_images_core.policy import FetchPolicy


class Tripwire(requests.Session):
    """A session that fails the test if fetch ever tries to send a request."""

    def send(self, *args: object, **kwargs: object) -> requests.Response:
        raise AssertionError(
            "fetch tried to connect although the policy should refuse first"
        )


def resolver_for(mapping: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        return mapping[host]

    return resolve


# --- images and HTTP answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/img.jpg", "image/jpeg"),
        ("/img.png", "image/png"),
        ("/img.gif", "image/gif"),
        ("/img.webp", "image/webp"),
        ("/img.avif", "image/avif"),
        ("/minimal.avif", "image/avif"),
    ],
)
def test_fetch_downloads_images(
    source: ImageSourceServer,
    source_images: dict[str, bytes],
    loopback_policy: FetchPolicy,
    path: str,
    content_type: str,
) -> None:
    fetched = fetch(source.url(path), loopback_policy)
    assert fetched.data == source_images[path]
    assert (fetched.status, fetched.content_type, fetched.content_length) == (
        200,
        content_type,
        len(fetched.data),
    )
    assert fetched.final_url == source.url(path)
    assert fetched.redirects == ()
    assert source.paths() == [path]
    request = source.requests[0]
    assert request.headers["Host"] == f"127.0.0.1:{source.port}"
    assert request.headers["Accept-Encoding"] == "identity"


def test_prepare_sniffs_the_type_not_the_header(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    prepared = prepare(source.url("/mislabeled.png"), loopback_policy)
    assert prepared.info.content_type == "image/png"
    assert prepared.source["content_type"] == "image/jpeg"


def test_fetch_refuses_http_errors(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    with pytest.raises(SourceHttpError) as caught:
        fetch(source.url("/404?token=secret"), loopback_policy)
    assert caught.value.sqlstate == "SIF01"
    assert "404" in caught.value.message
    assert source.url("/404?token=REDACTED") in caught.value.message
    assert "secret" not in caught.value.message


@pytest.mark.parametrize(
    "path", ["/html", "/xml-error", "/polyglot.png", "/truncated.png", "/empty"]
)
def test_prepare_refuses_bodies_that_are_not_images(
    source: ImageSourceServer, loopback_policy: FetchPolicy, path: str
) -> None:
    with pytest.raises(SourceNotAnImage) as caught:
        prepare(source.url(path), loopback_policy)
    assert caught.value.message.startswith(source.url(path))


@pytest.mark.parametrize("path", ["/bomb.png", "/bomb.gif"])
def test_prepare_refuses_pixel_bombs(
    source: ImageSourceServer, loopback_policy: FetchPolicy, path: str
) -> None:
    from scene_images_core.errors import ImageTooLarge

    with pytest.raises(ImageTooLarge):
        prepare(source.url(path), loopback_policy)


def test_fetch_refuses_content_length_over_max_bytes(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    with pytest.raises(
        SourceTooLarge, match="Content-Length 2097152 is over max_bytes 1048576"
    ):
        fetch(source.url("/big"), loopback_policy)


def test_fetch_stops_streaming_at_max_bytes_without_content_length(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    with pytest.raises(SourceTooLarge, match="body is over max_bytes 1048576"):
        fetch(source.url("/big-no-length"), loopback_policy)


def test_fetch_reads_bodies_without_content_length(source: ImageSourceServer) -> None:
    policy = FetchPolicy(
        allow_private_networks=("127.0.0.1/32",), max_bytes=4 * 1024 * 1024
    )
    fetched = fetch(source.url("/big-no-length"), policy)
    assert len(fetched.data) == 2 * 1024 * 1024
    assert fetched.content_length is None


def test_fetch_detects_a_lying_content_length(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    with pytest.raises(SourceIncomplete) as caught:
        fetch(source.url("/lying-length"), loopback_policy)
    assert caught.value.sqlstate == "SIF05"


def test_fetch_gives_up_on_a_trickling_body_at_the_deadline(
    source: ImageSourceServer,
) -> None:
    # /trickle sends a byte at a time for sources.STALL_S: every read succeeds, only the total
    # deadline ends it.
    policy = FetchPolicy(allow_private_networks=("127.0.0.1/32",), timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(SourceTimeout, match="timeout_s 1.0"):
        fetch(source.url("/trickle"), policy)
    assert time.monotonic() - started < policy.timeout_s + DEADLINE_MARGIN_S


def test_fetch_gives_up_on_a_silent_server_at_the_deadline(
    source: ImageSourceServer,
) -> None:
    policy = FetchPolicy(allow_private_networks=("127.0.0.1/32",), timeout_s=0.8)
    started = time.monotonic()
    with pytest.raises(SourceTimeout):
        fetch(source.url("/silent"), policy)
    assert time.monotonic() - started < policy.timeout_s + DEADLINE_MARGIN_S


def test_fetch_refuses_encoded_bodies(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    source.body(
        "/gzipped",
        b"\x1f\x8b\x08\x00",
        "image/png",
        headers={"Content-Encoding": "gzip"},
    )
    with pytest.raises(SourceNotAnImage, match="gzip-encoded"):
        fetch(source.url("/gzipped"), loopback_policy)


# --- cancel and unreachable ---------------------------------------------------------------


def test_fetch_honours_a_cancel_set_before(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(IngestCancelled) as caught:
        fetch(source.url("/img.png"), loopback_policy, cancel=cancel)
    assert caught.value.sqlstate == "SIC01"
    assert source.paths() == []


# Only the cancel can end these early: the policy's deadline is a minute away (and would raise
# SourceTimeout), the stalls last sources.STALL_S.
PATIENT_POLICY = FetchPolicy(allow_private_networks=("127.0.0.1/32",), timeout_s=60.0)


def cancel_later(delay_s: float) -> tuple[threading.Event, list[float]]:
    """An event a timer sets after delay_s, and the list that then holds when it was set."""
    cancel, set_at = threading.Event(), []

    def fire() -> None:
        set_at.append(time.monotonic())
        cancel.set()

    threading.Timer(delay_s, fire).start()
    return cancel, set_at


def test_fetch_stops_promptly_when_cancelled_mid_body(source: ImageSourceServer) -> None:
    cancel, set_at = cancel_later(0.3)
    with pytest.raises(IngestCancelled):
        fetch(source.url("/trickle"), PATIENT_POLICY, cancel=cancel)
    assert time.monotonic() - set_at[0] < DEADLINE_MARGIN_S


def test_fetch_stops_promptly_when_cancelled_waiting_for_headers(source: ImageSourceServer) -> None:
    cancel, set_at = cancel_later(0.3)
    with pytest.raises(IngestCancelled):
        fetch(source.url("/silent"), PATIENT_POLICY, cancel=cancel)
    assert time.monotonic() - set_at[0] < DEADLINE_MARGIN_S


def test_fetch_reports_connection_refused(loopback_policy: FetchPolicy) -> None:
    with pytest.raises(SourceUnreachable, match="Connection refused") as caught:
        fetch(f"http://127.0.0.1:{free_port()}/img.png", loopback_policy)
    assert caught.value.sqlstate == "SIF04"


def test_fetch_reports_dns_failure(loopback_policy: FetchPolicy) -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(
        SourceUnreachable, match="cannot resolve host 'gone.generator.test'"
    ):
        fetch("http://gone.generator.test/img.png", loopback_policy, resolver=failing)


def test_fetch_tries_the_next_address_when_one_refuses(
    source: ImageSourceServer,
) -> None:
    policy = FetchPolicy(allow_private_networks=("127.0.0.0/8",))
    resolve = resolver_for(
        {"cdn.generator.test": ["127.0.0.3", "127.0.0.1"]}
    )  # nothing on 127.0.0.3
    fetched = fetch(
        f"http://cdn.generator.test:{source.port}/img.png", policy, resolver=resolve
    )
    assert fetched.status == 200


# --- redirects ----------------------------------------------------------------------------


def test_fetch_follows_redirects_within_the_limit(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    fetched = fetch(source.url("/redirect/3"), loopback_policy)
    assert fetched.final_url == source.url("/img.png")
    assert fetched.redirects == (
        source.url("/redirect/2"),
        source.url("/redirect/1"),
        source.url("/img.png"),
    )
    assert source.paths() == ["/redirect/3", "/redirect/2", "/redirect/1", "/img.png"]


def test_fetch_refuses_redirects_over_the_limit(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    with pytest.raises(TooManyRedirects, match="max_redirects") as caught:
        fetch(source.url("/redirect/4"), loopback_policy)
    assert caught.value.sqlstate == "SIU04"
    assert "/img.png" not in source.paths()


def test_fetch_refuses_any_redirect_when_max_redirects_is_zero(
    source: ImageSourceServer,
) -> None:
    policy = FetchPolicy(allow_private_networks=("127.0.0.1/32",), max_redirects=0)
    with pytest.raises(TooManyRedirects):
        fetch(source.url("/redirect/1"), policy)


def test_fetch_refuses_redirect_loops(source: ImageSourceServer) -> None:
    policy = FetchPolicy(allow_private_networks=("127.0.0.1/32",), max_redirects=10)
    with pytest.raises(TooManyRedirects, match="loop"):
        fetch(source.url("/loop-a"), policy)
    assert source.paths() == ["/loop-a", "/loop-b"]


def test_fetch_refuses_redirect_without_location(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    source.body("/no-location", b"", None, status=302)
    with pytest.raises(SourceHttpError, match="without a Location"):
        fetch(source.url("/no-location"), loopback_policy)


def test_fetch_rechecks_the_address_of_each_hop(
    source: ImageSourceServer,
    other_loopback: ImageSourceServer,
    loopback_policy: FetchPolicy,
) -> None:
    source.redirect("/to-other", other_loopback.url("/img.png"))
    with pytest.raises(
        PrivateAddressRefused, match=r"127\.0\.0\.2 \(loopback\)"
    ) as caught:
        fetch(source.url("/to-other"), loopback_policy)
    assert caught.value.sqlstate == "SIU03"
    assert source.paths() == ["/to-other"]
    assert other_loopback.requests == []


def test_fetch_rechecks_resolved_names_of_each_hop(
    source: ImageSourceServer,
    other_loopback: ImageSourceServer,
    loopback_policy: FetchPolicy,
) -> None:
    resolve = resolver_for(
        {"cdn.generator.test": ["127.0.0.1"], "internal.generator.test": ["127.0.0.2"]}
    )
    source.redirect(
        "/to-internal", f"http://internal.generator.test:{other_loopback.port}/img.png"
    )
    source.redirect("/to-other-ip", other_loopback.url("/img.png"))
    for path in ("/to-internal", "/to-other-ip"):
        with pytest.raises(PrivateAddressRefused):
            fetch(
                f"http://cdn.generator.test:{source.port}{path}",
                loopback_policy,
                resolver=resolve,
            )
    assert source.paths() == ["/to-internal", "/to-other-ip"]
    assert source.requests[0].headers["Host"] == f"cdn.generator.test:{source.port}"
    assert other_loopback.requests == []


def test_fetch_rechecks_allowed_hosts_of_each_hop(source: ImageSourceServer) -> None:
    policy = FetchPolicy(
        allowed_hosts=("cdn.generator.test",), allow_private_networks=("127.0.0.1/32",)
    )
    resolve = resolver_for({"cdn.generator.test": ["127.0.0.1"]})
    source.redirect("/to-ip", source.url("/img.png"))
    with pytest.raises(HostNotAllowed):
        fetch(
            f"http://cdn.generator.test:{source.port}/to-ip", policy, resolver=resolve
        )
    assert source.paths() == ["/to-ip"]


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "gopher://127.0.0.1:70/_", "http://user:pw@127.0.0.1/"],
)
def test_fetch_rechecks_url_rules_of_each_hop(
    source: ImageSourceServer, loopback_policy: FetchPolicy, location: str
) -> None:
    source.redirect("/to-bad", location)
    with pytest.raises(InvalidSourceUrl) as caught:
        fetch(source.url("/to-bad"), loopback_policy)
    assert "pw@" not in caught.value.message


def test_fetch_resolves_relative_redirects_against_the_name_not_the_ip(
    source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    source.redirect("/relative", "img.png#fragment")
    resolve = resolver_for({"cdn.generator.test": ["127.0.0.1"]})
    fetched = fetch(
        f"http://cdn.generator.test:{source.port}/relative",
        loopback_policy,
        resolver=resolve,
    )
    assert fetched.final_url == f"http://cdn.generator.test:{source.port}/img.png"
    assert source.requests[1].headers["Host"] == f"cdn.generator.test:{source.port}"


# --- address policy ----------------------------------------------------------------------


def test_fetch_refuses_loopback_unless_allowed(source: ImageSourceServer) -> None:
    with pytest.raises(PrivateAddressRefused, match="loopback"):
        fetch(source.url("/img.png"), FetchPolicy())
    assert source.requests == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1"])
def test_fetch_classifies_numeric_hosts_without_dns(
    source: ImageSourceServer, host: str
) -> None:
    with pytest.raises(PrivateAddressRefused):
        fetch(
            f"http://{host}:{source.port}/img.png",
            FetchPolicy(),
            session_factory=Tripwire,
        )
    assert source.requests == []
    # Allowed by CIDR, the same forms reach 127.0.0.1 itself.
    fetched = fetch(
        f"http://{host}:{source.port}/img.png",
        FetchPolicy(allow_private_networks=("127.0.0.1/32",)),
    )
    assert fetched.status == 200


@pytest.mark.parametrize(
    "addresses",
    [
        ["169.254.169.254"],
        ["10.0.0.7"],
        ["192.168.1.1"],
        ["fd00::1"],
        ["::ffff:169.254.169.254"],
        ["93.184.216.34", "10.0.0.7"],  # one bad answer is enough: DNS may hand out any
    ],
)
def test_fetch_refuses_private_answers_before_connecting(addresses: list[str]) -> None:
    resolve = resolver_for({"cdn.generator.test": addresses})
    with pytest.raises(PrivateAddressRefused):
        fetch(
            "https://cdn.generator.test/out.png",
            FetchPolicy(),
            resolver=resolve,
            session_factory=Tripwire,
        )


def test_fetch_connects_only_to_the_checked_address(source: ImageSourceServer) -> None:
    # A rebinding resolver answers differently on every call; fetch resolves once per hop
    # and connects to exactly that answer.
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    fetched = fetch(
        f"http://cdn.generator.test:{source.port}/img.png",
        FetchPolicy(allow_private_networks=("127.0.0.1/32",)),
        resolver=lambda host, port: next(answers),
    )
    assert fetched.status == 200


def test_fetch_over_ipv6_loopback(source_images: dict[str, bytes]) -> None:
    with ImageSourceServer("::1") as server:
        server.body("/img.png", source_images["/img.png"])
        with pytest.raises(PrivateAddressRefused):
            fetch(server.url("/img.png"), FetchPolicy())
        fetched = fetch(
            server.url("/img.png"), FetchPolicy(allow_private_networks=("::1/128",))
        )
        assert fetched.data == source_images["/img.png"]
        assert server.requests[0].headers["Host"] == f"[::1]:{server.port}"


# --- TLS pinned to the checked IP --------------------------------------------------------


def trusting(tls_files: TlsFiles) -> Callable[[], requests.Session]:
    def factory() -> requests.Session:
        session = requests.Session()
        session.verify = tls_files.ca_file
        return session

    return factory


def test_fetch_https_verifies_the_real_name_while_pinned(
    tls_source: ImageSourceServer,
    tls_files: TlsFiles,
    loopback_policy: FetchPolicy,
    source_images: dict[str, bytes],
) -> None:
    resolve = resolver_for({TLS_HOSTNAME: ["127.0.0.1"]})
    url = f"https://{TLS_HOSTNAME}:{tls_source.port}/img.webp"
    fetched = fetch(
        url, loopback_policy, resolver=resolve, session_factory=trusting(tls_files)
    )
    assert fetched.final_url == url
    assert len(fetched.data) > 0
    assert tls_source.sni_names == [TLS_HOSTNAME]
    assert tls_source.requests[0].headers["Host"] == f"{TLS_HOSTNAME}:{tls_source.port}"


def test_fetch_https_refuses_a_certificate_for_another_name(
    tls_source: ImageSourceServer, tls_files: TlsFiles, loopback_policy: FetchPolicy
) -> None:
    resolve = resolver_for({"other.generator.test": ["127.0.0.1"]})
    with pytest.raises(SourceUnreachable, match="TLS"):
        fetch(
            f"https://other.generator.test:{tls_source.port}/img.png",
            loopback_policy,
            resolver=resolve,
            session_factory=trusting(tls_files),
        )
    assert tls_source.requests == []


def test_fetch_https_refuses_an_untrusted_certificate(
    tls_source: ImageSourceServer, loopback_policy: FetchPolicy
) -> None:
    resolve = resolver_for({TLS_HOSTNAME: ["127.0.0.1"]})
    with pytest.raises(SourceUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(
            f"https://{TLS_HOSTNAME}:{tls_source.port}/img.png",
            loopback_policy,
            resolver=resolve,
        )
    assert tls_source.requests == []
