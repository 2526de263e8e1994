"""The SQL API's errors as Python exceptions, one class per SQLSTATE.

Both transports (psycopg and Supabase RPC) raise these, so callers write
`except HostNotAllowed:` whichever way they reach the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import psycopg


class SceneImageError(Exception):
    """An error the SQL API documents: `.sqlstate`, and the server's `.message`, `.detail`, `.hint`."""

    sqlstate: ClassVar[str] = ""

    def __init__(self, message: str, *, detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        return f"[{self.sqlstate}] {self.message}"


class NullArgument(SceneImageError):
    """A required argument was NULL."""

    sqlstate = "22004"


class InvalidArgument(SceneImageError):
    """An argument is malformed: scene_id, provider, metadata, a setting, a bulk item."""

    sqlstate = "22023"


class ConstraintViolation(SceneImageError):
    """A row broke a CHECK constraint (e.g. a project name over 200 characters)."""

    sqlstate = "23514"


class PermissionDenied(SceneImageError):
    """The caller may not use the function or does not own the project."""

    sqlstate = "42501"


class LimitExceeded(SceneImageError):
    """A size or count limit: prompt or metadata size, metadata depth, pending jobs per project,
    items per bulk call (the owner sets them with configure_scene_image_limits)."""

    sqlstate = "54000"


class ProjectNotFound(SceneImageError):
    """The project does not exist."""

    sqlstate = "SIP01"


class VersionNotFound(SceneImageError):
    """The scene has no such version."""

    sqlstate = "SIV01"


class InvalidSourceUrl(SceneImageError):
    """The source URL is not http(s), carries credentials, is too long or has no host."""

    sqlstate = "SIU01"


class HostNotAllowed(SceneImageError):
    """The source host is not in allowed_hosts."""

    sqlstate = "SIU02"


class PrivateAddressRefused(SceneImageError):
    """The source host resolves to an address the fetch policy refuses."""

    sqlstate = "SIU03"


class TooManyRedirects(SceneImageError):
    """More redirects than max_redirects, or a loop."""

    sqlstate = "SIU04"


class SourceHttpError(SceneImageError):
    """The source answered with a non-2xx status."""

    sqlstate = "SIF01"


class SourceTooLarge(SceneImageError):
    """The source body is larger than max_bytes."""

    sqlstate = "SIF02"


class SourceTimeout(SceneImageError):
    """The download took longer than timeout_s."""

    sqlstate = "SIF03"


class SourceUnreachable(SceneImageError):
    """DNS failure, connection refused or reset, TLS failure."""

    sqlstate = "SIF04"


class SourceIncomplete(SceneImageError):
    """The body ended before Content-Length."""

    sqlstate = "SIF05"


class SourceNotAnImage(SceneImageError):
    """The body is not a complete image of a supported type."""

    sqlstate = "SII01"


class ImageTooLarge(SceneImageError):
    """Width × height is over max_pixels."""

    sqlstate = "SII02"


class StorageFailed(SceneImageError):
    """The storage backend failed."""

    sqlstate = "SIS01"


class StorageMisconfigured(SceneImageError):
    """Storage settings are missing or wrong."""

    sqlstate = "SIS02"


class IngestCancelled(SceneImageError):
    """The ingest was cancelled."""

    sqlstate = "SIC01"


class JobNotFound(SceneImageError):
    """No such ingest job."""

    sqlstate = "SIJ01"


class JobNotRetryable(SceneImageError):
    """The job is not in a state that can be retried."""

    sqlstate = "SIJ02"


class JobLeaseExpired(SceneImageError):
    """The worker holding a job's last attempt stopped without an answer."""

    sqlstate = "SIJ03"


class JobNotHeld(SceneImageError):
    """The job is not held by this worker and login with a live lease: a stale or forged report."""

    sqlstate = "SIJ04"


# The one table: SQLSTATE -> class, from the classes above (tests/test_client_errors.py checks
# it against the server's).
ERRORS: dict[str, type[SceneImageError]] = {cls.sqlstate: cls for cls in SceneImageError.__subclasses__()}


def error_for(
    sqlstate: str | None, message: str | None, detail: str | None = None, hint: str | None = None
) -> SceneImageError | None:
    """The exception for a documented SQLSTATE, or None for any other."""
    cls = ERRORS.get(sqlstate or "")
    if cls is None:
        return None
    return cls(message or cls.__doc__ or cls.__name__, detail=detail, hint=hint)


def from_psycopg(exc: psycopg.Error) -> SceneImageError | None:
    """Map a psycopg error to its SceneImageError, or None when its SQLSTATE is not ours."""
    diag = exc.diag
    return error_for(exc.sqlstate, diag.message_primary or str(exc), diag.message_detail, diag.message_hint)


@contextmanager
def translating_errors() -> Iterator[None]:
    """Raise documented database errors as SceneImageError subclasses; re-raise the rest."""
    try:
        yield
    except psycopg.Error as exc:
        mapped = from_psycopg(exc)
        if mapped is None:
            raise
        raise mapped from exc
