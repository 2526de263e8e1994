"""Fixtures for the core package's tests: loopback servers, backends, a network guard.

Every test here runs under `guard_loopback_only`: a connect() outside 127.0.0.0/8 and ::1, or
a DNS lookup of a name, fails the test instead of reaching the network.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from launchers import MotoServer, moto_server
from network_guard import guard_loopback_only
from sources import ImageSourceServer, install_standard_routes
from supabase_storage_standin import ERROR_SHAPES, StorageStandIn
from tls import TLS_HOSTNAME, TlsFiles, tls_certificate

from scene_images_core.backends import Backend, make_backend
from scene_images_core.policy import FetchPolicy


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    guard_loopback_only(monkeypatch)


@pytest.fixture(scope="session")
def _source_server() -> Iterator[tuple[ImageSourceServer, dict[str, bytes]]]:
    with ImageSourceServer("127.0.0.1") as server:
        yield server, install_standard_routes(server)


@pytest.fixture
def source(
    _source_server: tuple[ImageSourceServer, dict[str, bytes]],
) -> ImageSourceServer:
    """The image source on 127.0.0.1 with the standard routes; its log starts empty."""
    server, _ = _source_server
    server.clear_log()
    return server


@pytest.fixture
def source_images(
    _source_server: tuple[ImageSourceServer, dict[str, bytes]],
) -> dict[str, bytes]:
    """The bytes served per image route of `source`."""
    return _source_server[1]


@pytest.fixture(scope="session")
def _other_server() -> Iterator[ImageSourceServer]:
    with ImageSourceServer("127.0.0.2") as server:
        install_standard_routes(server)
        yield server


@pytest.fixture
def other_loopback(_other_server: ImageSourceServer) -> ImageSourceServer:
    """A second image source on 127.0.0.2 (not in the policy's allowed CIDR); log empty."""
    _other_server.clear_log()
    return _other_server


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_certificate(tmp_path_factory.mktemp("tls"), [TLS_HOSTNAME])


@pytest.fixture(scope="session")
def _tls_server(tls_files: TlsFiles) -> Iterator[ImageSourceServer]:
    with ImageSourceServer("127.0.0.1", tls=tls_files) as server:
        install_standard_routes(server)
        yield server


@pytest.fixture
def tls_source(_tls_server: ImageSourceServer) -> ImageSourceServer:
    """An HTTPS image source whose certificate names cdn.generator.test only."""
    _tls_server.clear_log()
    return _tls_server


@pytest.fixture
def loopback_policy() -> FetchPolicy:
    """Allows 127.0.0.1 only (not the rest of 127/8); small limits so tests run fast."""
    return FetchPolicy(
        allow_private_networks=("127.0.0.1/32",), max_bytes=1024 * 1024, timeout_s=5.0
    )


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def s3_backend(moto: MotoServer) -> Backend:
    """An s3 backend on a fresh bucket of the shared moto server."""
    backend = make_backend(
        "s3", moto.s3_settings(f"scene-images-{uuid.uuid4().hex[:12]}")
    )
    backend.ensure_ready()
    return backend


@pytest.fixture(params=ERROR_SHAPES)
def standin(request: pytest.FixtureRequest) -> Iterator[StorageStandIn]:
    """Every backend test runs against both error-body shapes (releases with and without `code`)."""
    with StorageStandIn(error_shape=request.param) as server:
        yield server


def _ready_supabase_backend(standin: StorageStandIn) -> Backend:
    from scene_images_core.backends.supabase import SupabaseBackend

    backend = SupabaseBackend(standin.backend_settings(), backoff_s=0.01)
    backend.ensure_ready()
    return backend


@pytest.fixture
def supabase_backend(standin: StorageStandIn) -> Backend:
    return _ready_supabase_backend(standin)


@pytest.fixture(params=["file", "s3", *(f"supabase:{shape}" for shape in ERROR_SHAPES)])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn (file, s3 on moto, supabase on the stand-in in both error-body
    shapes), ready to use."""
    kind, _, shape = request.param.partition(":")
    if kind == "supabase":
        server = StorageStandIn(error_shape=shape).start()
        request.addfinalizer(server.stop)
        return _ready_supabase_backend(server)
    chosen: Backend = request.getfixturevalue(f"{kind}_backend")
    return chosen


@pytest.fixture
def file_backend(tmp_path: Path) -> Backend:
    backend = make_backend(
        "file",
        {
            "root": str(tmp_path / "storage"),
            "public_base_url": "http://cdn.test/media/",
        },
    )
    backend.ensure_ready()
    return backend
