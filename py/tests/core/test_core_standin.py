"""The Supabase Storage stand-in answers as shared/supabase-storage-api.md says the real one does.

Other suites reuse the stand-in, so its behaviour is pinned here with raw HTTP requests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from supabase_storage_standin import ANON_KEY, StorageStandIn


class Client:
    def __init__(self, standin: StorageStandIn, key: str | None = None) -> None:
        self.base = standin.api_url
        key = key or standin.service_key
        self.headers = {"apikey": key, "Authorization": f"Bearer {key}"}

    def __call__(self, method: str, route: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return requests.request(
            method, self.base + route, headers=headers, timeout=10, **kwargs
        )  # type: ignore[arg-type]


@pytest.fixture
def standin() -> Iterator[StorageStandIn]:
    """The newer releases' bodies (with `code`); the v1.36.4 ones are pinned further down."""
    with StorageStandIn() as server:
        yield server


@pytest.fixture
def api(standin: StorageStandIn) -> Iterator[Client]:
    client = Client(standin)
    assert client(
        "POST", "/bucket", json={"name": "b", "id": "b", "public": True}
    ).json() == {"name": "b"}
    yield client


def test_standin_requires_authorization(standin: StorageStandIn) -> None:
    response = requests.get(
        f"{standin.api_url}/bucket/b",
        headers={"apikey": standin.service_key},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": "400",
        "code": "InvalidRequest",
        "error": "Bad Request",
        "message": "headers must have required property 'authorization'",
    }


def test_standin_refuses_anon_and_forged_keys(standin: StorageStandIn) -> None:
    anon = Client(standin, ANON_KEY)("POST", "/bucket", json={"name": "x"})
    assert anon.status_code == 400
    assert (anon.json()["statusCode"], anon.json()["code"]) == ("403", "AccessDenied")
    assert anon.json()["message"] == "new row violates row-level security policy"
    forged = Client(standin, "forged")("GET", "/bucket/x")
    assert forged.json()["message"] == "signature verification failed"


def test_standin_gateway_wants_an_apikey(standin: StorageStandIn) -> None:
    response = requests.get(
        f"{standin.api_url}/bucket/b",
        headers={"Authorization": f"Bearer {standin.service_key}"},
        timeout=10,
    )
    assert response.status_code == 401


def test_standin_buckets(standin: StorageStandIn) -> None:
    api = Client(standin)
    missing = api("GET", "/bucket/nope")
    assert (
        missing.status_code,
        missing.json()["statusCode"],
        missing.json()["code"],
    ) == (400, "404", "NoSuchBucket")
    spec = {
        "name": "s",
        "id": "s",
        "public": True,
        "file_size_limit": 52428800,
        "allowed_mime_types": ["image/*"],
    }
    assert api("POST", "/bucket", json=spec).json() == {"name": "s"}
    again = api("POST", "/bucket", json=spec)
    assert again.status_code == 400
    assert again.json() == {
        "statusCode": "409",
        "code": "BucketAlreadyExists",
        "error": "Duplicate",
        "message": "The resource already exists",
    }
    body = api("GET", "/bucket/s").json()
    assert {
        k: body[k]
        for k in ("id", "name", "public", "file_size_limit", "allowed_mime_types")
    } == {
        "id": "s",
        "name": "s",
        "public": True,
        "file_size_limit": 52428800,
        "allowed_mime_types": ["image/*"],
    }


def test_standin_upload_refuses_existing_paths_unless_upsert(
    api: Client, standin: StorageStandIn
) -> None:
    headers = {
        "Content-Type": "image/png",
        "cache-control": "max-age=31536000, immutable",
    }
    first = api("POST", "/object/b/a/b.png", data=b"one", headers=headers)
    assert first.status_code == 200
    assert first.json()["Key"] == "b/a/b.png"
    duplicate = api("POST", "/object/b/a/b.png", data=b"two", headers=headers)
    assert duplicate.status_code == 400
    assert duplicate.json() == {
        "statusCode": "409",
        "code": "KeyAlreadyExists",
        "error": "Duplicate",
        "message": "The resource already exists",
    }
    assert (
        api(
            "POST",
            "/object/b/a/b.png",
            data=b"three",
            headers={**headers, "x-upsert": "true"},
        ).status_code
        == 200
    )
    assert (
        api("PUT", "/object/b/a/b.png", data=b"four", headers=headers).status_code
        == 200
    )
    assert (
        api("PUT", "/object/b/a/new.png", data=b"five", headers=headers).status_code
        == 200
    )
    assert standin.objects[("b", "a/b.png")].data == b"four"


def test_standin_serves_public_objects_with_stored_headers(
    api: Client, standin: StorageStandIn
) -> None:
    api(
        "POST",
        "/object/b/x/y.png",
        data=b"data",
        headers={"Content-Type": "image/webp", "cache-control": "max-age=9"},
    )
    url = f"{standin.api_url}/object/public/b/x/y.png"
    for response in (requests.get(url, timeout=10), requests.head(url, timeout=10)):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/webp"
        assert response.headers["Cache-Control"] == "max-age=9"
        assert response.headers["ETag"] == f'"{hashlib.md5(b"data").hexdigest()}"'
    assert requests.get(url, timeout=10).content == b"data"
    info = requests.get(
        f"{standin.api_url}/object/info/public/b/x/y.png", timeout=10
    ).json()
    assert (info["size"], info["content_type"], info["etag"]) == (
        4,
        "image/webp",
        f'"{hashlib.md5(b"data").hexdigest()}"',
    )
    missing = requests.get(f"{standin.api_url}/object/public/b/none.png", timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (400, "NoSuchKey")
    assert api("HEAD", "/object/b/x/y.png").status_code == 200
    assert api("HEAD", "/object/b/none.png").status_code == 400


def test_standin_lists_one_folder_level(api: Client) -> None:
    for name in ("p/s/a.png", "p/s/b.png", "p/t/c.png", "p/d.png"):
        api(
            "POST",
            f"/object/b/{name}",
            data=b"x",
            headers={"Content-Type": "image/png"},
        )
    listed = api(
        "POST", "/object/list/b", json={"prefix": "p", "limit": 100, "offset": 0}
    ).json()
    assert [(e["name"], e["id"] is None) for e in listed] == [
        ("d.png", False),
        ("s", True),
        ("t", True),
    ]
    assert listed[0]["metadata"]["size"] == 1
    page = api(
        "POST", "/object/list/b", json={"prefix": "p/s/", "limit": 1, "offset": 1}
    ).json()
    assert [e["name"] for e in page] == ["b.png"]


def test_standin_deletes_single_and_bulk(api: Client) -> None:
    for name in ("a.png", "b.png", "c.png"):
        api(
            "POST",
            f"/object/b/{name}",
            data=b"x",
            headers={"Content-Type": "image/png"},
        )
    assert api("DELETE", "/object/b/a.png").json() == {
        "message": "Successfully deleted"
    }
    again = api("DELETE", "/object/b/a.png")
    assert (again.status_code, again.json()["statusCode"], again.json()["code"]) == (
        400,
        "404",
        "NoSuchKey",
    )
    bulk = api(
        "DELETE", "/object/b", json={"prefixes": ["b.png", "missing.png", "c.png"]}
    )
    assert sorted(e["name"] for e in bulk.json()) == ["b.png", "c.png"]


def test_standin_refuses_types_and_sizes_the_bucket_does_not_take(
    standin: StorageStandIn,
) -> None:
    api = Client(standin)
    api(
        "POST",
        "/bucket",
        json={
            "name": "img",
            "public": True,
            "file_size_limit": 3,
            "allowed_mime_types": ["image/*"],
        },
    )
    wrong_type = api(
        "POST", "/object/img/a.html", data=b"<a>", headers={"Content-Type": "text/html"}
    )
    assert (
        wrong_type.status_code,
        wrong_type.json()["statusCode"],
        wrong_type.json()["code"],
    ) == (400, "415", "InvalidMimeType")
    too_big = api(
        "POST", "/object/img/a.png", data=b"1234", headers={"Content-Type": "image/png"}
    )
    assert (too_big.json()["statusCode"], too_big.json()["code"]) == (
        "413",
        "EntityTooLarge",
    )


def test_standin_unknown_routes_are_real_404s(
    api: Client, standin: StorageStandIn
) -> None:
    response = api("GET", "/nothing/here")
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404  # numeric, unlike the API's errors
    without_prefix = requests.get(
        f"{standin.url}/bucket/b", headers=api.headers, timeout=10
    )
    assert without_prefix.status_code == 404


def test_standin_direct_mode_serves_at_the_root() -> None:
    with StorageStandIn(gateway=False) as direct:
        assert direct.api_url == direct.url
        api = Client(direct)
        assert (
            api("POST", "/bucket", json={"name": "b", "public": True}).status_code
            == 200
        )
        prefixed = requests.get(
            f"{direct.url}/storage/v1/bucket/b", headers=api.headers, timeout=10
        )
        assert (prefixed.status_code, prefixed.json()["statusCode"]) == (404, 404)


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "SlowDown"), (500, "InternalError"), (544, "DatabaseTimeout")],
)
def test_standin_fails_on_demand(
    api: Client, standin: StorageStandIn, status: int, code: str
) -> None:
    standin.fail_next(2, status)
    for _ in range(2):
        response = api("GET", "/bucket/b")
        assert (
            response.status_code,
            response.json()["statusCode"],
            response.json()["code"],
        ) == (status, str(status), code)
    assert api("GET", "/bucket/b").status_code == 200


def test_standin_v1_36_4_bodies_are_the_observed_ones() -> None:
    """The bodies shared/supabase-storage-api.md lists as observed on v1.36.4: no `code`."""
    with StorageStandIn(error_shape="v1.36.4") as old:
        api = Client(old)
        missing_bucket = api("GET", "/bucket/nope")
        assert (missing_bucket.status_code, missing_bucket.json()) == (
            400, {"statusCode": "404", "error": "Bucket not found", "message": "Bucket not found"})
        assert api("POST", "/bucket", json={"name": "b", "id": "b", "public": True}).ok
        again = api("POST", "/bucket", json={"name": "b", "id": "b", "public": True})
        assert again.json() == {"statusCode": "409", "error": "Duplicate", "message": "The resource already exists"}
        assert api("POST", "/object/b/x.png", data=b"png", headers={"Content-Type": "image/png"}).ok
        duplicate = api("POST", "/object/b/x.png", data=b"png", headers={"Content-Type": "image/png"})
        assert duplicate.json() == {"statusCode": "409", "error": "Duplicate", "message": "The resource already exists"}
        missing_object = requests.get(f"{old.api_url}/object/public/b/none.png", timeout=10)
        assert (missing_object.status_code, missing_object.json()) == (
            400, {"statusCode": "404", "error": "not_found", "message": "Object not found"})
        no_auth = requests.get(f"{old.api_url}/bucket/b", headers={"apikey": old.service_key}, timeout=10)
        assert no_auth.json() == {"statusCode": "400", "error": "Error",
                                  "message": "headers must have required property 'authorization'"}
