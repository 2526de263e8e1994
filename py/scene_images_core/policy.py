"""What a source URL may be and where it may lead: URL rules, host allow-list, address classes.

The SSRF defence has two halves: `check_url` refuses bad URLs and hosts before any lookup, and
`is_address_allowed` refuses every resolved address that is not public unless the policy lets
that network in. `fetch` applies both on every redirect hop and connects only to checked IPs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import HostNotAllowed, InvalidSourceUrl
from .redact import redact_url

__all__ = [
    "AddressClass",
    "FetchPolicy",
    "IPAddress",
    "ParsedUrl",
    "check_url",
    "classify_address",
    "is_address_allowed",
    "parse_numeric_host",
    "redact_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressClass = Literal[
    "public",
    "unspecified",
    "loopback",
    "private",
    "link-local",
    "multicast",
    "reserved",
]

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?")
_HEX_PART = re.compile(r"0[xX][0-9a-fA-F]*")
_OCTAL_PART = re.compile(r"0[0-7]+")
_DECIMAL_PART = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one download. Hosts are normalised (lower case, IDNA, no trailing dot)."""

    # Exact names or "*.example.com" (subdomains only); empty = any host.
    allowed_hosts: tuple[str, ...] = ()
    # True lets every non-public address in; CIDR strings let in only those networks.
    allow_private_networks: bool | tuple[str, ...] = False
    max_bytes: int = 25 * 1024 * 1024
    timeout_s: float = 30.0
    max_redirects: int = 3
    max_pixels: int = 100_000_000
    max_url_length: int = 2048

    def __post_init__(self) -> None:
        if not isinstance(self.allowed_hosts, tuple):
            raise ValueError("allowed_hosts must be a list of host names")  # noqa: TRY004 - settings errors are ValueError
        object.__setattr__(
            self,
            "allowed_hosts",
            tuple(_normalise_pattern(h) for h in self.allowed_hosts),
        )
        private = self.allow_private_networks
        if not isinstance(private, bool):
            if not isinstance(private, tuple):
                message = (
                    "allow_private_networks must be true, false or a list of CIDRs"
                )
                raise ValueError(message)  # noqa: TRY004 - settings errors are ValueError
            _networks(tuple(_cidr(c) for c in private))
        for name, minimum in (
            ("max_bytes", 1),
            ("max_redirects", 0),
            ("max_pixels", 1),
            ("max_url_length", 16),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"{name} must be an integer >= {minimum}, got {value!r}"
                )
        timeout = self.timeout_s
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout < math.inf
        ):
            raise ValueError(
                f"timeout_s must be a positive number of seconds, got {timeout!r}"
            )

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> FetchPolicy:
        """A policy from JSON-like settings (lists for tuples). Unknown keys are an error,
        so a misspelt limit never silently falls back to the default."""
        if not isinstance(settings, dict):
            raise ValueError("fetch settings must be a JSON object")  # noqa: TRY004
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(
                f"unknown fetch setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values = dict(settings)
        if isinstance(values.get("allowed_hosts"), list):
            values["allowed_hosts"] = tuple(values["allowed_hosts"])
        if isinstance(values.get("allow_private_networks"), list):
            values["allow_private_networks"] = tuple(values["allow_private_networks"])
        return cls(**values)


@dataclass(frozen=True)
class ParsedUrl:
    """A URL that passed `check_url`. `host` is normalised; for numeric hosts it is the
    canonical IP and `address` is set, so no DNS lookup is needed."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    address: IPAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"
        )


def check_url(url: str, policy: FetchPolicy) -> ParsedUrl:
    """Refuse anything but a plain http(s) URL to an allowed host (InvalidSourceUrl,
    HostNotAllowed). Addresses are checked later, after resolution."""
    if not isinstance(url, str) or not url:
        raise InvalidSourceUrl(
            "the source URL must be a non-empty string", url=str(url)
        )
    if len(url) > policy.max_url_length:
        raise InvalidSourceUrl(
            f"URL is {len(url)} characters long, over max_url_length {policy.max_url_length}",
            url=url,
        )
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        raise InvalidSourceUrl(
            "URL contains whitespace, control characters or a backslash", url=url
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidSourceUrl(f"URL cannot be parsed: {exc}", url=url) from None
    if parts.scheme not in DEFAULT_PORTS:
        raise InvalidSourceUrl(
            f"scheme {parts.scheme or '(none)'!r} refused; only http and https", url=url
        )
    if "@" in parts.netloc:
        raise InvalidSourceUrl("credentials in the URL are refused", url=url)
    if not parts.hostname:
        raise InvalidSourceUrl("URL has no host", url=url)
    if port == 0:
        raise InvalidSourceUrl("port 0 is not a valid port", url=url)
    address = parse_numeric_host(parts.hostname)
    host = str(address) if address is not None else _normalise_host(parts.hostname, url)
    if policy.allowed_hosts and not _host_allowed(host, policy.allowed_hosts):
        raise HostNotAllowed(f"host {host!r} is not in allowed_hosts", url=url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return ParsedUrl(
        url, parts.scheme, host, port or DEFAULT_PORTS[parts.scheme], target, address
    )


def parse_numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host denotes, or None for a name. Understands IPv6 (bracketed or
    not) and every inet_aton form resolvers accept: 2130706433, 0177.0.0.1, 0x7f.0.0.1, 127.1,
    plus one trailing dot, so such hosts are classified without DNS."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    parts = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_inet_aton_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for i, n in enumerate(head):
        value |= n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def classify_address(ip: str | IPAddress) -> AddressClass:
    """The kind of network an address belongs to; only 'public' is reachable by default.
    IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are
    classified by that IPv4 address, so ::ffff:127.0.0.1 is loopback."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(address, ipaddress.IPv4Address):
        return _lookup(address, _V4_CLASSES) or "public"
    return _classify_v6(address)


def is_address_allowed(ip: str | IPAddress, policy: FetchPolicy) -> bool:
    """Public addresses always; others only when the policy allows all private networks or
    one of its CIDRs contains the address (an IPv4-mapped IPv6 address counts as its IPv4)."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    allowed = policy.allow_private_networks
    if classify_address(address) == "public" or allowed is True:
        return True
    if isinstance(allowed, bool):
        return False
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(
        c.version == net.version and c in net
        for c in candidates
        for net in _networks(allowed)
    )


def _classify_v6(address: ipaddress.IPv6Address) -> AddressClass:
    embedded = _embedded_v4(address)
    if embedded is not None:
        kind = classify_address(embedded)
        # ::a.b.c.d (IPv4-compatible) is deprecated: nothing legitimate lives there.
        if kind == "public" and address in _V4_COMPATIBLE:
            return "reserved"
        return kind
    found = _lookup(address, _V6_CLASSES)
    if found is not None:
        return found
    return "public" if address in _V6_GLOBAL_UNICAST else "reserved"


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _V4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's (de-obfuscated) address
    return None


def _lookup(
    address: IPAddress, table: list[tuple[Any, AddressClass]]
) -> AddressClass | None:
    for network, kind in table:
        if address in network:
            return kind
    return None


def _table(rows: list[tuple[str, AddressClass]]) -> list[tuple[Any, AddressClass]]:
    return [(ipaddress.ip_network(cidr), kind) for cidr, kind in rows]


# IANA special-purpose registries, reduced to what matters for "may we connect there".
_V4_CLASSES = _table(
    [
        (
            "0.0.0.0/8",
            "unspecified",
        ),  # "this network"; 0.0.0.0 reaches the local host on Linux
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "private"),  # carrier-grade NAT shared space
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),  # includes cloud metadata 169.254.169.254
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "reserved"),
        ("203.0.113.0/24", "reserved"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # includes the broadcast address
    ]
)
_V6_CLASSES = _table(
    [
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),  # local-use NAT64
        ("100::/64", "reserved"),  # discard-only
        (
            "2001::/23",
            "reserved",
        ),  # IETF protocol assignments (Teredo is handled as embedded IPv4)
        ("2001:db8::/32", "reserved"),  # documentation
        ("3fff::/20", "reserved"),  # documentation (RFC 9637)
        ("fc00::/7", "private"),  # unique local
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # deprecated site-local
        ("ff00::/8", "multicast"),
    ]
)
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _inet_aton_part(part: str) -> int | None:
    if _HEX_PART.fullmatch(part):
        return int(part[2:] or "0", 16)
    if _OCTAL_PART.fullmatch(part):
        return int(part, 8)
    if _DECIMAL_PART.fullmatch(part):
        return int(part, 10)
    return None


def _normalise_host(host: str, url: str) -> str:
    host = host.lower().removesuffix(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidSourceUrl(
                "host is not a valid internationalised domain name", url=url
            ) from None
    if not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise InvalidSourceUrl(
            f"host {host!r} has characters not allowed in a host name", url=url
        )
    return host


def _normalise_pattern(pattern: object) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"allowed_hosts entries must be host names, got {pattern!r}")
    wildcard = pattern.startswith("*.")
    name = pattern[2:] if wildcard else pattern
    address = parse_numeric_host(name)
    if address is not None and not wildcard:
        return str(address)
    try:
        normal = _normalise_host(name, name)
    except InvalidSourceUrl:
        raise ValueError(
            f"allowed_hosts entry {pattern!r} is not a host name or *.domain pattern"
        ) from None
    return f"*.{normal}" if wildcard else normal


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    # "*.example.com" matches any depth of subdomain, not example.com itself.
    return any(
        host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in allowed
    )


def _cidr(value: object) -> str:
    if not isinstance(value, str):
        message = f"allow_private_networks entries must be CIDR strings, got {value!r}"
        raise ValueError(message)  # noqa: TRY004
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"allow_private_networks entry {value!r} is not a CIDR network"
        ) from None
    return value


@lru_cache(maxsize=64)
def _networks(
    cidrs: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
