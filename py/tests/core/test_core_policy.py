"""URL rules, host allow-lists and address classes — classification only, no traffic."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scene_images_core.errors import HostNotAllowed, InvalidSourceUrl
from scene_images_core.policy import (
    FetchPolicy,
    check_url,
    classify_address,
    is_address_allowed,
    parse_numeric_host,
    redact_url,
)

ANY = FetchPolicy()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("100.127.255.254", "private"),
        ("169.254.169.254", "link-local"),
        ("169.254.0.1", "link-local"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("febf:ffff::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "loopback"),
        ("::8.8.8.8", "reserved"),
        ("64:ff9b::10.0.0.1", "private"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 around 169.254.169.254
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "reserved",
        ),  # Teredo, client 192.0.2.45
        ("2001:db8::1", "reserved"),
        ("100::1", "reserved"),
        ("4000::1", "reserved"),  # outside global unicast 2000::/3
        ("8.8.8.8", "public"),
        ("1.1.1.1", "public"),
        ("93.184.216.34", "public"),
        ("172.32.0.1", "public"),
        ("2606:4700::1111", "public"),
        ("2a00:1450:4001:80b::200e", "public"),
        ("::ffff:8.8.8.8", "public"),
        ("2002:808:808::1", "public"),  # 6to4 around 8.8.8.8
    ],
)
def test_classify_address_names_the_network(address: str, kind: str) -> None:
    assert classify_address(address) == kind
    assert classify_address(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "127.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00::1"],
)
def test_is_address_allowed_refuses_private_by_default(address: str) -> None:
    assert not is_address_allowed(address, ANY)
    assert is_address_allowed(address, FetchPolicy(allow_private_networks=True))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111"])
def test_is_address_allowed_accepts_public(address: str) -> None:
    assert is_address_allowed(address, ANY)


def test_is_address_allowed_cidr_lets_in_only_that_network() -> None:
    policy = FetchPolicy(
        allow_private_networks=("127.0.0.1/32", "10.1.0.0/16", "fd00::/8")
    )
    assert is_address_allowed("127.0.0.1", policy)
    assert is_address_allowed("::ffff:127.0.0.1", policy)  # the same endpoint
    assert is_address_allowed("10.1.2.3", policy)
    assert is_address_allowed("fd00::5", policy)
    assert not is_address_allowed("127.0.0.2", policy)
    assert not is_address_allowed("10.2.0.1", policy)
    assert not is_address_allowed("169.254.169.254", policy)
    assert not is_address_allowed("2002:7f00:1::1", policy)  # 6to4 is another endpoint


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_parse_numeric_host_understands_inet_aton_forms(
    host: str, expected: str
) -> None:
    assert parse_numeric_host(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "1e100.net",
        "08.0.0.1",
        "127.0.0.256",
        "4294967296",
        "1.2.3.4.5",
        "0x1g",
        "127..1",
        "-1",
    ],
)
def test_parse_numeric_host_leaves_names_alone(host: str) -> None:
    assert parse_numeric_host(host) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_parse_numeric_host_round_trips_every_form(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    octets = address.packed
    for form in (
        str(value),
        hex(value),
        "0" + oct(value)[2:],
        ".".join(hex(b) for b in octets),
    ):
        assert parse_numeric_host(form) == address
    assert (
        parse_numeric_host(f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}")
        == address
    )


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_x",
        "ftp://example.com/a.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "//example.com/a.png",
        "example.com/a.png",
        "http://user:pass@example.com/a.png",
        "http://user@example.com/a.png",
        "http://:@example.com/a.png",
        "http:///a.png",
        "http://exa mple.com/a.png",
        "http://example.com/a b.png",
        "http://example.com\\@evil.test/",
        "http://example.com/\nHost: evil",
        "http://[::1/a.png",
        "http://example.com:99999/a.png",
        "http://example.com:0/a.png",
        "http://exa%6dple.com/a.png",
        "http://xn--/a.png",
        "",
    ],
)
def test_check_url_refuses_bad_urls(url: str) -> None:
    with pytest.raises(InvalidSourceUrl) as caught:
        check_url(url, ANY)
    assert caught.value.sqlstate == "SIU01"
    assert "pass@" not in caught.value.message


def test_check_url_refuses_overlong_url() -> None:
    url = "https://example.com/" + "a" * 2100
    with pytest.raises(InvalidSourceUrl, match="max_url_length 2048"):
        check_url(url, ANY)
    check_url(url, FetchPolicy(max_url_length=4096))


def test_check_url_parses_what_it_accepts() -> None:
    parsed = check_url("HTTPS://CDN.Example.COM.:8443/p/a.png?x=1&y=2#frag", ANY)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.target) == (
        "https",
        "cdn.example.com",
        8443,
        "/p/a.png?x=1&y=2",
    )
    assert parsed.host_header == "cdn.example.com:8443"
    assert parsed.address is None
    numeric = check_url("http://0x7f.1/", ANY)
    assert (numeric.host, numeric.address, numeric.host_header) == (
        "127.0.0.1",
        ipaddress.ip_address("127.0.0.1"),
        "127.0.0.1",
    )
    v6 = check_url("http://[::1]:8080", ANY)
    assert (v6.host, v6.target, v6.host_header) == ("::1", "/", "[::1]:8080")
    assert check_url("http://bücher.example/a.png", ANY).host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("replicate.delivery", True),
        ("REPLICATE.delivery", True),
        ("pbxt.replicate.delivery", True),
        ("a.b.c.fal.media", True),
        ("fal.media", False),  # the wildcard means subdomains only
        ("evilfal.media", False),
        ("replicate.delivery.evil.test", False),
        ("oaidalleapiprodscus.blob.core.windows.net", True),
        ("other.blob.core.windows.net", False),
        ("127.0.0.1", True),
        ("2130706433", True),  # the same address, numeric form
        ("127.0.0.2", False),
    ],
)
def test_check_url_matches_allowed_hosts(host: str, allowed: bool) -> None:
    policy = FetchPolicy(
        allowed_hosts=(
            "replicate.delivery",
            "*.replicate.delivery",
            "*.FAL.media",
            "oaidalleapiprodscus.blob.core.windows.net",
            "127.0.0.1",
        )
    )
    url = f"https://{host}/out.png"
    if allowed:
        check_url(url, policy)
    else:
        with pytest.raises(HostNotAllowed) as caught:
            check_url(url, policy)
        assert caught.value.sqlstate == "SIU02"


def test_from_settings_reads_json_lists() -> None:
    policy = FetchPolicy.from_settings(
        {
            "allowed_hosts": ["*.fal.media"],
            "allow_private_networks": ["127.0.0.1/32"],
            "max_bytes": 1000,
            "timeout_s": 2,
        }
    )
    assert policy.allowed_hosts == ("*.fal.media",)
    assert policy.allow_private_networks == ("127.0.0.1/32",)
    assert (policy.max_bytes, policy.timeout_s) == (1000, 2)
    assert FetchPolicy.from_settings({}) == FetchPolicy()


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"max_byte": 10}, "unknown fetch setting"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"max_bytes": "10"}, "max_bytes"),
        ({"max_bytes": True}, "max_bytes"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": float("inf")}, "timeout_s"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"max_pixels": 1.5}, "max_pixels"),
        ({"allow_private_networks": "yes"}, "allow_private_networks"),
        ({"allow_private_networks": ["10.0.0.0/33"]}, "not a CIDR"),
        ({"allowed_hosts": "example.com"}, "allowed_hosts"),
        ({"allowed_hosts": ["exa mple.com"]}, "allowed_hosts entry"),
        ({"allowed_hosts": [""]}, "allowed_hosts"),
    ],
)
def test_from_settings_refuses_bad_settings(
    settings: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        FetchPolicy.from_settings(settings)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:secret@example.com/a.png", "https://example.com/a.png"),
        (
            "https://bucket.s3.amazonaws.com/a.png?X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc123&X-Amz-Expires=3600",
            "https://bucket.s3.amazonaws.com/a.png?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Expires=3600",
        ),
        (
            "https://x.blob.core.windows.net/p.png?se=2024&sig=Zm9v",
            "https://x.blob.core.windows.net/p.png?se=2024&sig=REDACTED",
        ),
        (
            "https://example.com/a.png?token=t0k&w=5#frag",
            "https://example.com/a.png?token=REDACTED&w=5",
        ),
        (
            "http://[::1/a?api_key=k",
            "http://[::1/a?api_key=k",
        ),  # unparsable: still no userinfo to strip
        ("http://u:p@[::1/x", "http://[::1/x"),
    ],
)
def test_redact_url_strips_credentials(url: str, expected: str) -> None:
    assert redact_url(url) == expected


# Characters that may appear literally in userinfo (RFC 3986 unreserved, sub-delims, ":", "%").
USERINFO_CHARS = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:%", min_size=1, max_size=20)


@given(st.text(max_size=60), USERINFO_CHARS)
def test_redact_url_never_shows_the_password(path: str, password: str) -> None:
    shown = redact_url(f"https://user:{password}@example.com/{path}")
    assert f"user:{password}@" not in shown
