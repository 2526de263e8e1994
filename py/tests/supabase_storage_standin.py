"""A loopback STAND-IN for the Supabase Storage REST API. It is NOT Supabase Storage.

No real Supabase Storage server can be installed from our package registries, so the tests
of the `supabase` backend talk to this small server instead. It implements exactly the
requests and answers written down in shared/supabase-storage-api.md — no more — including
the awkward parts a backend must cope with:

- gateway mode (default): routes live under /storage/v1, as behind Supabase's API gateway;
  direct mode (`gateway=False`): routes at the root and /storage/v1/... is an unknown route.
- every non-public route needs `Authorization: Bearer <key>`; missing → HTTP 400
  InvalidRequest "headers must have required property 'authorization'"; the anon key → 400
  with statusCode "403" AccessDenied "new row violates row-level security policy"; any other
  key → 400 with statusCode "403" AccessDenied "signature verification failed". In gateway
  mode a request without an `apikey` header, other than to the public routes, is refused as
  Supabase's gateway refuses it elsewhere (HTTP 401 "No API key found in request") — the page
  does not describe that answer, so this one is an assumption.
- error bodies carry `statusCode` as a string and come as HTTP 400 (NoSuchBucket,
  NoSuchKey, Duplicate/KeyAlreadyExists "409", EntityTooLarge "413", InvalidMimeType "415"),
  except an unknown route: a real HTTP 404 whose body has a numeric statusCode.
- buckets: GET /bucket/{id}, POST /bucket (Duplicate/BucketAlreadyExists when it exists).
- objects: POST /object/{bucket}/{path} (raw body; refused with KeyAlreadyExists unless
  x-upsert: true), PUT (overwrites or creates), HEAD (authenticated, no body),
  GET/HEAD /object/public/{bucket}/{path} (public buckets; stored Content-Type,
  cache-control, md5 etag), GET /object/info/public/{bucket}/{path}, POST
  /object/list/{bucket} (one folder level; folders have id null), DELETE one object
  (NoSuchKey when missing) and DELETE /object/{bucket} with {"prefixes": [...]} (bulk).
- `fail_next(n, status)`: the next n requests answer 429 (SlowDown), 500 or 544 (database
  timeout), for retry tests; with `after_write=True` an upload is stored before the failure
  is answered (a server that failed after doing the work).
- `error_shape`: "code" (default) answers errors as releases from v1.67.18 on do, with a
  `code` field; "v1.36.4" answers the bodies observed on that release (and v1.37.11, v1.45.2):
  `statusCode`, `error` and `message` only. ERROR_SHAPES lists both for parametrised tests.

Run it by hand with `python tests/supabase_storage_standin.py --port 54321`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from loopback_http import BackgroundServer, LoopbackHTTPServer

SERVICE_KEY = "standin-service-role-key.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.signature"
ANON_KEY = "standin-anon-key.eyJyb2xlIjoiYW5vbiJ9.signature"
GATEWAY_PREFIX = "/storage/v1"
PUBLIC_ROUTES = (
    "/object/public/",
    "/object/info/public/",
)  # served to anyone, e.g. <img> tags

FAILURES = {
    429: ("SlowDown", "slow_down", "Too many connections issued to the database"),
    500: ("InternalError", "internal", "Internal Server Error"),
    544: (
        "DatabaseTimeout",
        "DatabaseTimeout",
        "timeout acquiring a connection to the database",
    ),
}


ERROR_SHAPES = ("code", "v1.36.4")
# Where v1.36.4's body differs from the newer one's besides lacking `code` (observed bodies).
LEGACY_TEXTS = {
    "InvalidRequest": ("Error", None),
    "KeyAlreadyExists": ("Duplicate", "The resource already exists"),
    "BucketAlreadyExists": ("Duplicate", "The resource already exists"),
}


class ApiError(Exception):
    def __init__(
        self, status: str, code: str, error: str, message: str, http_status: int = 400
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status, self.code, self.error, self.message = status, code, error, message

    def body(self, shape: str) -> dict[str, str]:
        if shape == "code":
            return {"statusCode": self.status, "code": self.code, "error": self.error, "message": self.message}
        error, message = LEGACY_TEXTS.get(self.code, (self.error, self.message))
        return {"statusCode": self.status, "error": error, "message": message or self.message}


def no_such_bucket() -> ApiError:
    return ApiError("404", "NoSuchBucket", "Bucket not found", "Bucket not found")


def no_such_key() -> ApiError:
    return ApiError("404", "NoSuchKey", "not_found", "Object not found")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Bucket:
    id: str
    public: bool
    file_size_limit: int | None
    allowed_mime_types: list[str] | None
    created_at: str = field(default_factory=now_iso)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.id,
            "owner": "",
            "public": self.public,
            "file_size_limit": self.file_size_limit,
            "allowed_mime_types": self.allowed_mime_types,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        }


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    cache_control: str
    metadata: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @property
    def etag(self) -> str:
        return f'"{hashlib.md5(self.data, usedforsecurity=False).hexdigest()}"'

    def list_entry(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "id": self.id,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "last_accessed_at": self.updated_at,
            "metadata": {
                "eTag": self.etag,
                "size": len(self.data),
                "mimetype": self.content_type,
                "cacheControl": self.cache_control,
                "lastModified": self.updated_at,
                "contentLength": len(self.data),
                "httpStatusCode": 200,
            },
        }


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]


class StorageStandIn(BackgroundServer):
    """The stand-in server; start with `with StorageStandIn() as s:` or start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        gateway: bool = True,
        service_key: str = SERVICE_KEY,
        anon_key: str = ANON_KEY,
        error_shape: str = "code",
    ) -> None:
        if error_shape not in ERROR_SHAPES:
            raise ValueError(f"error_shape must be one of {ERROR_SHAPES}")
        self.gateway = gateway
        self.error_shape = error_shape
        self.service_key = service_key
        self.anon_key = anon_key
        self.buckets: dict[str, Bucket] = {}
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.requests: list[LoggedRequest] = []
        self._failures: list[tuple[int, bool]] = []
        self.lock = threading.RLock()
        self._server = _Server((host, port), self)
        self.port = int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self.api_url = self.url + GATEWAY_PREFIX if gateway else self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="supabase-standin",
            daemon=True,
        )

    def backend_settings(self, bucket: str = "scene-images") -> dict[str, str]:
        """Settings for scene_images_core's supabase backend against this stand-in."""
        if self.gateway:
            return {"url": self.url, "service_key": self.service_key, "bucket": bucket}
        return {
            "api_url": self.api_url,
            "service_key": self.service_key,
            "bucket": bucket,
        }

    def fail_next(
        self, count: int, status: int = 500, *, after_write: bool = False
    ) -> None:
        with self.lock:
            self._failures.extend([(status, after_write)] * count)

    def take_failure(self) -> tuple[int, bool] | None:
        with self.lock:
            return self._failures.pop(0) if self._failures else None


class _Server(LoopbackHTTPServer):
    def __init__(self, address: tuple[str, int], standin: StorageStandIn) -> None:
        self.standin = standin
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # Plumbing ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        standin = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        standin.requests.append(
            LoggedRequest(self.command, path, dict(self.headers.items()))
        )
        if standin.gateway:
            if not path.startswith(GATEWAY_PREFIX + "/"):
                self._json(404, {"message": "no Route matched with those values"})
                return
            path = path[len(GATEWAY_PREFIX) :]
            if "apikey" not in self.headers and not path.startswith(PUBLIC_ROUTES):
                self._json(401, {"message": "No API key found in request"})
                return
        failure = standin.take_failure()
        try:
            if failure is not None and not failure[1]:
                raise self._failure(failure[0])
            self._route(self.command, path, failure)
        except ApiError as exc:
            self._json(exc.http_status, exc.body(standin.error_shape))

    def _failure(self, status: int) -> ApiError:
        code, error, message = FAILURES.get(
            status, ("InternalError", "internal", "Internal Server Error")
        )
        return ApiError(str(status), code, error, message, http_status=status)

    def _json(
        self, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _require_service_role(self) -> None:
        authorization = self.headers.get("Authorization")
        if authorization is None:
            raise ApiError(
                "400",
                "InvalidRequest",
                "Bad Request",
                "headers must have required property 'authorization'",
            )
        token = authorization.removeprefix("Bearer ").strip()
        if token == self.server.standin.anon_key:
            raise ApiError(
                "403",
                "AccessDenied",
                "Unauthorized",
                "new row violates row-level security policy",
            )
        if token != self.server.standin.service_key:
            raise ApiError(
                "403", "AccessDenied", "Unauthorized", "signature verification failed"
            )

    def _request_json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.body or b"{}")
        except ValueError:
            raise ApiError(
                "400", "InvalidRequest", "Bad Request", "body must be JSON"
            ) from None
        if not isinstance(body, dict):
            raise ApiError(
                "400", "InvalidRequest", "Bad Request", "body must be an object"
            )
        return body

    # Routes -----------------------------------------------------------------------------

    def _route(self, method: str, path: str, failure: tuple[int, bool] | None) -> None:
        parts = [unquote(p) for p in path.split("/")[1:]]
        head = parts[:2]
        if method == "GET" and parts == ["status"]:
            self._json(200, {})
        elif (
            method in ("GET", "HEAD")
            and head == ["object", "public"]
            and len(parts) >= 4
        ):
            self._public_object(parts[2], "/".join(parts[3:]))
        elif (
            method == "GET"
            and parts[:3] == ["object", "info", "public"]
            and len(parts) >= 5
        ):
            self._object_info(parts[3], "/".join(parts[4:]))
        elif method == "GET" and head[:1] == ["bucket"] and len(parts) == 2:
            self._require_service_role()
            self._get_bucket(parts[1])
        elif method == "POST" and parts == ["bucket"]:
            self._require_service_role()
            self._create_bucket()
        elif method == "POST" and head == ["object", "list"] and len(parts) == 3:
            self._require_service_role()
            self._list(parts[2])
        elif method == "DELETE" and head[:1] == ["object"] and len(parts) == 2:
            self._require_service_role()
            self._delete_many(parts[1])
        elif (
            head[:1] == ["object"]
            and len(parts) >= 3
            and method in ("POST", "PUT", "HEAD", "DELETE")
        ):
            self._require_service_role()
            bucket, name = parts[1], "/".join(parts[2:])
            if method == "HEAD":
                self._head_object(bucket, name)
            elif method == "DELETE":
                self._delete_one(bucket, name)
            else:
                self._upload(bucket, name, upsert=method == "PUT", failure=failure)
        else:
            # Fastify's own 404: a real HTTP 404 with a numeric statusCode.
            message = f"Route {method}:{self.path} not found"
            self._json(
                404, {"message": message, "error": "Not Found", "statusCode": 404}
            )

    def _bucket(self, bucket_id: str) -> Bucket:
        bucket = self.server.standin.buckets.get(bucket_id)
        if bucket is None:
            raise no_such_bucket()
        return bucket

    def _get_bucket(self, bucket_id: str) -> None:
        with self.server.standin.lock:
            self._json(200, self._bucket(bucket_id).as_json())

    def _create_bucket(self) -> None:
        spec = self._request_json()
        name = spec.get("id") or spec.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(
                "400",
                "InvalidRequest",
                "Bad Request",
                "body must have required property 'name'",
            )
        with self.server.standin.lock:
            if name in self.server.standin.buckets:
                raise ApiError(
                    "409",
                    "BucketAlreadyExists",
                    "Duplicate",
                    "The resource already exists",
                )
            self.server.standin.buckets[name] = Bucket(
                name,
                bool(spec.get("public", False)),
                spec.get("file_size_limit"),
                spec.get("allowed_mime_types"),
            )
        self._json(200, {"name": name})

    def _upload(
        self,
        bucket_id: str,
        name: str,
        *,
        upsert: bool,
        failure: tuple[int, bool] | None,
    ) -> None:
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        upsert = upsert or self.headers.get("x-upsert", "").lower() == "true"
        metadata: dict[str, Any] = {}
        if "x-metadata" in self.headers:
            metadata = json.loads(base64.b64decode(self.headers["x-metadata"]))
        standin = self.server.standin
        with standin.lock:
            bucket = self._bucket(bucket_id)
            if (
                bucket.file_size_limit is not None
                and len(self.body) > bucket.file_size_limit
            ):
                raise ApiError(
                    "413",
                    "EntityTooLarge",
                    "Payload too large",
                    "The object exceeded the maximum allowed size",
                )
            if bucket.allowed_mime_types and not _mime_allowed(
                content_type, bucket.allowed_mime_types
            ):
                raise ApiError(
                    "415",
                    "InvalidMimeType",
                    "invalid_mime_type",
                    f"mime type {content_type} is not supported",
                )
            if (bucket_id, name) in standin.objects and not upsert:
                raise ApiError(
                    "409",
                    "KeyAlreadyExists",
                    "Duplicate",
                    "The resource already exists",
                )
            cache_control = self.headers.get("cache-control") or "no-cache"
            stored = StoredObject(self.body, content_type, cache_control, metadata)
            standin.objects[(bucket_id, name)] = stored
        if failure is not None:
            raise self._failure(failure[0])
        self._json(200, {"Id": stored.id, "Key": f"{bucket_id}/{name}"})

    def _object(self, bucket_id: str, name: str, *, public: bool) -> StoredObject:
        standin = self.server.standin
        with standin.lock:
            bucket = self._bucket(bucket_id)
            stored = standin.objects.get((bucket_id, name))
        if stored is None or (public and not bucket.public):
            raise no_such_key()
        return stored

    def _public_object(self, bucket_id: str, name: str) -> None:
        stored = self._object(bucket_id, name, public=True)
        self.send_response(200)
        self.send_header("Content-Type", stored.content_type)
        self.send_header("Content-Length", str(len(stored.data)))
        self.send_header("ETag", stored.etag)
        self.send_header("Cache-Control", stored.cache_control)
        self.send_header("Last-Modified", stored.updated_at)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(stored.data)

    def _object_info(self, bucket_id: str, name: str) -> None:
        stored = self._object(bucket_id, name, public=True)
        self._json(
            200,
            {
                "id": stored.id,
                "name": name,
                "size": len(stored.data),
                "content_type": stored.content_type,
                "cache_control": stored.cache_control,
                "etag": stored.etag,
                "metadata": stored.metadata,
                "last_modified": stored.updated_at,
                "created_at": stored.created_at,
            },
        )

    def _head_object(self, bucket_id: str, name: str) -> None:
        try:
            stored = self._object(bucket_id, name, public=False)
        except ApiError:
            self._json(400, {})  # HEAD answers have no body: only the status is seen
            return
        self.send_response(200)
        self.send_header("Content-Type", stored.content_type)
        self.send_header("Content-Length", str(len(stored.data)))
        self.send_header("ETag", stored.etag)
        self.end_headers()

    def _delete_one(self, bucket_id: str, name: str) -> None:
        standin = self.server.standin
        with standin.lock:
            self._bucket(bucket_id)
            if standin.objects.pop((bucket_id, name), None) is None:
                raise no_such_key()
        self._json(200, {"message": "Successfully deleted"})

    def _delete_many(self, bucket_id: str) -> None:
        prefixes = self._request_json().get("prefixes")
        if not isinstance(prefixes, list):
            raise ApiError(
                "400",
                "InvalidRequest",
                "Bad Request",
                "body must have required property 'prefixes'",
            )
        standin = self.server.standin
        deleted = []
        with standin.lock:
            self._bucket(bucket_id)
            for name in prefixes:
                stored = standin.objects.pop((bucket_id, str(name)), None)
                if stored is not None:
                    deleted.append(
                        {"bucket_id": bucket_id, **stored.list_entry(str(name))}
                    )
        self._json(200, deleted)

    def _list(self, bucket_id: str) -> None:
        spec = self._request_json()
        folder = str(spec.get("prefix") or "")
        if folder and not folder.endswith("/"):
            folder += "/"  # the prefix is always a folder
        search = str(spec.get("search") or "").lower()
        limit, offset = int(spec.get("limit", 100)), int(spec.get("offset", 0))
        sort = spec.get("sortBy") or {}
        standin = self.server.standin
        entries: dict[str, dict[str, Any]] = {}
        with standin.lock:
            self._bucket(bucket_id)
            for (bucket, name), stored in standin.objects.items():
                if bucket != bucket_id or not name.startswith(folder):
                    continue
                child, slash, _ = name[len(folder) :].partition("/")
                if not child.lower().startswith(search):
                    continue
                if slash:
                    entries[child] = {
                        "name": child,
                        "id": None,
                        "updated_at": None,
                        "created_at": None,
                        "last_accessed_at": None,
                        "metadata": None,
                    }
                else:
                    entries[child] = stored.list_entry(child)
        ordered = sorted(
            entries.values(),
            key=lambda e: e["name"],
            reverse=sort.get("order") == "desc",
        )
        self._json(200, ordered[offset : offset + limit])


def _mime_allowed(content_type: str, allowed: list[str]) -> bool:
    mime = content_type.split(";")[0].strip().lower()
    return any(
        mime == a or (a.endswith("/*") and mime.startswith(a[:-1])) for a in allowed
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=54321)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="serve routes at the root (no /storage/v1)",
    )
    parser.add_argument("--service-key", default=SERVICE_KEY)
    args = parser.parse_args()
    standin = StorageStandIn(
        host=args.host,
        port=args.port,
        gateway=not args.direct,
        service_key=args.service_key,
    )
    print(
        f"url={standin.url} api_url={standin.api_url} service_key={standin.service_key}",
        flush=True,
    )
    with standin:
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
