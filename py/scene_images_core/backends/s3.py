"""Any S3-compatible object store (AWS, MinIO, R2, ...) through boto3.

boto3 is imported only here, when an s3 backend is made, so the rest of the package works
where boto3 is absent. Credentials are always explicit: boto3 never falls back to the
environment or an instance metadata service.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import Any
from urllib.parse import quote

from ..errors import IngestError, StorageFailed, StorageMisconfigured
from ..paths import check_object_path, check_prefix
from ..redact import scrub
from ._settings import SettingNames, http_url, read_settings
from .base import CACHE_CONTROL, StoredObjectInfo

MISCONFIGURED_CODES = frozenset(
    {
        "AccessDenied",
        "AuthorizationHeaderMalformed",
        "InvalidAccessKeyId",
        "InvalidBucketName",
        "NoSuchBucket",
        "SignatureDoesNotMatch",
    }
)


class S3Backend:
    """Settings: `endpoint_url`, `region`, `bucket`, `access_key_id`, `secret_access_key`,
    optional `public_base_url` (default {endpoint_url}/{bucket}, path-style)."""

    kind = "s3"
    setting_names = SettingNames(
        required=("endpoint_url", "region", "bucket", "access_key_id", "secret_access_key"),
        optional=("public_base_url",),
        secret=("access_key_id", "secret_access_key"),
    )

    def __init__(self, settings: dict[str, Any]) -> None:
        values = read_settings(self.kind, settings, self.setting_names)
        self._endpoint = http_url(self.kind, "endpoint_url", values["endpoint_url"])
        self._bucket = values["bucket"]
        self._region = values["region"]
        self._public_base = http_url(
            self.kind,
            "public_base_url",
            values.get("public_base_url", f"{self._endpoint}/{quote(self._bucket)}"),
        )
        self._secrets = [values["secret_access_key"], values["access_key_id"]]
        self._access_key_id = values["access_key_id"]
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise StorageMisconfigured(
                "the s3 backend needs boto3, which this Python cannot import"
            ) from None
        self._errors = (BotoCoreError, ClientError)
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=self._endpoint,
            region_name=self._region,
            aws_access_key_id=values["access_key_id"],
            aws_secret_access_key=values["secret_access_key"],
            config=Config(
                s3={"addressing_style": "path"},  # works for every S3-compatible server
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                max_pool_connections=32,
            ),
        )

    def put(self, path: str, data: bytes, content_type: str) -> str:
        key = check_object_path(path)
        # Checked first because conditional PUT (If-None-Match) is missing from older botocore
        # and many S3 clones; paths are unique per version, so the window does not matter.
        if self.exists(key):
            raise StorageFailed(
                f"object {path} already exists in bucket {self._bucket}; versions are never overwritten"
            )
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=CACHE_CONTROL,
            )
        except self._errors as exc:
            raise self._failure(f"upload {path}", exc) from None
        return self.public_url(key)

    def delete(self, path: str) -> None:
        try:
            # S3 answers 204 for a missing key too.
            self._client.delete_object(Bucket=self._bucket, Key=check_object_path(path))
        except self._errors as exc:
            raise self._failure(f"delete {path}", exc) from None

    def exists(self, path: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=check_object_path(path))
        except self._errors as exc:
            if _status(exc) == 404:
                return False
            raise self._failure(f"check {path}", exc) from None
        return True

    def list(self, prefix: str) -> Iterator[StoredObjectInfo]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=check_prefix(prefix)
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    modified = item["LastModified"]
                    yield StoredObjectInfo(
                        item["Key"], int(item["Size"]), modified.astimezone(UTC)
                    )
        except self._errors as exc:
            raise self._failure(f"list {prefix!r}", exc) from None

    def public_url(self, path: str) -> str:
        return f"{self._public_base}/{quote(check_object_path(path))}"

    def ensure_ready(self) -> None:
        """Check the bucket; create it when missing."""
        try:
            self._client.head_bucket(Bucket=self._bucket)
            return
        except self._errors as exc:
            if _status(exc) != 404:
                raise self._failure(f"check bucket {self._bucket}", exc) from None
        location = (
            {}
            if self._region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": self._region}}
        )
        try:
            self._client.create_bucket(Bucket=self._bucket, **location)
        except self._errors as exc:
            if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise self._failure(f"create bucket {self._bucket}", exc) from None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "endpoint_url": self._endpoint,
            "region": self._region,
            "bucket": self._bucket,
            "access_key_id": self._access_key_id,
            "public_base_url": self._public_base,
        }

    def _failure(self, action: str, exc: Exception) -> IngestError:
        """A StorageFailed/StorageMisconfigured built from the error code and message only:
        botocore's own texts can include request details."""
        code = _code(exc)
        if code is not None:
            error = getattr(exc, "response", {}).get("Error", {})
            detail = f"{code} (HTTP {_status(exc)}): {error.get('Message', '')}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        message = scrub(
            f"s3 {action} in bucket {self._bucket} at {self._endpoint} failed: {detail}",
            self._secrets,
        )
        if (
            code in MISCONFIGURED_CODES
            or _status(exc) in (401, 403)
            or _is_credentials_error(exc)
        ):
            return StorageMisconfigured(message, kind=self.kind, status=_status(exc))
        return StorageFailed(message, kind=self.kind, status=_status(exc))


def _code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    return str(response.get("Error", {}).get("Code") or _status(exc))


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _is_credentials_error(exc: Exception) -> bool:
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    return isinstance(exc, NoCredentialsError | PartialCredentialsError)
