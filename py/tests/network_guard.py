"""The process-wide network guard for tests: `guard_loopback_only(monkeypatch)` makes any
connect() outside loopback (127.0.0.0/8, ::1), and any DNS lookup of a name other than
localhost, fail loudly inside the test process, even when the code under test is broken.

Standard library only: core/system_python_probe.py imports it under /usr/bin/python3.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any


def is_loopback_address(address: object) -> bool:
    """True for (host, port, ...) tuples on 127.0.0.0/8 or ::1 (also ::ffff:127.x), and for
    non-IP socket addresses (AF_UNIX paths)."""
    if not isinstance(address, tuple):
        return True
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class NetworkGuardError(AssertionError):
    """Raised instead of sending traffic outside loopback."""


def guard_loopback_only(monkeypatch: Any) -> None:
    """Patch socket so this process cannot connect outside loopback or resolve names
    (other than localhost) for the rest of the test."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if not is_loopback_address(address):
            raise NetworkGuardError(f"test tried to connect to {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not is_loopback_address(address):
            raise NetworkGuardError(f"test tried to connect to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "localhost"):
            try:
                ipaddress.ip_address(str(name).split("%")[0])
            except ValueError:
                raise NetworkGuardError(
                    f"test tried to resolve {name!r} through DNS"
                ) from None
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
