"""Download a source image under a FetchPolicy.

Redirects are followed here, not by requests, so every hop goes through the same checks:
URL rules, allowed_hosts, DNS resolution, and the address policy for ALL resolved addresses.
The request then goes to the exact IP that was checked (the URL names the IP literal, the Host
header the real name, and TLS verifies the real name), so a DNS answer that changes between
check and connect (rebinding) cannot redirect us. A guard thread enforces the total deadline
and the cancel event by shutting the socket down, so a silent or trickling server cannot hold
a worker past timeout_s.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urldefrag, urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .errors import (
    IngestCancelled,
    PrivateAddressRefused,
    SourceHttpError,
    SourceIncomplete,
    SourceNotAnImage,
    SourceTimeout,
    SourceTooLarge,
    SourceUnreachable,
    TooManyRedirects,
)
from .policy import (
    FetchPolicy,
    IPAddress,
    ParsedUrl,
    check_url,
    classify_address,
    is_address_allowed,
)

CHUNK_SIZE = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "scene-images/0.1"
ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"

Resolver = Callable[[str, int], list[str]]
SessionFactory = Callable[[], requests.Session]
# Called with the bytes the body may take (Content-Length, else max_bytes) before it is read;
# may block (a bulk call's byte budget). The wait does not count against timeout_s.
BeforeBody = Callable[[int], None]


@dataclass(frozen=True)
class Fetched:
    data: bytes
    final_url: str
    status: int
    content_type: str | None  # the header as sent; never trusted for the stored type
    content_length: int | None
    redirects: tuple[str, ...]  # each URL redirected to, in order


def resolve_host(host: str, port: int) -> list[str]:
    """The default resolver: every address getaddrinfo gives, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    resolver: Resolver | None = None,
    cancel: threading.Event | None = None,
    session_factory: SessionFactory | None = None,
    before_body: BeforeBody | None = None,
) -> Fetched:
    """GET `url` within `policy`. `resolver(host, port)` returns IP strings (default: DNS);
    `cancel` stops the download when set; `session_factory` returns a fresh requests.Session
    (tests use it to trust a CA) — fetch mounts its own adapters on it and disables trust_env.
    `before_body(n)` runs once the final response's headers are in and before its body is
    read, n being the most bytes the body may take (its Content-Length, else max_bytes); the
    time it blocks is not counted against timeout_s (not called for a body announced over
    max_bytes, which is refused at once). Raises the IngestError subclasses documented in
    errors.py."""
    deadline = time.monotonic() + policy.timeout_s
    redirects: list[str] = []
    current = url
    while True:
        _check_cancel(cancel, current)
        target = check_url(current, policy)
        addresses = _checked_addresses(target, policy, resolver or resolve_host)
        with (
            _Guard(deadline, cancel) as guard,
            _hop_session(session_factory or requests.Session, target, guard) as session,
        ):
            response = _request(session, target, addresses, deadline, guard, policy)
            with response:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    current = _next_hop(response, current, [url, *redirects], policy)
                    redirects.append(current)
                    continue
                if not 200 <= status < 300:
                    raise SourceHttpError(
                        f"HTTP status {status} {response.reason or ''}".rstrip(),
                        url=current,
                    )
                declared = _content_length(response)
                if before_body is not None and (
                    declared is None or declared <= policy.max_bytes
                ):
                    with guard.paused():
                        before_body(policy.max_bytes if declared is None else declared)
                    deadline = guard.deadline
                data = _read_body(
                    response, declared, policy, deadline, cancel, guard, current
                )
                return Fetched(
                    data,
                    current,
                    status,
                    response.headers.get("Content-Type"),
                    declared,
                    tuple(redirects),
                )


def _checked_addresses(
    target: ParsedUrl, policy: FetchPolicy, resolver: Resolver
) -> list[IPAddress]:
    if target.address is not None:
        addresses = [target.address]
    else:
        try:
            names = resolver(target.host, target.port)
            addresses = [ipaddress.ip_address(n) for n in names]
        except (OSError, UnicodeError) as exc:
            raise SourceUnreachable(
                f"cannot resolve host {target.host!r}: {exc}", url=target.url
            ) from None
        except ValueError:
            raise SourceUnreachable(
                f"resolver gave a non-address for {target.host!r}", url=target.url
            ) from None
        if not addresses:
            raise SourceUnreachable(
                f"host {target.host!r} resolves to no address", url=target.url
            )
    # One refused address refuses the host: the next lookup may return any of them.
    for address in addresses:
        if not is_address_allowed(address, policy):
            kind = classify_address(address)
            raise PrivateAddressRefused(
                f"host {target.host!r} resolves to {address} ({kind}), which the fetch policy refuses",
                url=target.url,
            )
    return addresses


def _request(
    session: requests.Session,
    target: ParsedUrl,
    addresses: list[IPAddress],
    deadline: float,
    guard: _Guard,
    policy: FetchPolicy,
) -> requests.Response:
    """Send the GET to the first address that accepts a connection."""
    headers = {
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Accept": ACCEPT,
        "Accept-Encoding": "identity",
    }
    failure, timed_out = "no address", False
    for address in addresses:
        remaining = _remaining(deadline, policy, target.url)
        try:
            return session.get(
                _pinned_url(target, address),
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(min(CONNECT_TIMEOUT_S, remaining), remaining),
            )
        except requests.exceptions.SSLError as exc:
            guard.raise_if_tripped(target.url, policy)
            raise SourceUnreachable(
                f"TLS with {target.host!r} at {address} failed: {_cause(exc)}",
                url=target.url,
            ) from None
        except requests.exceptions.ConnectionError as exc:
            guard.raise_if_tripped(target.url, policy)
            if not _is_connect_failure(exc):
                raise SourceUnreachable(
                    f"{address} dropped the connection: {_cause(exc)}", url=target.url
                ) from None
            failure = (
                f"connecting to {address} port {target.port} failed: {_cause(exc)}"
            )
            timed_out = isinstance(exc, requests.exceptions.ConnectTimeout)
        except requests.exceptions.Timeout:
            guard.raise_if_tripped(target.url, policy)
            raise SourceTimeout(
                f"{address} sent no response headers in time", url=target.url
            ) from None
        except requests.RequestException as exc:
            guard.raise_if_tripped(target.url, policy)
            raise SourceUnreachable(
                f"request to {address} failed: {_cause(exc)}", url=target.url
            ) from None
    if timed_out or time.monotonic() >= deadline:
        raise SourceTimeout(failure, url=target.url)
    raise SourceUnreachable(failure, url=target.url)


def _next_hop(
    response: requests.Response, current: str, visited: list[str], policy: FetchPolicy
) -> str:
    location = response.headers.get("Location")
    if not location:
        raise SourceHttpError(
            f"HTTP status {response.status_code} redirect without a Location header",
            url=current,
        )
    # http.client decodes headers as latin-1; servers send UTF-8 (as requests assumes too).
    location = location.encode("latin-1", "replace").decode("utf-8", "replace")
    # Relative to the URL as the client sees it, not to the pinned IP.
    nxt = urldefrag(urljoin(current, location)).url
    if nxt in visited:
        raise TooManyRedirects(
            f"redirect loop: {current} redirects back to {nxt}", url=current
        )
    if len(visited) > policy.max_redirects:
        raise TooManyRedirects(
            f"more than max_redirects ({policy.max_redirects}) redirects", url=current
        )
    return nxt


def _read_body(
    response: requests.Response,
    declared: int | None,
    policy: FetchPolicy,
    deadline: float,
    cancel: threading.Event | None,
    guard: _Guard,
    url: str,
) -> bytes:
    """The body, never more than max_bytes + one chunk in memory.

    With a Content-Length (checked against max_bytes first) the body is read by one call,
    which the socket fills straight into the bytes object returned: one image-sized buffer
    and no copy, where growing a buffer chunk by chunk and copying it out takes a second
    image-sized buffer and two more passes over the bytes. The guard still ends that read at
    the deadline or on cancel by shutting the socket down. Without a Content-Length, chunks
    are collected and joined once."""
    if declared is not None and declared > policy.max_bytes:
        raise SourceTooLarge(
            f"Content-Length {declared} is over max_bytes {policy.max_bytes}", url=url
        )
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise SourceNotAnImage(
            f"body is {encoding}-encoded although identity was requested", url=url
        )
    chunks: list[bytes] = []
    received = 0
    try:
        while True:
            _check_cancel(cancel, url)
            _remaining(deadline, policy, url)
            wanted = CHUNK_SIZE if declared is None else declared - received
            if wanted == 0:
                break
            chunk = response.raw.read(wanted, decode_content=False)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            if received > policy.max_bytes:
                raise SourceTooLarge(
                    f"body is over max_bytes {policy.max_bytes}", url=url
                )
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
        guard.raise_if_tripped(url, policy)
        # A failed one-piece read does not tell how much of it had arrived.
        got = (
            f"{received} bytes"
            if declared is None
            else f"fewer than the {declared} bytes Content-Length announced"
        )
        if isinstance(exc, (TimeoutError, urllib3.exceptions.ReadTimeoutError)):
            raise SourceTimeout(f"read timed out after {got}", url=url) from None
        raise SourceIncomplete(
            f"connection cut after {got}: {_cause(exc)}", url=url
        ) from None
    guard.raise_if_tripped(url, policy)
    if declared is not None and received < declared:
        raise SourceIncomplete(
            f"got {received} of the {declared} bytes Content-Length announced", url=url
        )
    # One piece (the usual case) is returned as it is: join would copy it.
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _remaining(deadline: float, policy: FetchPolicy, url: str) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SourceTimeout(
            f"download took longer than timeout_s {policy.timeout_s}", url=url
        )
    return remaining


def _check_cancel(cancel: threading.Event | None, url: str) -> None:
    if cancel is not None and cancel.is_set():
        raise IngestCancelled("download cancelled", url=url)


def _pinned_url(target: ParsedUrl, address: IPAddress) -> str:
    literal = (
        f"[{str(address).replace('%', '%25')}]"
        if address.version == 6
        else str(address)
    )
    return f"{target.scheme}://{literal}:{target.port}{target.target}"


def _is_connect_failure(exc: requests.exceptions.ConnectionError) -> bool:
    """True when no connection was made (refused, unreachable, connect timeout), so another
    address may be tried; False when the server dropped an established connection."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)


def _cause(exc: BaseException) -> str:
    """The innermost OS/TLS error text; never str() of requests' wrappers, which embed URLs."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(
            current, requests.RequestException
        ):
            return current.strerror or str(current) or type(current).__name__
        pending.extend(
            e
            for e in (
                getattr(current, "reason", None),
                current.__cause__,
                current.__context__,
            )
            if isinstance(e, BaseException)
        )
        pending.extend(a for a in current.args if isinstance(a, BaseException))
    return type(exc).__name__


class _Guard:
    """Shuts the hop's sockets down once the deadline passes or `cancel` is set, so a blocked
    read returns at once; `raise_if_tripped` then turns the resulting I/O error into the
    right IngestError."""

    POLL_S = 0.05

    def __init__(self, deadline: float, cancel: threading.Event | None) -> None:
        self._deadline = deadline
        self._paused_at: float | None = None
        self._cancel = cancel
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.tripped: str | None = None
        self._thread = threading.Thread(
            target=self._watch, name="scene-images-fetch-guard", daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def attach(self, sock: object) -> None:
        if not isinstance(sock, socket.socket):
            return  # not a socket we know how to interrupt; the read timeout still applies
        with self._lock:
            self._sockets.append(sock)
            tripped = self.tripped
        if tripped:
            _shutdown(sock)

    @property
    def deadline(self) -> float:
        with self._lock:
            return self._deadline

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The deadline does not run inside this block (waiting for our own resources is not
        the source's time); it is moved on by the time spent. Cancel still trips."""
        with self._lock:
            self._paused_at = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                assert self._paused_at is not None
                self._deadline += time.monotonic() - self._paused_at
                self._paused_at = None

    def raise_if_tripped(self, url: str, policy: FetchPolicy) -> None:
        if self.tripped == "cancel":
            raise IngestCancelled("download cancelled", url=url)
        if self.tripped == "deadline":
            raise SourceTimeout(
                f"download took longer than timeout_s {policy.timeout_s}", url=url
            )

    def _watch(self) -> None:
        while True:
            with self._lock:
                paused = self._paused_at is not None
                remaining = self._deadline - time.monotonic()
            if paused or self._cancel is not None:
                wait = self.POLL_S if paused else min(self.POLL_S, remaining)
            else:
                wait = remaining
            if self._done.wait(max(wait, 0)):
                return
            with self._lock:
                expired = (
                    self._paused_at is None and time.monotonic() >= self._deadline
                )
            if self._cancel is not None and self._cancel.is_set():
                reason = "cancel"
            elif expired:
                reason = "deadline"
            else:
                continue
            with self._lock:
                self.tripped = reason
                sockets = list(self._sockets)
            for sock in sockets:
                _shutdown(sock)
            return


def _shutdown(sock: socket.socket) -> None:
    try:
        # The plain socket method: SSLSocket.shutdown would also drop its TLS state, which
        # the reading thread may be using at this moment.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


@contextmanager
def _hop_session(
    factory: SessionFactory, target: ParsedUrl, guard: _Guard
) -> Iterator[requests.Session]:
    session = factory()
    # Environment proxies would bypass the pin; .netrc would add credentials.
    session.trust_env = False
    tls_hostname = (
        target.host if target.scheme == "https" and target.address is None else None
    )
    session.mount(f"{target.scheme}://", _PinnedAdapter(guard, tls_hostname))
    try:
        yield session
    finally:
        session.close()


class _PinnedAdapter(HTTPAdapter):
    """Registers each new connection's socket with the guard and, for https to a name,
    sends that name as SNI and verifies the certificate against it although the URL names
    the pinned IP. `server_hostname`/`assert_hostname` pool keywords exist in urllib3 1.26
    and 2.x alike."""

    def __init__(self, guard: _Guard, tls_hostname: str | None) -> None:
        self._guard = guard
        self._tls_hostname = tls_hostname
        super().__init__(max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        if self._tls_hostname is not None:
            pool_kwargs.update(
                server_hostname=self._tls_hostname, assert_hostname=self._tls_hostname
            )
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _guarded_pool(HTTPConnectionPool, self._guard),
            "https": _guarded_pool(HTTPSConnectionPool, self._guard),
        }


def _guarded_pool(
    pool_cls: type[HTTPConnectionPool], guard: _Guard
) -> type[HTTPConnectionPool]:
    base: Any = pool_cls.ConnectionCls

    class GuardedConnection(base):  # type: ignore[misc]
        def connect(self) -> None:
            super().connect()
            guard.attach(self.sock)

    return type(
        f"Guarded{pool_cls.__name__}", (pool_cls,), {"ConnectionCls": GuardedConnection}
    )
