"""Hosted Supabase offers no plpython3u. The plan up to the @portable tag deploys into a database
without it, and there the external worker, logged in with a role that is only granted
scene_images_worker, stores queued jobs: the same rows and masterJSON as anywhere else. Then the
plan reverts to zero. The database is a scratch one of this test's own."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from client_sources import DictConnection, ImageSource
from job_workers import (
    HANG_S,
    ROOT,
    Workers,
    assert_master_json_follows_current_rows,
    assert_versions_gapless_with_one_current,
    enqueue,
    jobs_of,
    new_project,
    scalar,
)
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sources import HTML_PAGE
from store_fixtures import configure_storage, scene_rows

pytest_plugins = ["store_fixtures", "job_workers"]
pytestmark = pytest.mark.usefixtures("store_loopback_only")

PORTABLE_DB = "scene_images_portable"
WORKER_LOGIN = "scene_images_portable_worker"  # roles are cluster-wide: created and dropped here

PLPYTHON_FUNCTIONS = """
SELECT count(*) FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang WHERE l.lanname = 'plpython3u'
"""
# What revert must leave: no internal schema, and nothing in public (no extension lives there).
OUR_OBJECTS_LEFT = """
SELECT (to_regnamespace('scene_images_internal') IS NOT NULL)::int
     + (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)
     + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
     + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace)
"""


def run(*command: str) -> str:
    done = subprocess.run([str(ROOT / command[0]), *command[1:]], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def portable(db: DictConnection) -> Iterator[DictConnection]:
    """A connection to a fresh scratch database (as superuser), and a login role for the worker."""
    run("scripts/cluster.sh", "dropdb", PORTABLE_DB)
    run("scripts/cluster.sh", "createdb", PORTABLE_DB)
    try:
        with psycopg.connect(dbname=PORTABLE_DB, autocommit=True, row_factory=dict_row) as conn:
            yield conn
    finally:
        run("scripts/cluster.sh", "dropdb", PORTABLE_DB)
        db.execute(f"DROP ROLE IF EXISTS {WORKER_LOGIN}")


def test_portable_plan_runs_the_queue_with_the_external_worker_and_no_plpython(
    portable: DictConnection,
    db: DictConnection,
    image_source: ImageSource,
    store_root: Path,
    worker_processes: Workers,
) -> None:
    run("scripts/sqitch.sh", PORTABLE_DB, "deploy", "--to", "@portable")

    assert scalar(portable, "SELECT count(*) FROM pg_extension WHERE extname = 'plpython3u'") == 0
    assert scalar(portable, PLPYTHON_FUNCTIONS) == 0
    deployed = portable.execute(
        "SELECT to_regprocedure('public.enqueue_scene_image(uuid, text, text, text, text, jsonb)') IS NOT NULL AS enqueue,"
        " to_regprocedure('public.claim_scene_image_jobs(text, integer, interval)') IS NOT NULL AS claim,"
        " to_regprocedure('public.store_scene_image(uuid, text, text, text, text, jsonb)') IS NOT NULL AS store,"
        " to_regprocedure('public.process_scene_image_jobs(integer)') IS NOT NULL AS process"
    ).fetchone()
    assert deployed == {"enqueue": True, "claim": True, "store": False, "process": False}

    portable.execute(
        "SELECT configure_scene_image_fetch(settings => %s)", (Jsonb({"allow_private_networks": ["127.0.0.1/32"]}),)
    )
    configure_storage(portable, "file", {"root": str(store_root), "public_base_url": "http://127.0.0.1:54380/portable"})
    image_source.body("/page.html", HTML_PAGE, "text/html; charset=utf-8")
    urls = [image_source.image(8 + i, 8) for i in range(12)]
    project_id = new_project(portable, "hosted")
    for k in range(3):
        enqueue(portable, project_id, [{"scene_id": f"scene_{s}", "source_url": urls[s * 3 + k]} for s in range(4)])
    enqueue(portable, project_id, [{"scene_id": "scene_html", "source_url": image_source.url("/page.html")}])

    # The worker logs in as a role with nothing but scene_images_worker, as on hosted Supabase.
    db.execute(f"DROP ROLE IF EXISTS {WORKER_LOGIN}")
    db.execute(f"CREATE ROLE {WORKER_LOGIN} LOGIN IN ROLE scene_images_worker")
    worker = worker_processes.start("portable", "--drain", env={"PGDATABASE": PORTABLE_DB, "PGUSER": WORKER_LOGIN})
    assert worker.wait(HANG_S) == 0, worker.log()[-3000:]

    jobs = jobs_of(portable, project_id)
    assert Counter((job["status"], job["last_error_sqlstate"]) for job in jobs) == {("stored", None): 12, ("failed", "SII01"): 1}
    rows = scene_rows(portable, project_id)
    assert sorted(job["scene_image_id"] for job in jobs if job["status"] == "stored") == sorted(row["id"] for row in rows)
    assert all(row["storage_url"].startswith("http://127.0.0.1:54380/portable/") for row in rows)
    for row in rows:
        assert hashlib.sha256((store_root / row["storage_path"]).read_bytes()).hexdigest() == row["sha256"]
    assert_versions_gapless_with_one_current(rows)
    assert_master_json_follows_current_rows(portable, project_id, rows)
    assert {row["scene_id"] for row in rows if row["is_current"]} == {f"scene_{s}" for s in range(4)}

    run("scripts/sqitch.sh", PORTABLE_DB, "revert")
    assert scalar(portable, OUR_OBJECTS_LEFT) == 0


DEPLOYER = "scene_images_portable_deployer"  # CREATEROLE and CREATEDB only, as hosted Supabase's postgres at most


@pytest.fixture
def deployer_database(db: DictConnection) -> Iterator[str]:
    """A scratch database owned by a login that is no superuser and may only create roles and
    databases. The client roles exist cluster-wide already; the deploy must still do its part."""
    db.execute(f"DROP DATABASE IF EXISTS {PORTABLE_DB} WITH (FORCE)")
    db.execute(f"DROP ROLE IF EXISTS {DEPLOYER}")
    db.execute(f"CREATE ROLE {DEPLOYER} LOGIN NOSUPERUSER CREATEROLE CREATEDB")
    db.execute(f"CREATE DATABASE {PORTABLE_DB} OWNER {DEPLOYER}")
    try:
        yield PORTABLE_DB
    finally:
        db.execute(f"DROP DATABASE IF EXISTS {PORTABLE_DB} WITH (FORCE)")
        db.execute(f"DROP ROLE IF EXISTS {DEPLOYER}")


def test_the_plan_deploys_verifies_and_reverts_as_a_role_that_is_no_superuser(deployer_database: str) -> None:
    """The README's hosted command, the whole plan, by a login that may not create plpython3u:
    every PL/Python change installs nothing. No storage_root variable either: nothing may read
    a server path (data_directory needs superuser or pg_read_all_settings), so the root stays
    unset until configured."""
    env = {**os.environ, "PGUSER": DEPLOYER, "PGDATABASE": deployer_database}
    for command in (["deploy"], ["verify"], ["revert", "-y"]):
        done = subprocess.run(["sqitch", *command], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        if command[0] == "deploy":
            with psycopg.connect(dbname=deployer_database, user=DEPLOYER, row_factory=dict_row) as conn:
                storage = scalar(conn, "SELECT value FROM scene_images_internal.settings WHERE name = 'storage'")
                owner = scalar(conn, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'scene_images_internal'")
                plpython = scalar(conn, PLPYTHON_FUNCTIONS)
                queue = scalar(conn, "SELECT to_regprocedure('public.claim_scene_image_jobs(text,integer,interval)') IS NOT NULL")
            assert storage == {"backend": "file", "settings": {}} and owner == DEPLOYER
            assert (plpython, queue) == (0, True)
    with psycopg.connect(dbname=deployer_database, user=DEPLOYER, row_factory=dict_row) as conn:
        assert scalar(conn, OUR_OBJECTS_LEFT) == 0
