"""Validation of backend settings: every key named, no value of a secret ever echoed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import StorageMisconfigured


@dataclass(frozen=True)
class SettingNames:
    """A backend's setting names. The database's storage_backend_settings() is the home of these
    names (configure_scene_image_storage checks them without PL/Python); py/tests/test_rules.py
    pins every backend's to it."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # at least one of these (all optional) must be given
    secret: tuple[str, ...] = ()  # stored, never returned or shown


def read_settings(kind: str, settings: object, names: SettingNames) -> dict[str, str]:
    """The settings as non-empty strings; unknown, missing or non-string keys raise
    StorageMisconfigured naming the key (never its value)."""
    required: Collection[str] = names.required
    optional: Collection[str] = names.optional
    if not isinstance(settings, dict):
        raise StorageMisconfigured(f"{kind} storage settings must be a JSON object")
    unknown = sorted(set(settings) - set(required) - set(optional))
    if unknown:
        known = ", ".join(sorted({*required, *optional}))
        raise StorageMisconfigured(
            f"unknown {kind} storage setting(s) {', '.join(unknown)}; known: {known}"
        )
    missing = [k for k in required if settings.get(k) in (None, "")]
    if names.one_of and all(settings.get(k) in (None, "") for k in names.one_of):
        missing.append(" or ".join(names.one_of))
    if missing:
        # Setting names are no secret: a client role may read which one is missing.
        example = ", ".join(f'"{key}": ...' for key in (*required, *names.one_of[:1]))
        raise StorageMisconfigured(
            f"{kind} storage setting(s) missing: {', '.join(missing)}",
            kind=kind,
            summary=f"storage setting(s) missing: {', '.join(missing)}",
            hint=f"The database owner sets them with "
            f"configure_scene_image_storage('{kind}', '{{{example}}}').",
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
