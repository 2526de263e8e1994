"""Sqitch round trip on a scratch database: deploy, verify, revert to zero, deploy, verify."""

from __future__ import annotations

import pathlib
import subprocess

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRATCH = "scene_images_roundtrip"

OUR_OBJECTS = """
SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'scene_images_internal')
     + (SELECT count(*) FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e'))
     + (SELECT count(*) FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))
     + (SELECT count(*) FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e'))
"""


def sqitch(*args: str) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts/sqitch.sh"), SCRATCH, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def our_object_count() -> int:
    with psycopg.connect(dbname=SCRATCH) as conn:
        return conn.execute(OUR_OBJECTS).fetchone()[0]


@pytest.fixture
def scratch_db():
    subprocess.run([str(ROOT / "scripts/cluster.sh"), "dropdb", SCRATCH], check=True, capture_output=True)
    subprocess.run([str(ROOT / "scripts/cluster.sh"), "createdb", SCRATCH], check=True, capture_output=True)
    yield SCRATCH
    subprocess.run([str(ROOT / "scripts/cluster.sh"), "dropdb", SCRATCH], check=True, capture_output=True)


def test_sqitch_round_trip_reverts_to_zero_and_redeploys(scratch_db):
    sqitch("deploy")
    assert "Verify successful" in sqitch("verify")
    assert our_object_count() > 0
    sqitch("revert")
    assert our_object_count() == 0
    sqitch("deploy")
    assert "Verify successful" in sqitch("verify")


def test_sqitch_moves_between_portable_and_the_whole_plan(scratch_db):
    """The PL/Python part deploys on top of @portable and reverts back to it, as often as asked."""
    sqitch("deploy", "--to", "@portable")
    assert _plpython_functions() == 0
    sqitch("deploy")
    assert _plpython_functions() > 0
    sqitch("revert", "--to", "@portable")
    assert _plpython_functions() == 0
    sqitch("deploy")
    assert "Verify successful" in sqitch("verify")
    sqitch("revert")
    assert our_object_count() == 0


def _plpython_functions() -> int:
    with psycopg.connect(dbname=SCRATCH) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang WHERE l.lanname = 'plpython3u'"
        ).fetchone()[0]
