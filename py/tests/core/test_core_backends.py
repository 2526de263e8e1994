"""The three storage backends against real servers: a directory, moto S3, the Supabase stand-in."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import requests
from images import make_image
from launchers import MotoServer, moto_server
from supabase_storage_standin import ANON_KEY, StorageStandIn

from scene_images_core.backends import Backend, make_backend
from scene_images_core.backends.base import CACHE_CONTROL
from scene_images_core.backends.supabase import SupabaseBackend
from scene_images_core.errors import StorageFailed, StorageMisconfigured

PNG = make_image("png")
PATH = "projects/p1/scenes/s1_20240102T030405000006Z_0123456789ab.png"


# --- the contract, for every backend -------------------------------------------------------


def test_backend_put_returns_the_public_url(backend: Backend) -> None:
    url = backend.put(PATH, PNG, "image/png")
    assert url == backend.public_url(PATH)
    assert url.endswith("/" + PATH)
    assert backend.exists(PATH)


def test_backend_never_overwrites(backend: Backend) -> None:
    backend.put(PATH, PNG, "image/png")
    with pytest.raises(StorageFailed, match="never overwritten") as caught:
        backend.put(PATH, b"other bytes", "image/png")
    assert caught.value.sqlstate == "SIS01"


def test_backend_delete_removes_and_tolerates_missing(backend: Backend) -> None:
    backend.put(PATH, PNG, "image/png")
    backend.delete(PATH)
    assert not backend.exists(PATH)
    backend.delete(PATH)  # already gone: fine


def test_backend_lists_recursively_by_prefix(backend: Backend) -> None:
    paths = [
        "projects/p1/scenes/a_1.png",
        "projects/p1/scenes/b_2.png",
        "projects/p1/other/c_3.png",
        "projects/p2/scenes/d_4.png",
    ]
    for path in paths:
        backend.put(path, PNG, "image/png")
    listed = sorted(backend.list("projects/p1/"), key=lambda o: o.path)
    assert [o.path for o in listed] == sorted(paths[:3])
    assert {o.size for o in listed} == {len(PNG)}
    assert all(o.modified_at.tzinfo is not None for o in listed)
    assert sorted(o.path for o in backend.list("projects/p1/scenes/a")) == [
        "projects/p1/scenes/a_1.png"
    ]
    assert sorted(o.path for o in backend.list("")) == sorted(paths)
    assert list(backend.list("projects/none/")) == []


@pytest.mark.parametrize(
    "path", ["../escape.png", "/abs.png", "a//b.png", "a/./b.png", "a\\b.png", ""]
)
def test_backend_refuses_unsafe_paths(backend: Backend, path: str) -> None:
    with pytest.raises(ValueError):
        backend.put(path, PNG, "image/png")


def test_backend_describe_has_no_secrets(backend: Backend) -> None:
    text = repr(backend.describe())
    assert backend.describe()["kind"] == backend.kind
    for secret in ("test-secret-access-key-do-not-leak", "standin-service-role-key"):
        assert secret not in text


def test_make_backend_refuses_unknown_kind() -> None:
    with pytest.raises(
        StorageMisconfigured, match="unknown storage backend 'ftp'"
    ) as caught:
        make_backend("ftp", {})
    assert caught.value.sqlstate == "SIS02"


# --- file ------------------------------------------------------------------------------------


def test_file_backend_writes_the_bytes_with_modes(
    file_backend: Backend, tmp_path: Path
) -> None:
    old = os.umask(0o077)  # modes must not depend on the server's umask
    try:
        url = file_backend.put(PATH, PNG, "image/png")
    finally:
        os.umask(old)
    target = tmp_path / "storage" / PATH
    assert target.read_bytes() == PNG
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o755
    assert url == "http://cdn.test/media/" + PATH
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".tmp-")]


MISSING_ROOT_HINT = (
    "The database owner creates it with configure_scene_image_storage('file', "
    "'{\"root\": ..., \"public_base_url\": ...}'), or creates the directory writable by the "
    "database server's OS user; the configured root is in scene_images_internal.settings."
)


def test_file_backend_put_into_a_missing_root_fails_with_sis02_naming_the_setting(
    tmp_path: Path,
) -> None:
    root = tmp_path / "unmounted"
    backend = make_backend("file", {"root": str(root), "public_base_url": "http://cdn.test"})
    with pytest.raises(StorageMisconfigured) as caught:
        backend.put(PATH, PNG, "image/png")
    error = caught.value
    assert error.sqlstate == "SIS02"
    # The owner (and the server log) learn which directory; a client role reads that the root
    # is missing, and the hint, neither of which names the path.
    assert error.message == (
        f"file storage root {root} is missing: the directory of storage setting root does not exist"
        " or the server cannot reach it"
    )
    assert error.client_message == (
        "file storage backend: the storage root is missing (the directory of storage setting root"
        " does not exist or the server cannot reach it)"
    )
    assert error.hint == MISSING_ROOT_HINT
    assert str(tmp_path) not in error.client_message + error.hint
    assert not root.exists()  # a missing root is not silently recreated
    backend.ensure_ready()  # what configure_scene_image_storage does
    backend.put(PATH, PNG, "image/png")
    assert (root / PATH).read_bytes() == PNG


def test_file_backend_put_that_fails_inside_the_root_stays_sis01(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    (root / "projects").mkdir(parents=True)
    (root / "projects" / "p").write_text("a file where a folder must go")
    backend = make_backend("file", {"root": str(root), "public_base_url": "http://cdn.test"})
    with pytest.raises(StorageFailed, match="Not a directory") as caught:
        backend.put("projects/p/scenes/s.png", PNG, "image/png")
    assert caught.value.hint is None
    assert str(tmp_path) not in caught.value.client_message


@pytest.mark.parametrize("root", [None, ""], ids=["null", "empty"])
def test_file_backend_without_root_fails_with_sis02_naming_the_setting(root: str | None) -> None:
    with pytest.raises(StorageMisconfigured) as caught:
        make_backend("file", {"root": root, "public_base_url": "http://cdn.test"})
    error = caught.value
    assert error.message == "file storage setting(s) missing: root"
    assert error.client_message == "file storage backend: storage setting(s) missing: root"
    assert error.hint == (
        "The database owner sets them with configure_scene_image_storage('file', "
        "'{\"root\": ..., \"public_base_url\": ...}')."
    )


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"public_base_url": "http://cdn.test"}, "missing: root"),
        ({"root": "relative/dir", "public_base_url": "http://cdn.test"}, "absolute"),
        (
            {"root": "/srv/x", "public_base_url": "cdn.test"},
            "public_base_url must be an http",
        ),
        (
            {"root": "/srv/x", "public_base_url": "http://cdn.test", "mode": "0600"},
            "unknown file storage setting",
        ),
        (
            {"root": 5, "public_base_url": "http://cdn.test"},
            "root must be a non-empty string",
        ),
    ],
)
def test_file_backend_validates_settings(
    settings: dict[str, object], complaint: str
) -> None:
    with pytest.raises(StorageMisconfigured, match=complaint):
        make_backend("file", settings)


# --- s3 (moto) -------------------------------------------------------------------------------


def s3_client(moto: MotoServer) -> Any:
    import boto3

    settings = moto.s3_settings("unused")
    return boto3.client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name=settings["region"],
        aws_access_key_id=settings["access_key_id"],
        aws_secret_access_key=settings["secret_access_key"],
    )


def test_s3_backend_stores_bytes_type_and_cache_control(
    s3_backend: Backend, moto: MotoServer
) -> None:
    url = s3_backend.put(PATH, PNG, "image/png")
    bucket = s3_backend.describe()["bucket"]
    assert url == f"{moto.endpoint_url}/{bucket}/{PATH}"
    stored = s3_client(moto).get_object(Bucket=bucket, Key=PATH)
    assert stored["Body"].read() == PNG
    assert (stored["ContentType"], stored["CacheControl"]) == (
        "image/png",
        CACHE_CONTROL,
    )


def test_s3_backend_ensure_ready_creates_the_bucket_once(moto: MotoServer) -> None:
    backend = make_backend("s3", moto.s3_settings("scene-images-created"))
    # Every S3 operation the backend's (real boto3) client calls, counted by botocore's own hook.
    called: list[str] = []
    client = backend._client  # type: ignore[attr-defined]
    client.meta.events.register("before-call.s3", lambda model, **_: called.append(model.name))
    backend.ensure_ready()
    assert called == ["HeadBucket", "CreateBucket"]  # missing, so created
    backend.ensure_ready()
    assert called == ["HeadBucket", "CreateBucket", "HeadBucket"]  # exists now: only checked
    assert "scene-images-created" in {b["Name"] for b in s3_client(moto).list_buckets()["Buckets"]}
    backend.put(PATH, PNG, "image/png")


def test_s3_backend_uses_public_base_url(moto: MotoServer) -> None:
    settings = {
        **moto.s3_settings("scene-images-cdn"),
        "public_base_url": "https://cdn.test/images/",
    }
    assert (
        make_backend("s3", settings).public_url(PATH)
        == "https://cdn.test/images/" + PATH
    )


def test_s3_backend_fails_cleanly_when_the_server_is_gone() -> None:
    with moto_server() as server:
        settings = server.s3_settings("scene-images-gone")
        backend = make_backend("s3", settings)
        backend.ensure_ready()
        server.stop()
        for action in (
            lambda: backend.put(PATH, PNG, "image/png"),
            lambda: backend.delete(PATH),
            lambda: list(backend.list("")),
        ):
            with pytest.raises(StorageFailed) as caught:
                action()
            assert settings["secret_access_key"] not in caught.value.message
            assert "Could not connect" in caught.value.message


def test_s3_backend_validates_settings_without_echoing_secrets(
    moto: MotoServer,
) -> None:
    settings = moto.s3_settings("b")
    del settings["region"]
    with pytest.raises(StorageMisconfigured, match="missing: region") as caught:
        make_backend("s3", settings)
    assert settings["secret_access_key"] not in caught.value.message


# --- supabase (stand-in) --------------------------------------------------------------------


def test_supabase_backend_uploads_as_the_api_describes(
    supabase_backend: Backend, standin: StorageStandIn
) -> None:
    url = supabase_backend.put(PATH, PNG, "image/png")
    assert url == f"{standin.url}/storage/v1/object/public/scene-images/{PATH}"
    upload = next(
        r for r in standin.requests if r.method == "POST" and r.path.endswith(PATH)
    )
    assert upload.headers["apikey"] == standin.service_key
    assert upload.headers["Authorization"] == f"Bearer {standin.service_key}"
    assert upload.headers["Content-Type"] == "image/png"
    assert upload.headers["cache-control"] == CACHE_CONTROL
    assert "x-upsert" not in {k.lower() for k in upload.headers}
    public = requests.get(url, timeout=10)
    assert (
        public.content,
        public.headers["Content-Type"],
        public.headers["Cache-Control"],
    ) == (PNG, "image/png", CACHE_CONTROL)


def bucket_requests(standin: StorageStandIn, bucket: str) -> list[tuple[str, str]]:
    """(method, path) of the bucket API requests the stand-in received, in order."""
    return [
        (r.method, r.path.rsplit("/storage/v1", 1)[-1])
        for r in standin.requests
        if r.path.rsplit("/storage/v1", 1)[-1] in ("/bucket", f"/bucket/{bucket}")
    ]


def test_supabase_backend_creates_a_missing_bucket_public_once(
    standin: StorageStandIn,
) -> None:
    backend = SupabaseBackend(standin.backend_settings("fresh-bucket"))
    backend.ensure_ready()
    bucket = standin.buckets["fresh-bucket"]
    assert (bucket.public, bucket.allowed_mime_types, bucket.file_size_limit) == (
        True,
        ["image/*"],
        52428800,
    )
    assert bucket_requests(standin, "fresh-bucket") == [
        ("GET", "/bucket/fresh-bucket"),  # missing
        ("POST", "/bucket"),  # so created
    ]
    backend.ensure_ready()  # exists now: only read
    SupabaseBackend(standin.backend_settings("fresh-bucket")).ensure_ready()  # a new backend too
    assert bucket_requests(standin, "fresh-bucket")[2:] == [
        ("GET", "/bucket/fresh-bucket"),
        ("GET", "/bucket/fresh-bucket"),
    ]


def test_supabase_backend_refuses_a_private_bucket(standin: StorageStandIn) -> None:
    requests.post(
        f"{standin.api_url}/bucket",
        json={"name": "private", "public": False},
        headers={
            "apikey": standin.service_key,
            "Authorization": f"Bearer {standin.service_key}",
        },
        timeout=10,
    ).raise_for_status()
    with pytest.raises(StorageMisconfigured, match="not public"):
        SupabaseBackend(standin.backend_settings("private")).ensure_ready()


def test_supabase_backend_lists_page_by_page(
    supabase_backend: Backend, standin: StorageStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scene_images_core.backends.supabase.LIST_PAGE", 2)
    paths = [f"projects/p/scenes/s_{i}.png" for i in range(5)]
    for path in paths:
        supabase_backend.put(path, PNG, "image/png")
    assert sorted(o.path for o in supabase_backend.list("projects/")) == paths
    pages = [
        r for r in standin.requests if r.path.endswith("/object/list/scene-images")
    ]
    # "projects" and "projects/p" hold one folder each; "projects/p/scenes" 5 files: 2+2+1.
    assert len(pages) == 1 + 1 + 3


def test_supabase_backend_speaks_to_a_direct_server() -> None:
    with StorageStandIn(gateway=False) as direct:
        backend = SupabaseBackend(direct.backend_settings())
        backend.ensure_ready()
        assert (
            backend.put(PATH, PNG, "image/png")
            == f"{direct.url}/object/public/scene-images/{PATH}"
        )
        assert requests.get(backend.public_url(PATH), timeout=10).content == PNG


def test_supabase_backend_retries_slow_down_and_server_errors(
    supabase_backend: Backend, standin: StorageStandIn
) -> None:
    standin.fail_next(1, 429)
    standin.fail_next(1, 544)
    standin.fail_next(1, 500)
    supabase_backend.put(PATH, PNG, "image/png")
    uploads = [
        r for r in standin.requests if r.method == "POST" and r.path.endswith(PATH)
    ]
    assert len(uploads) == 4
    assert supabase_backend.exists(PATH)


def test_supabase_backend_gives_up_after_bounded_retries(
    supabase_backend: Backend, standin: StorageStandIn
) -> None:
    standin.fail_next(10, 500)
    with pytest.raises(StorageFailed, match=r"status 500"):
        supabase_backend.put(PATH, PNG, "image/png")
    uploads = [
        r for r in standin.requests if r.method == "POST" and r.path.endswith(PATH)
    ]
    assert len(uploads) == 4  # the first try and 3 retries


def test_supabase_backend_accepts_its_own_upload_after_a_failed_answer(
    supabase_backend: Backend, standin: StorageStandIn
) -> None:
    standin.fail_next(1, 500, after_write=True)  # stored, but answered 500
    supabase_backend.put(PATH, PNG, "image/png")
    assert standin.objects[("scene-images", PATH)].data == PNG


def test_supabase_backend_maps_bad_keys_to_misconfigured(
    standin: StorageStandIn,
) -> None:
    for key, reason in (
        (ANON_KEY, "row-level security"),
        ("forged.jwt.value", "signature verification failed"),
    ):
        backend = SupabaseBackend({**standin.backend_settings(), "service_key": key})
        with pytest.raises(StorageMisconfigured, match=reason) as caught:
            backend.ensure_ready()
        assert "service_key" in caught.value.message
        assert key not in caught.value.message


def test_supabase_backend_maps_a_missing_bucket(standin: StorageStandIn) -> None:
    backend = SupabaseBackend(standin.backend_settings("never-created"))
    with pytest.raises(StorageMisconfigured, match=r"status 404\).*configure the backend again"):
        backend.put(PATH, PNG, "image/png")


def test_supabase_backend_reports_refused_types(supabase_backend: Backend) -> None:
    with pytest.raises(StorageFailed, match=r"status 415"):
        supabase_backend.put(PATH, b"<html></html>", "text/html")


def test_supabase_backend_fails_cleanly_when_the_server_is_gone() -> None:
    standin = StorageStandIn().start()
    backend = SupabaseBackend(standin.backend_settings(), backoff_s=0.01)
    backend.ensure_ready()
    standin.stop()
    with pytest.raises(StorageFailed, match="unreachable") as caught:
        backend.put(PATH, PNG, "image/png")
    assert standin.service_key not in caught.value.message


def test_supabase_backend_without_its_url_names_the_settings_to_give() -> None:
    with pytest.raises(StorageMisconfigured) as caught:
        make_backend("supabase", {"service_key": "k", "bucket": "b"})
    assert caught.value.client_message == "supabase storage backend: storage setting(s) missing: url or api_url"
    assert caught.value.hint == (
        "The database owner sets them with configure_scene_image_storage('supabase', "
        "'{\"service_key\": ..., \"bucket\": ..., \"url\": ...}')."
    )


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"service_key": "k", "bucket": "b"}, "url"),
        ({"url": "http://127.0.0.1:1", "bucket": "b"}, "missing: service_key"),
        (
            {"url": "not a url", "service_key": "k", "bucket": "b"},
            "url must be an http",
        ),
        (
            {"url": "http://127.0.0.1:1", "service_key": "k", "bucket": "a/b"},
            "bucket name",
        ),
        (
            {
                "url": "http://127.0.0.1:1",
                "service_key": "k",
                "bucket": "b",
                "upsert": "true",
            },
            "unknown",
        ),
    ],
)
def test_supabase_backend_validates_settings(
    settings: dict[str, object], complaint: str
) -> None:
    with pytest.raises(StorageMisconfigured, match=complaint):
        make_backend("supabase", settings)
