"""Upgrades from the first release (@v0.1.0): from the tag on, deployed scripts are never edited,
only new changes (or `sqitch rework`) follow it, and `sqitch deploy` brings an install at the tag
to the end of the plan with its rows, objects and jobs intact and working.

- A full install at @v0.1.0 with a stored image and a queued job, upgraded: verify passes, the row,
  its bytes, masterJSON and the job are intact, the job is then stored by the in-database worker.
- A hosted install (the Supabase-shaped database, deployed by `postgres`, no superuser) at
  @v0.1.0, upgraded with the README's hosted command: every change of the plan has arrived (so a
  SQL-only change appended after the tag reaches hosted installs) and the access table holds.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

pytest.register_assert_rewrite("supabase_cluster")  # its asserts are imported before the plugin loads

from access_table import access_differences
from client_sources import DictConnection
from job_workers import ROOT, scalar
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sources import ImageSourceServer, install_standard_routes
from store_fixtures import configure_storage
from supabase_cluster import ADMIN, TEMPLATE_DB, SupabaseInstall

pytest_plugins = ["store_fixtures", "job_workers", "supabase_cluster"]
pytestmark = pytest.mark.usefixtures("store_loopback_only")

RELEASE = "@v0.1.0"
UPGRADE_DB = "scene_images_upgrade"


def _run(*command: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(list(command), cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def upgraded_db() -> Iterator[DictConnection]:
    _run("scripts/cluster.sh", "dropdb", UPGRADE_DB)
    _run("scripts/cluster.sh", "createdb", UPGRADE_DB)
    try:
        with psycopg.connect(dbname=UPGRADE_DB, autocommit=True, row_factory=dict_row) as conn:
            yield conn
    finally:
        _run("scripts/cluster.sh", "dropdb", UPGRADE_DB)


def test_a_full_install_at_the_release_upgrades_with_its_rows_objects_and_jobs_intact(
    upgraded_db: DictConnection, store_root: Path,
) -> None:
    _run("scripts/sqitch.sh", UPGRADE_DB, "deploy", "--to", RELEASE)
    db = upgraded_db
    db.execute("SELECT configure_scene_image_fetch(%s)", (Jsonb({"allow_private_networks": ["127.0.0.1/32"]}),))
    configure_storage(db, "file", {"root": str(store_root), "public_base_url": "http://127.0.0.1:54380/upgrade"})
    project = scalar(db, "INSERT INTO projects (name, master_json) VALUES ('upgrade', %s) RETURNING id",
                     (Jsonb({"scenes": {"s1": {}, "s2": {}}}),))
    with ImageSourceServer("127.0.0.1") as source:
        images = install_standard_routes(source)
        stored = db.execute("SELECT * FROM store_scene_image(project_id => %s, scene_id => 's1', source_url => %s)",
                            (project, source.url("/img.png"))).fetchone()
        job = db.execute("SELECT * FROM enqueue_scene_image(project_id => %s, scene_id => 's2', source_url => %s)",
                         (project, source.url("/img.jpg"))).fetchone()

        _run("scripts/sqitch.sh", UPGRADE_DB, "deploy")
        assert "Verify successful" in _run("scripts/sqitch.sh", UPGRADE_DB, "verify")
        assert "Nothing to deploy" in _run("scripts/sqitch.sh", UPGRADE_DB, "deploy")

        row = db.execute("SELECT * FROM scene_images WHERE id = %s", (stored["id"],)).fetchone()
        assert row == stored
        assert hashlib.sha256((store_root / row["storage_path"]).read_bytes()).hexdigest() == row["sha256"]
        assert (store_root / row["storage_path"]).read_bytes() == images["/img.png"]
        assert scalar(db, "SELECT get_scene_image_url(%s, 's1')", (project,)) == row["storage_url"]
        assert scalar(db, "SELECT master_json #>> '{scenes,s1,scene_start_frame}' FROM projects WHERE id = %s",
                      (project,)) == row["storage_url"]
        assert scalar(db, "SELECT status FROM scene_images_internal.scene_image_jobs WHERE id = %s", (job["id"],)) == "queued"
        db.execute("SET ROLE scene_images_worker")
        ran = db.execute("SELECT id, status FROM process_scene_image_jobs(10)").fetchall()
        db.execute("RESET ROLE")
    assert ran == [{"id": job["id"], "status": "stored"}]
    assert scalar(db, "SELECT count(*) FROM current_scene_images WHERE project_id = %s", (project,)) == 2


@pytest.fixture
def hosted_at_release(supabase_installs: dict[str, SupabaseInstall]) -> Iterator[SupabaseInstall]:
    cluster = supabase_installs["hosted"].cluster
    name = "scene_images_hosted_upgrade"
    with cluster.connect(ADMIN, "postgres") as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} OWNER postgres")
    install = SupabaseInstall("hosted-upgrade", cluster, name, "postgres", plpython=False,
                              storage_root=supabase_installs["hosted"].storage_root)
    try:
        yield install
    finally:
        with cluster.connect(ADMIN, "postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_hosted_install_at_the_release_receives_every_later_change_and_keeps_the_access_table(
    hosted_at_release: SupabaseInstall,
) -> None:
    install = hosted_at_release
    target = f"db:pg://postgres@/{install.dbname}"
    env = install.cluster.env()
    _run("sqitch", "deploy", "--to", RELEASE, target, env=env)
    _run("sqitch", "deploy", target, env=env)  # the README's hosted command
    assert "Nothing to deploy" in _run("sqitch", "deploy", target, env=env)
    assert "Verify successful" in _run("sqitch", "verify", target, env=env)
    with install.admin() as admin:
        plan = [line.split()[0] for line in (ROOT / "sqitch.plan").read_text().splitlines()
                if line and line[0].isalpha()]
        deployed = [r["change"] for r in admin.execute("SELECT change FROM sqitch.changes ORDER BY committed_at")]
        assert deployed == plan
        differences = access_differences(admin)
    assert not differences, "\n".join(differences)
