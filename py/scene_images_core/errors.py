"""Every way an ingest can fail, one class per SQLSTATE.

The SQL layer raises these as PostgreSQL errors with the class's `sqlstate` and `message`;
the README's error table and the functions' `COMMENT ON` lists are generated from `ERRORS`.
Messages name the source URL through `redact_url` and never contain a secret.
"""

from __future__ import annotations

from typing import ClassVar

from .redact import redact_url


class IngestError(Exception):
    """Base class: `sqlstate` (class attribute), a human `message` and, where the fix is not
    obvious from it, a `hint` (the SQL error's HINT). The hint reaches every caller, client
    roles included: it never names a server path, an address or a secret."""

    sqlstate: str = "SI000"
    meaning: ClassVar[str] = "image ingest failed"

    def __init__(self, reason: str, *, url: str | None = None, hint: str | None = None) -> None:
        self.reason = reason
        self.url = redact_url(url) if url is not None else None
        self.message = f"{self.url}: {reason}" if self.url is not None else reason
        self.hint = hint
        super().__init__(self.message)

    @property
    def client_message(self) -> str:
        """What a client role may read: the message, unless it names our infrastructure."""
        return self.message


class InvalidSourceUrl(IngestError):
    sqlstate = "SIU01"
    meaning = "source URL refused: not http(s), credentials in it, too long, unparsable or no host"


class HostNotAllowed(IngestError):
    sqlstate = "SIU02"
    meaning = "source host is not in allowed_hosts"


class PrivateAddressRefused(IngestError):
    sqlstate = "SIU03"
    meaning = "source host resolves to a loopback/private/link-local/reserved address the policy refuses"


class TooManyRedirects(IngestError):
    sqlstate = "SIU04"
    meaning = "more redirects than max_redirects, or a redirect loop"


class SourceHttpError(IngestError):
    sqlstate = "SIF01"
    meaning = "the source answered with a non-2xx status"


class SourceTooLarge(IngestError):
    sqlstate = "SIF02"
    meaning = "the source body is larger than max_bytes"


class SourceTimeout(IngestError):
    sqlstate = "SIF03"
    meaning = "connect/read timeout, or the whole download took longer than timeout_s"


class SourceUnreachable(IngestError):
    sqlstate = "SIF04"
    meaning = "DNS failure, connection refused or reset, TLS failure"


class SourceIncomplete(IngestError):
    sqlstate = "SIF05"
    meaning = (
        "fewer bytes than Content-Length arrived, or the connection was cut mid-body"
    )


class SourceNotAnImage(IngestError):
    sqlstate = "SII01"
    meaning = "the body is not a complete JPEG, PNG, GIF, WebP or AVIF image"


class ImageTooLarge(IngestError):
    sqlstate = "SII02"
    meaning = "width × height is over max_pixels"


class StorageError(IngestError):
    """A failure of our own storage. Its message (for the owner, the server log and the
    external worker's log) may name the backend's address, bucket and paths; a client role
    reads only `client_message`: the backend kind and the HTTP status. `kind` is stamped by
    whoever knows the backend, `status` by the backend that got an HTTP answer."""

    client_summary: ClassVar[str] = "storage failed"

    def __init__(
        self,
        reason: str,
        *,
        kind: str | None = None,
        status: int | None = None,
        summary: str | None = None,
        hint: str | None = None,
    ) -> None:
        """summary: what a client role may read instead of the class's client_summary, when
        there is more to say that names nothing of ours (a setting's name, say)."""
        super().__init__(reason, hint=hint)
        self.kind = kind
        self.status = status
        self.summary = summary or self.client_summary

    @property
    def client_message(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.kind or 'the'} storage backend: {self.summary}{status}"


class StorageFailed(StorageError):
    sqlstate = "SIS01"
    meaning = (
        "the storage backend failed to put, delete or list, or refused to overwrite"
    )
    client_summary = "storing the object failed; it is safe to retry"


class StorageMisconfigured(StorageError):
    sqlstate = "SIS02"
    meaning = (
        "storage settings are missing or wrong, or the backend rejects the credentials"
    )
    client_summary = (
        "storage is misconfigured or refuses our credentials; "
        "the owner's configure_scene_image_storage names the cause"
    )


class IngestCancelled(IngestError):
    sqlstate = "SIC01"
    meaning = "the ingest was cancelled"


class QueryCanceled(IngestError):
    """PostgreSQL's own 57014 (query_canceled), raised by us when a bulk call runs past its
    whole-call deadline (limits.bulk_deadline_s), so callers handle it as a statement_timeout.
    Named as psycopg names that SQLSTATE; not in ERRORS (the README's table lists ours only)."""

    sqlstate = "57014"
    meaning = "the call ran past its whole-call deadline, like statement_timeout"


ERRORS: list[type[IngestError]] = [
    InvalidSourceUrl,
    HostNotAllowed,
    PrivateAddressRefused,
    TooManyRedirects,
    SourceHttpError,
    SourceTooLarge,
    SourceTimeout,
    SourceUnreachable,
    SourceIncomplete,
    SourceNotAnImage,
    ImageTooLarge,
    StorageFailed,
    StorageMisconfigured,
    IngestCancelled,
]


class ItemFailed(IngestError):
    """One item of a concurrent batch failed; `.index` is its position in the request list and
    `.error` the original exception. `sqlstate` is the original's (22023 for a ValueError such
    as a bad scene_id, XX000 for an unexpected exception), so callers can map it like any
    IngestError. `label` names the item in messages (callers may set a better one). Not in
    ERRORS: it wraps them."""

    def __init__(self, index: int, error: BaseException) -> None:
        self.index = index
        self.error = error
        self.sqlstate = _sqlstate_of(error)
        self.label = f"item {index}"
        Exception.__init__(self, self.message)

    @property
    def message(self) -> str:  # type: ignore[override]  # derived, so a new label renames it
        return f"{self.label}: {_detail(self.error, client=False)}"

    @property
    def client_message(self) -> str:
        return f"{self.label}: {_detail(self.error, client=True)}"


def _detail(error: BaseException, *, client: bool) -> str:
    if isinstance(error, IngestError):
        return error.client_message if client else error.message
    if isinstance(error, ValueError):  # an argument check: its text is the whole story
        return str(error)
    return f"{type(error).__name__}: {error}"


def _sqlstate_of(error: BaseException) -> str:
    if isinstance(error, IngestError):
        return error.sqlstate
    if isinstance(error, ValueError):
        return "22023"  # invalid_parameter_value
    return "XX000"  # internal_error
