"""The `scene-images` CLI as a user runs it: a separate process against the real test database
(PG* environment), every command's success, its failures' exit status and stderr."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import socket
import struct
import subprocess
import sys
import termios
import uuid
from pathlib import Path

import pytest
from client_sources import FetchPolicy, ImageSource

from scene_images.bulk_input import InputError, parse_requests

pytest_plugins = ["client_fixtures"]

CLI = Path(sys.executable).with_name("scene-images")
COMMANDS = [
    "create-project", "store", "bulk", "url", "history", "rollback",
    "master-json", "configure-storage", "configure-fetch", "configure-limits", "enqueue", "job", "sweep", "worker",
]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(*args: str, stdin: str | None = None) -> str:
    done = run(*args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_fails(done: subprocess.CompletedProcess[str], sqlstate: str) -> None:
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith(f"error [{sqlstate}] "), done.stderr
    assert "Traceback" not in done.stderr


def store(project_id: uuid.UUID, url: str, scene_id: str = "scene_01") -> dict[str, object]:
    stored: dict[str, object] = json.loads(ok("store", str(project_id), scene_id, url, "--json"))
    return stored


# --- help and usage ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_help_is_available_for_every_command(command: str) -> None:
    assert ok(command, "--help").startswith(f"usage: scene-images {command}")


def test_cli_help_lists_every_command() -> None:
    out = ok("--help")
    assert all(command in out for command in COMMANDS)


def test_cli_usage_errors_exit_2() -> None:
    done = run("url", "not-a-uuid", "scene_01")
    assert done.returncode == 2 and "invalid UUID" in done.stderr


@pytest.mark.parametrize("flags", [["--concurrency", "0"], ["--lease", "0"], ["--idle-wait", "0"]],
                         ids=["concurrency", "lease", "idle_wait"])
def test_worker_refuses_bad_flags_with_exit_2(flags: list[str]) -> None:
    done = run("worker", *flags)
    assert done.returncode == 2 and "--idle-wait at least 0.05" in done.stderr, done.stderr


def test_cli_connection_failure_prints_08001_without_traceback() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert_fails(run("master-json", str(uuid.uuid4()), "--dsn", f"host=127.0.0.1 port={port} connect_timeout=5"), "08001")


# --- create-project, master-json --------------------------------------------------------------


def test_create_project_prints_the_id_and_master_json_prints_the_document(tmp_path: Path) -> None:
    master = {"title": "Lighthouse", "scenes": {"scene_01": {"duration": 4}}}
    (tmp_path / "master.json").write_text(json.dumps(master))
    project_id = uuid.UUID(ok("create-project", "--name", "lighthouse", "--master-json", f"@{tmp_path}/master.json").strip())
    assert json.loads(ok("master-json", str(project_id))) == master


def test_create_project_json_prints_the_project() -> None:
    project = json.loads(ok("create-project", "--master-json", "-", "--json", stdin='{"scenes": {}}'))
    assert project["master_json"] == {"scenes": {}} and uuid.UUID(project["id"])


def test_create_project_fails_with_constraint_violation() -> None:
    assert_fails(run("create-project", "--name", "x" * 201), "23514")


def test_master_json_fails_for_an_unknown_project() -> None:
    assert_fails(run("master-json", str(uuid.uuid4())), "SIP01")


# --- store, url, history, rollback ------------------------------------------------------------


def test_store_prints_the_summary_table(project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy) -> None:
    out = ok("store", str(project_id), "scene_01", image_source.image(16, 9), "--prompt", "dawn")
    header, row = out.splitlines()
    assert header.split() == ["scene", "version", "size", "dimensions", "permanent", "URL"]
    assert row.split()[:2] == ["scene_01", "1"] and "16x9" in row and "http://" in row


def test_store_json_prints_the_row(project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy) -> None:
    done = ok("store", str(project_id), "scene_01", image_source.image(), "--provider", "cli_test",
              "--metadata", '{"seed": 5}', "--json")
    image = json.loads(done)
    assert (image["provider"], image["fal_metadata"]["seed"], image["version"]) == ("cli_test", 5, 1)


def test_store_fails_with_the_source_error(
    project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    assert_fails(run("store", str(project_id), "scene_01", image_source.url("/missing.png")), "SIF01")


def test_store_fails_for_an_unknown_project(image_source: ImageSource) -> None:
    assert_fails(run("store", str(uuid.uuid4()), "scene_01", image_source.image()), "SIP01")


def test_url_prints_the_current_permanent_url(
    project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    image = store(project_id, image_source.image())
    assert ok("url", str(project_id), "scene_01").strip() == image["storage_url"]


def test_url_exits_1_for_a_scene_without_image(project_id: uuid.UUID) -> None:
    done = run("url", str(project_id), "scene_01")
    assert (done.returncode, done.stdout) == (1, "") and "has no image" in done.stderr


def test_history_lists_every_version(project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy) -> None:
    for _ in range(2):
        store(project_id, image_source.image())
    lines = ok("history", str(project_id), "scene_01").splitlines()
    assert lines[0].split()[:2] == ["version", "current"]
    assert len(lines) == 3 and lines[1].split()[1] != "*" and lines[2].split()[:2] == ["2", "*"]
    versions = json.loads(ok("history", str(project_id), "scene_01", "--json"))
    assert [(v["version"], v["is_current"]) for v in versions] == [(1, False), (2, True)]


def test_rollback_makes_the_version_current_and_master_json_follows(
    project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    first = store(project_id, image_source.image())
    store(project_id, image_source.image())
    current = json.loads(ok("rollback", str(project_id), "scene_01", "1", "--json"))
    assert (current["id"], current["is_current"]) == (first["id"], True)
    master = json.loads(ok("master-json", str(project_id)))
    assert master["scenes"]["scene_01"]["scene_start_frame"] == first["storage_url"]


def test_rollback_fails_with_version_not_found(project_id: uuid.UUID) -> None:
    assert_fails(run("rollback", str(project_id), "scene_01", "3"), "SIV01")


# --- bulk -------------------------------------------------------------------------------------


def test_bulk_stores_the_scenes_of_a_master_json(
    project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy, tmp_path: Path
) -> None:
    master = {"scenes": {
        "scene_01": {"image_url": image_source.image(), "prompt": "dawn"},
        "scene_02": {"image_url": image_source.image(), "prompt": "noon"},
        "scene_03": {"scene_start_frame": "http://127.0.0.1:9/already-stored.png"},
    }}
    (tmp_path / "master.json").write_text(json.dumps(master))
    out = ok("bulk", str(project_id), str(tmp_path / "master.json"), "--url-field", "image_url", "--chunk-size", "1")
    assert [line.split()[0] for line in out.splitlines()] == ["scene", "scene_01", "scene_02"]
    scenes = json.loads(ok("master-json", str(project_id)))["scenes"]
    assert set(scenes) == {"scene_01", "scene_02"}  # scene_03 has no image_url: skipped


def test_bulk_stores_a_csv_in_order(
    project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy, tmp_path: Path
) -> None:
    rows = [("scene_b", image_source.image(), "b"), ("scene_a", image_source.image(), "")]
    (tmp_path / "scenes.csv").write_text("scene_id,source_url,prompt\n" + "".join(f"{s},{u},{p}\n" for s, u, p in rows))
    images = json.loads(ok("bulk", str(project_id), str(tmp_path / "scenes.csv"), "--json"))
    assert [(i["scene_id"], i["generation_prompt"]) for i in images] == [("scene_b", "b"), ("scene_a", None)]


def test_bulk_reads_a_json_list_from_stdin(project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy) -> None:
    requests = [{"scene_id": f"scene_{n}", "source_url": image_source.image()} for n in range(5)]
    images = json.loads(ok("bulk", str(project_id), "-", "--chunk-size", "2", "--json", stdin=json.dumps(requests)))
    assert [i["scene_id"] for i in images] == [r["scene_id"] for r in requests]


def test_bulk_keeps_the_chunks_stored_before_a_failure(
    project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    requests = [
        {"scene_id": "scene_ok", "source_url": image_source.image()},
        {"scene_id": "scene_bad", "source_url": image_source.url("/not-an-image.png")},
    ]
    done = run("bulk", str(project_id), "-", "--chunk-size", "1", stdin=json.dumps(requests))
    assert_fails(done, "SII01")
    assert "scene_ok" in done.stdout
    assert ok("url", str(project_id), "scene_ok").startswith("http://")


def test_bulk_shows_progress_on_a_terminal(
    project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    requests = [{"scene_id": f"scene_{n}", "source_url": image_source.image()} for n in range(3)]
    terminal, stderr = pty.openpty()  # tqdm draws only on a terminal, and within its width
    fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    done = subprocess.run([str(CLI), "bulk", str(project_id), "-", "--chunk-size", "1"], input=json.dumps(requests),
                          stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=60, check=False)
    os.close(stderr)
    drawn = _read_all(terminal).decode()
    assert done.returncode == 0
    assert "storing" in drawn and "1/3" in drawn and "3/3" in drawn


def _read_all(terminal: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(terminal, 65536):
            chunks.append(chunk)
    except OSError:  # EIO: the other end is closed and everything was read
        pass
    finally:
        os.close(terminal)
    return b"".join(chunks)


def test_bulk_input_reads_prompt_provider_and_metadata_from_master_json() -> None:
    text = json.dumps({"scenes": {"s1": {"source_url": "https://a/1.png", "image_prompt": "p",
                                         "provider": "replicate", "metadata": {"k": 1}}}})
    [request] = parse_requests(text, prompt_field="image_prompt")
    assert (request.prompt, request.provider, request.metadata) == ("p", "replicate", {"k": 1})


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("scene_id,prompt\ns1,p\n", "scenes.csv", "lacks source_url"),
        ('[{"scene_id": "s1", "source_url": "https://a/1.png", "colour": "red"}]', "-", "unknown keys colour"),
        ('[{"scene_id": "s1"}]', "-", "must be strings"),
        ('{"scenes": {"s1": {"prompt": "no url"}}}', "-", "no image to store"),
        ("not json", "-", "not JSON"),
    ],
    ids=["csv_without_source_url", "unknown_key", "missing_url", "nothing_to_store", "not_json"],
)
def test_bulk_input_rejects_malformed_input(text: str, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_requests(text, name=name)


def test_bulk_rejects_unreadable_input_with_exit_2(project_id: uuid.UUID, tmp_path: Path) -> None:
    (tmp_path / "scenes.json").write_text('{"no": "scenes"}')
    done = run("bulk", str(project_id), str(tmp_path / "scenes.json"))
    assert done.returncode == 2 and done.stderr.startswith("error: ")


def test_bulk_rejects_a_chunk_size_over_the_server_limit(project_id: uuid.UUID) -> None:
    assert run("bulk", str(project_id), "-", "--chunk-size", "201").returncode == 2


# --- configure-storage, configure-fetch -------------------------------------------------------


def test_configure_storage_prints_the_effective_config(restore_settings: None, storage_dir: str, tmp_path: Path) -> None:
    (tmp_path / "storage.json").write_text(json.dumps({"root": f"{storage_dir}/objects"}))
    out = ok("configure-storage", "file", "--settings", f"@{tmp_path}/storage.json",
             "--set", "public_base_url=http://127.0.0.1:9/objects")
    assert json.loads(out) == {
        "backend": "file",
        "settings": {"root": f"{storage_dir}/objects", "public_base_url": "http://127.0.0.1:9/objects"},
    }


def test_configure_storage_fails_with_storage_misconfigured(restore_settings: None) -> None:
    assert_fails(run("configure-storage", "s3", "--set", "bucket=images"), "SIS02")


def test_configure_fetch_applies_the_flags(restore_settings: None) -> None:
    policy = json.loads(ok(
        "configure-fetch", "--allowed-host", "*.fal.media", "--allowed-host", "v3.fal.media",
        "--allow-private-network", "127.0.0.1/32", "--max-bytes", "1000000", "--timeout-s", "2.5",
        "--max-redirects", "0", "--max-pixels", "4000000",
    ))
    assert policy == {
        "allowed_hosts": ["*.fal.media", "v3.fal.media"],
        "allow_private_networks": ["127.0.0.1/32"],
        "max_bytes": 1000000,
        "timeout_s": 2.5,
        "max_redirects": 0,
        "max_pixels": 4000000,
    }
    assert json.loads(ok("configure-fetch", "--refuse-private-networks"))["allow_private_networks"] is False
    assert json.loads(ok("configure-fetch")) == {**policy, "allow_private_networks": False}


def test_configure_fetch_fails_with_invalid_argument(restore_settings: None) -> None:
    assert_fails(run("configure-fetch", "--settings", '{"max_megabytes": 1}'), "22023")


def test_configure_limits_applies_the_settings(restore_settings: None) -> None:
    limits = json.loads(ok("configure-limits", "--settings", '{"prompt_max_bytes": 1000}',
                           "--set", "bulk_deadline_s=2.5", "--set", "pending_jobs_per_project=7"))
    assert (limits["prompt_max_bytes"], limits["bulk_deadline_s"], limits["pending_jobs_per_project"]) == (1000, 2.5, 7)
    assert json.loads(ok("configure-limits")) == limits


def test_configure_limits_fails_with_invalid_argument(restore_settings: None) -> None:
    assert_fails(run("configure-limits", "--set", "metadata_max_depth=deep"), "22023")


# --- the queue and the sweep ------------------------------------------------------------------


def test_enqueue_prints_a_job_id_and_job_shows_it_queued(project_id: uuid.UUID, image_source: ImageSource) -> None:
    job_id = ok("enqueue", str(project_id), "scene_01", image_source.image(), "--prompt", "dawn").strip()
    job = json.loads(ok("job", job_id, "--json"))
    assert (job["id"], job["status"], job["prompt"], job["attempts"]) == (job_id, "queued", "dawn", 0)
    assert "queued" in ok("job", job_id)


def test_job_retry_of_a_queued_job_fails_with_job_not_retryable(
    project_id: uuid.UUID, image_source: ImageSource
) -> None:
    job_id = ok("enqueue", str(project_id), "scene_01", image_source.image()).strip()
    assert_fails(run("job", job_id, "--retry"), "SIJ02")


def test_job_fails_with_job_not_found() -> None:
    assert_fails(run("job", str(uuid.uuid4())), "SIJ01")


def test_enqueue_fails_with_the_argument_error(project_id: uuid.UUID) -> None:
    assert_fails(run("enqueue", str(project_id), "../x", "http://127.0.0.1/a.png"), "22023")


def test_sweep_lists_nothing_younger_than_the_threshold() -> None:
    done = run("sweep", "--older-than", str(10 * 365 * 86400))
    assert (done.returncode, done.stdout) == (0, "")
    assert "0 orphaned object(s) found" in done.stderr
