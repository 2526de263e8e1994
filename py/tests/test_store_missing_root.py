"""Issue 18: a deploy with `--set storage_root=...` writes the setting but creates no directory.
The first store into that missing root must fail with SIS02, name the setting (never the
server's path: client roles read the error too) and say how to fix it; nothing is written.
The same for a root that is unset. Runs on a database of its own, deployed the way the README
says, because the deploy is what leaves the directory missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from client_sources import DictConnection, ImageSource, as_user
from network_guard import guard_loopback_only
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from store_fixtures import call_store_scene_image, failure_text

pytest_plugins = ["client_fixtures"]  # image_source

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
SERVER_LOG = VAR / "pg" / "postgres.log"  # scripts/cluster.sh's
DATABASE = "scene_images_missing_root"
PUBLIC_BASE_URL = "http://127.0.0.1:9/objects"  # port 9 (discard): nothing fetches it
EMPTY_MASTER: dict[str, dict[str, object]] = {"scenes": {}}
# What every caller of store_scene_image reads (client roles too): the kind, that the root is
# missing, the setting's name; the path only in the server log and the settings table.
MESSAGE = (
    "StorageMisconfigured: file storage backend: the storage root is missing (the directory of storage"
    " setting root does not exist or the server cannot reach it)"
)
HINT = (
    "The database owner creates it with configure_scene_image_storage('file', "
    "'{\"root\": ..., \"public_base_url\": ...}'), or creates the directory writable by the "
    "database server's OS user; the configured root is in scene_images_internal.settings."
)


def _cluster(*args: str) -> None:
    done = subprocess.run([str(ROOT / "scripts" / "cluster.sh"), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def missing_root() -> Iterator[Path]:
    """A path under var/ whose parent the server may write, and which does not exist."""
    parent = Path(tempfile.mkdtemp(prefix="missing-root-", dir=VAR))
    shutil.chown(parent, "postgres", "postgres")
    yield parent / "srv" / "scene-images"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def deployed(missing_root: Path) -> Iterator[str]:
    """A fresh database deployed with `--set storage_root=<missing_root>`; its conninfo."""
    _cluster("dropdb", DATABASE)
    _cluster("createdb", DATABASE)
    done = subprocess.run(
        [str(ROOT / "scripts" / "sqitch.sh"), DATABASE, "deploy",
         "--set", f"storage_root={missing_root}", "--set", f"storage_public_base_url={PUBLIC_BASE_URL}"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not missing_root.exists()  # what issue 18 found: the deploy creates no directory
    yield f"dbname={DATABASE}"  # host, port and user from the PG* environment, as every test
    _cluster("dropdb", DATABASE)


@pytest.fixture
def owner(deployed: str, image_source: ImageSource, monkeypatch: pytest.MonkeyPatch) -> Iterator[DictConnection]:
    """The database owner's connection, the fetch policy letting the loopback source in."""
    guard_loopback_only(monkeypatch)
    with psycopg.connect(deployed, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SELECT configure_scene_image_fetch(%s)", (Jsonb({"allow_private_networks": ["127.0.0.1/32"]}),))
        yield conn


def storage_settings(conn: DictConnection) -> dict[str, Any]:
    row = conn.execute("SELECT value FROM scene_images_internal.settings WHERE name = 'storage'").fetchone()
    assert row is not None
    value: dict[str, Any] = row["value"]
    return value


def new_project(conn: DictConnection, owner_id: uuid.UUID | None = None) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO projects (name, owner_id, master_json) VALUES ('missing root', %s, %s) RETURNING id",
        (owner_id, Jsonb(EMPTY_MASTER)),
    ).fetchone()
    assert row is not None
    project_id: uuid.UUID = row["id"]
    return project_id


def assert_nothing_written(conn: DictConnection, project_id: uuid.UUID, missing_root: Path) -> None:
    assert conn.execute("SELECT count(*) AS n FROM scene_images WHERE project_id = %s", (project_id,)).fetchone() == {"n": 0}
    assert conn.execute("SELECT master_json FROM projects WHERE id = %s", (project_id,)).fetchone() == {
        "master_json": EMPTY_MASTER
    }
    assert not missing_root.exists()  # not silently recreated either (an unmounted volume must fail)


def test_store_into_the_missing_deployed_root_fails_with_sis02_naming_the_setting_and_a_hint(
    owner: DictConnection, image_source: ImageSource, missing_root: Path
) -> None:
    assert storage_settings(owner)["settings"]["root"] == str(missing_root)
    project_id = new_project(owner)

    with pytest.raises(psycopg.Error) as caught:
        call_store_scene_image(owner, project_id, "scene_01", image_source.image())

    error = caught.value
    assert error.sqlstate == "SIS02"
    assert error.diag.message_primary == MESSAGE
    assert error.diag.message_hint == HINT
    assert str(missing_root) not in failure_text(error)
    assert_nothing_written(owner, project_id, missing_root)
    # Where the owner finds the directory: the server log has the full message.
    assert f"file storage root {missing_root} is missing" in SERVER_LOG.read_text(errors="replace")


def test_store_by_a_client_role_into_the_missing_root_shows_no_server_path(
    owner: DictConnection, deployed: str, image_source: ImageSource, missing_root: Path
) -> None:
    user_id = uuid.uuid4()
    project_id = new_project(owner, user_id)
    notices: list[str] = []
    with psycopg.connect(deployed, autocommit=True, row_factory=dict_row) as user:
        as_user(user, user_id)
        # A client asking for LOG messages too must still not receive the server log's full text.
        user.execute("SET client_min_messages = log")
        user.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        with pytest.raises(psycopg.Error) as caught:
            call_store_scene_image(user, project_id, "scene_01", image_source.image())

    assert (caught.value.sqlstate, caught.value.diag.message_hint) == ("SIS02", HINT)
    assert caught.value.diag.message_primary == MESSAGE
    text = failure_text(caught.value) + " ".join(notices)  # message, detail, hint, context, notices: all a client sees
    assert str(missing_root) not in text and str(VAR) not in text
    assert_nothing_written(owner, project_id, missing_root)


def test_store_without_a_root_setting_fails_with_sis02_naming_root(
    owner: DictConnection, image_source: ImageSource, missing_root: Path
) -> None:
    saved = storage_settings(owner)
    project_id = new_project(owner)
    try:
        owner.execute("UPDATE scene_images_internal.settings SET value = jsonb_set(value, '{settings,root}', 'null')"
                      " WHERE name = 'storage'")
        with pytest.raises(psycopg.Error) as caught:
            call_store_scene_image(owner, project_id, "scene_01", image_source.image())
    finally:
        owner.execute("UPDATE scene_images_internal.settings SET value = %s WHERE name = 'storage'", (Jsonb(saved),))

    assert caught.value.sqlstate == "SIS02"
    assert caught.value.diag.message_primary == (
        "StorageMisconfigured: file storage backend: storage setting(s) missing: root"
    )
    assert caught.value.diag.message_hint == (
        "The database owner sets them with configure_scene_image_storage('file', "
        "'{\"root\": ..., \"public_base_url\": ...}')."
    )
    assert_nothing_written(owner, project_id, missing_root)


def test_store_into_the_deployed_root_works_once_the_owner_follows_the_hint(
    owner: DictConnection, image_source: ImageSource, missing_root: Path
) -> None:
    settings = storage_settings(owner)["settings"]
    owner.execute("SELECT configure_scene_image_storage('file', %s)", (json.dumps(settings),))
    try:
        assert missing_root.is_dir()  # configure created it, as the hint says
        project_id = new_project(owner)
        row = call_store_scene_image(owner, project_id, "scene_01", image_source.image())
        assert (missing_root / row["storage_path"]).is_file()
        assert row["storage_url"] == f"{PUBLIC_BASE_URL}/{row['storage_path']}"
    finally:
        shutil.rmtree(missing_root, ignore_errors=True)  # the next test expects it missing
