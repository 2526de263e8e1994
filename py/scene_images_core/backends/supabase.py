"""Supabase Storage through its REST API, as described in shared/supabase-storage-api.md.

Error bodies decide, not HTTP statuses: most 4xx arrive as HTTP 400 with the real status in
the body's `statusCode` (a string). An error is recognised by `statusCode` first, then `code`
when present (releases from v1.67.18 on), then `error`/`message` (older releases send no
`code`). 429, 5xx and 544 are retried with backoff.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from ..errors import IngestError, StorageFailed, StorageMisconfigured
from ..paths import check_object_path, check_prefix
from ..redact import scrub
from ._settings import SettingNames, http_url, read_settings
from .base import CACHE_CONTROL, StoredObjectInfo

TIMEOUT_S = (10.0, 60.0)  # connect, read
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 544})
LIST_PAGE = 1000
BUCKET_SIZE_LIMIT = 52428800
AUTH_STATUSES = frozenset({401, 403})
AUTH_CODES = frozenset({"InvalidJWT", "AccessDenied", "Unauthorized"})


@dataclass(frozen=True)
class _ApiError:
    status: int  # the body's statusCode when present, else the HTTP status
    code: str  # the body's code, else its error, else "HTTP <status>"
    message: str
    error: str = ""  # the body's error text ("Bucket not found", "not_found", ...)

    @property
    def missing_bucket(self) -> bool:
        """A 404 about the bucket, not the object: `NoSuchBucket`, or on releases without
        `code` the error "Bucket not found" (a missing object says "not_found")."""
        return self.status == 404 and (
            self.code == "NoSuchBucket" or self.error.lower() == "bucket not found"
        )


class SupabaseBackend:
    """Settings: `url` (project URL; the API is at {url}/storage/v1) or `api_url` (a Storage
    server reached directly), `service_key` (service_role JWT), `bucket`."""

    kind = "supabase"
    setting_names = SettingNames(
        required=("service_key", "bucket"), optional=("url", "api_url"), one_of=("url", "api_url"),
        secret=("service_key",),
    )

    def __init__(
        self, settings: dict[str, Any], *, retries: int = 3, backoff_s: float = 0.5
    ) -> None:
        values = read_settings(self.kind, settings, self.setting_names)
        if "api_url" in values:
            self._base = http_url(self.kind, "api_url", values["api_url"])
        else:
            self._base = http_url(self.kind, "url", values["url"]) + "/storage/v1"
        self._settings = {k: v for k, v in values.items() if k != "service_key"}
        self._key = values["service_key"]
        self._bucket = values["bucket"]
        if "/" in self._bucket:
            raise StorageMisconfigured(
                "supabase storage setting bucket must be a bucket name, not a path"
            )
        self._retries = retries
        self._backoff_s = backoff_s
        self._session = requests.Session()
        # With trust_env, .netrc credentials would replace the Authorization header.
        self._session.trust_env = False
        self._session.headers.update(
            {"apikey": self._key, "Authorization": f"Bearer {self._key}"}
        )
        self._session.mount(
            self._base, HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        )

    def put(self, path: str, data: bytes, content_type: str) -> str:
        route = self._object_route(path)
        headers = {"Content-Type": content_type, "cache-control": CACHE_CONTROL}
        # No x-upsert: the server refuses an existing path. Upload POSTs are not repeated after
        # a connection error (the upload may have landed), only after a retryable answer.
        response, attempts = self._call(
            "POST", route, f"upload {path}", data=data, headers=headers, resend=False
        )
        if response.ok:
            return self.public_url(path)
        error = _parse_error(response)
        if error.status == 409:
            if attempts > 1 and self._holds(path, data):
                # An earlier attempt stored these very bytes before failing.
                return self.public_url(path)
            raise StorageFailed(
                f"object {path} already exists in bucket {self._bucket}; versions are never overwritten"
            )
        raise self._failure(f"upload {path}", error)

    def delete(self, path: str) -> None:
        response, _ = self._call("DELETE", self._object_route(path), f"delete {path}")
        if response.ok:
            return
        error = _parse_error(response)
        if error.status == 404 and not error.missing_bucket:
            return  # NoSuchKey: already gone
        raise self._failure(f"delete {path}", error)

    def exists(self, path: str) -> bool:
        response, _ = self._call("HEAD", self._object_route(path), f"check {path}")
        if response.ok:
            return True
        # HEAD answers carry no body, so a 400 may mean "missing" or "not allowed": ask the
        # info route, whose error body tells which.
        info, _ = self._call("GET", self._info_route(path), f"check {path}")
        if info.ok:
            return True
        error = _parse_error(info)
        if error.status == 404 and not error.missing_bucket:
            return False
        raise self._failure(f"check {path}", error)

    def list(self, prefix: str) -> Iterator[StoredObjectInfo]:
        check_prefix(prefix)
        yield from self._list_folder(prefix.rpartition("/")[0], prefix)

    def public_url(self, path: str) -> str:
        return f"{self._base}/object/public/{quote(self._bucket)}/{quote(check_object_path(path))}"

    def ensure_ready(self) -> None:
        """Check the bucket; create it public when missing (a forgotten manual step)."""
        response, _ = self._call(
            "GET", f"/bucket/{quote(self._bucket)}", f"read bucket {self._bucket}"
        )
        if response.ok:
            if not _json(response).get("public"):
                raise StorageMisconfigured(
                    f"bucket {self._bucket} is not public; its public URLs would not serve"
                )
            return
        error = _parse_error(response)
        if not error.missing_bucket:
            raise self._failure(f"read bucket {self._bucket}", error)
        spec = {
            "id": self._bucket,
            "name": self._bucket,
            "public": True,
            "file_size_limit": BUCKET_SIZE_LIMIT,
            "allowed_mime_types": ["image/*"],
        }
        created, _ = self._call(
            "POST", "/bucket", f"create bucket {self._bucket}", json=spec
        )
        if (
            not created.ok and _parse_error(created).status != 409
        ):  # 409: created meanwhile
            raise self._failure(f"create bucket {self._bucket}", _parse_error(created))

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **self._settings, "api_base": self._base}

    def _list_folder(self, folder: str, prefix: str) -> Iterator[StoredObjectInfo]:
        offset = 0
        while True:
            body = {
                "prefix": folder,
                "limit": LIST_PAGE,
                "offset": offset,
                "sortBy": {"column": "name", "order": "asc"},
            }
            response, _ = self._call(
                "POST",
                f"/object/list/{quote(self._bucket)}",
                f"list {folder or '/'}",
                json=body,
            )
            if not response.ok:
                raise self._failure(f"list {folder or '/'}", _parse_error(response))
            entries = _json(response)
            if not isinstance(entries, list):
                raise StorageFailed(
                    f"supabase storage list {folder or '/'} answered something other than a list"
                )
            for entry in entries:
                path = f"{folder}/{entry['name']}" if folder else str(entry["name"])
                if entry.get("id") is None:  # folders have no id
                    if path.startswith(prefix) or prefix.startswith(path + "/"):
                        yield from self._list_folder(path, prefix)
                elif path.startswith(prefix):
                    meta = entry.get("metadata") or {}
                    stamp = entry.get("updated_at") or entry.get("created_at")
                    yield StoredObjectInfo(
                        path, int(meta.get("size", 0)), _timestamp(stamp)
                    )
            if len(entries) < LIST_PAGE:
                return
            offset += len(entries)

    def _holds(self, path: str, data: bytes) -> bool:
        """True when the stored object at `path` has exactly `data` (same md5 etag)."""
        response, _ = self._call("GET", self._info_route(path), f"check {path}")
        if not response.ok:
            return False
        etag = str(_json(response).get("etag", "")).strip('"')
        return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()

    def _object_route(self, path: str) -> str:
        return f"/object/{quote(self._bucket)}/{quote(check_object_path(path))}"

    def _info_route(self, path: str) -> str:
        return f"/object/info/public/{quote(self._bucket)}/{quote(check_object_path(path))}"

    def _call(
        self,
        method: str,
        route: str,
        action: str,
        *,
        resend: bool = True,
        **kwargs: Any,
    ) -> tuple[requests.Response, int]:
        """The final response and the number of attempts. Retries 429/5xx/544 answers, and
        connection errors when `resend`; raises StorageFailed when the server stays away."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._session.request(
                    method, self._base + route, timeout=TIMEOUT_S, **kwargs
                )
            except requests.RequestException as exc:
                if resend and attempt <= self._retries:
                    self._sleep(attempt, None)
                    continue
                reason = type(exc).__name__
                raise StorageFailed(
                    f"supabase storage at {self._base} unreachable ({action}): {reason}"
                ) from None
            if (
                response.ok
                or attempt > self._retries
                or _parse_error(response).status not in RETRY_STATUSES
            ):
                return response, attempt
            self._sleep(attempt, response.headers.get("Retry-After"))

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self._backoff_s * 2 ** (attempt - 1)
        if retry_after is not None and retry_after.isdigit():
            delay = min(max(delay, float(retry_after)), 30.0)
        time.sleep(delay)

    def _failure(self, action: str, error: _ApiError) -> IngestError:
        message = scrub(
            f"supabase storage {action} in bucket {self._bucket} failed: "
            f"{error.code} (status {error.status}): {error.message}",
            [self._key],
        )
        if error.missing_bucket:
            return StorageMisconfigured(
                f"{message}; configure the backend again to create the bucket",
                kind=self.kind, status=error.status,
            )
        if error.status in AUTH_STATUSES or error.code in AUTH_CODES:
            return StorageMisconfigured(
                f"{message}; check service_key (it must be the service_role key)",
                kind=self.kind, status=error.status,
            )
        return StorageFailed(message, kind=self.kind, status=error.status)


def _parse_error(response: requests.Response) -> _ApiError:
    body = _json(response)
    if not isinstance(body, dict):
        return _ApiError(
            response.status_code, f"HTTP {response.status_code}", response.reason or ""
        )
    try:
        status = int(body.get("statusCode", response.status_code))
    except (TypeError, ValueError):
        status = response.status_code
    error = str(body.get("error") or "")
    code = str(body.get("code") or error or f"HTTP {response.status_code}")
    return _ApiError(status, code, str(body.get("message", ""))[:300], error[:100])


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # includes JSONDecodeError
        return None


def _timestamp(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # 3.11 reads the "Z" suffix
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(0, UTC)
