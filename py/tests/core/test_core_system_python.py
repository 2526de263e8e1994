"""The core package under the server's own Python: /usr/bin/python3 with Debian's
python3-requests 2.28 / urllib3 1.26 (what PL/Python imports), not this venv's libraries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from launchers import MotoServer
from sources import DEADLINE_MARGIN_S, ImageSourceServer
from tls import TLS_HOSTNAME, TlsFiles

SYSTEM_PYTHON = "/usr/bin/python3"
PY_DIR = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("system_python_probe.py")


@pytest.fixture(scope="module")
def probe(
    _source_server: tuple[ImageSourceServer, dict[str, bytes]],
    _other_server: ImageSourceServer,
    _tls_server: ImageSourceServer,
    tls_files: TlsFiles,
    moto: MotoServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    if not shutil.which(SYSTEM_PYTHON):
        pytest.skip("no /usr/bin/python3")
    source, _ = _source_server
    source.redirect("/to-other", _other_server.url("/img.png"))
    _other_server.clear_log()
    config = {
        "source": source.url(""),
        "tls_host": TLS_HOSTNAME,
        "tls_port": _tls_server.port,
        "ca_file": tls_files.ca_file,
        "root": str(tmp_path_factory.mktemp("system-python") / "storage"),
        "s3": moto.s3_settings("scene-images-system-python"),
    }
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": f"{PY_DIR}{os.pathsep}{PY_DIR / 'tests'}",
        "PYTHONNOUSERSITE": "1",
    }
    done = subprocess.run(
        [SYSTEM_PYTHON, str(PROBE), json.dumps(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, Any] = json.loads(done.stdout)
    results["other_requests"] = list(_other_server.requests)
    return results


def test_system_python_uses_debian_libraries(probe: dict[str, Any]) -> None:
    assert probe["versions"]["urllib3"].startswith("1.26.")
    assert probe["versions"]["requests"] == "2.28.1"
    assert probe["socket_guarded"]


def test_system_python_fetches_inspects_and_stores(probe: dict[str, Any]) -> None:
    assert probe["ingest"]["value"] == {
        "content_type": "image/webp",
        "width": 64,
        "exists": True,
    }
    assert probe["store_many"]["value"] == 4
    assert probe["redirects"]["value"] == 3


def test_system_python_stores_to_s3_with_debian_boto3(probe: dict[str, Any]) -> None:
    listed, still_there = probe["s3"]["value"][:-1], probe["s3"]["value"][-1]
    assert len(listed) == 1 and listed[0].startswith("projects/p3/scenes/scene-3_")
    assert still_there == "False"


def test_system_python_pins_https_and_verifies_the_name(probe: dict[str, Any]) -> None:
    assert probe["https_pinned"]["value"] > 0
    assert probe["https_wrong_name"]["error"] == "SourceUnreachable"


def test_system_python_enforces_deadline_and_cancel(probe: dict[str, Any]) -> None:
    for name in ("trickle", "silent"):  # timeout_s 1.0 against stalls of STALL_S
        assert probe[name]["error"] == "SourceTimeout"
        assert probe[name]["seconds"] < 1.0 + DEADLINE_MARGIN_S
    assert probe["cancelled"]["error"] == "IngestCancelled"
    assert probe["cancelled"]["after_cancel_seconds"] < DEADLINE_MARGIN_S


def test_system_python_refuses_like_the_venv(probe: dict[str, Any]) -> None:
    assert probe["lying_length"]["error"] == "SourceIncomplete"
    assert probe["big_no_length"]["error"] == "SourceTooLarge"
    assert probe["redirect_to_other_loopback"]["error"] == "PrivateAddressRefused"
    assert probe["other_requests"] == []
    assert probe["not_an_image"]["error"] == "SourceNotAnImage"
