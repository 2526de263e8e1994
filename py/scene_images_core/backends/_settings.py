"""Validation of backend settings: every key named, no value of a secret ever echoed."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from ..errors import StorageMisconfigured


def read_settings(
    kind: str,
    settings: object,
    *,
    required: Collection[str],
    optional: Collection[str] = (),
) -> dict[str, str]:
    """The settings as non-empty strings; unknown, missing or non-string keys raise
    StorageMisconfigured naming the key (never its value)."""
    if not isinstance(settings, dict):
        raise StorageMisconfigured(f"{kind} storage settings must be a JSON object")
    unknown = sorted(set(settings) - set(required) - set(optional))
    if unknown:
        known = ", ".join(sorted({*required, *optional}))
        raise StorageMisconfigured(
            f"unknown {kind} storage setting(s) {', '.join(unknown)}; known: {known}"
        )
    missing = [k for k in required if settings.get(k) in (None, "")]
    if missing:
        raise StorageMisconfigured(
            f"{kind} storage setting(s) missing: {', '.join(missing)}"
        )
    values: dict[str, str] = {}
    for key, value in settings.items():
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise StorageMisconfigured(
                f"{kind} storage setting {key} must be a non-empty string"
            )
        values[key] = value.strip()
    return values


def http_url(kind: str, key: str, value: str) -> str:
    """`value` without trailing slashes if it is an absolute http(s) URL without credentials."""
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
    ):
        raise StorageMisconfigured(
            f"{kind} storage setting {key} must be an http(s) URL without credentials"
        )
    return value.rstrip("/")
