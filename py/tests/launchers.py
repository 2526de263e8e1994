"""Server launchers for storage: `moto_server()` runs a real moto S3 server subprocess on a
free 127.0.0.1 port; `supabase_standin()` starts the Supabase Storage stand-in
(supabase_storage_standin.py, NOT Supabase itself). Both stop on leaving the `with`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loopback_http import free_port, wait_for_port
from supabase_storage_standin import StorageStandIn


@dataclass
class MotoServer:
    endpoint_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def s3_settings(self, bucket: str) -> dict[str, str]:
        """Settings for scene_images_core's s3 backend against this server."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": "eu-west-1",
            "bucket": bucket,
            "access_key_id": "AKIATESTKEY",
            "secret_access_key": "test-secret-access-key-do-not-leak",
        }


@contextmanager
def moto_server(port: int | None = None) -> Iterator[MotoServer]:
    """`python -m moto.server` on 127.0.0.1:`port` (default: a free one), stopped on exit.
    A given port lets a test bring storage back where the configured settings point."""
    port = port or free_port()
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    server = MotoServer(f"http://127.0.0.1:{port}", process)
    try:
        wait_for_port("127.0.0.1", port)
        yield server
    finally:
        server.stop()



@contextmanager
def supabase_standin(*, gateway: bool = True, error_shape: str = "code") -> Iterator[StorageStandIn]:
    """The Supabase Storage stand-in on a free 127.0.0.1 port. `.url` is the project URL
    (gateway mode: API under /storage/v1), `.api_url` the API base, `.service_key`;
    `error_shape` picks the release whose error bodies it sends."""
    with StorageStandIn(gateway=gateway, error_shape=error_shape) as standin:
        yield standin
