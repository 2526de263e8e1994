"""One tenant cannot stall another's writes. A login in `authenticated` (mallory) holds, in an
open transaction, every lock she can compute or take: the advisory keys scene writers once used,
advisory locks on every key pg_locks shows her, and row locks on everything RLS lets her see.
Meanwhile alice's store_scene_image, set_current_scene_image and the in-database worker write the
very scene mallory aimed at. They run with a lock_timeout: were any of them to wait on a lock
mallory holds, it would end with 55P03 instead of its row, so the test fails on a block and never
depends on how fast the machine is.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from client_sources import DictConnection
from job_workers import enqueue
from psycopg import sql
from psycopg.rows import dict_row
from store_fixtures import Cdn, FileStorage, call_store_scene_image

pytest_plugins = ["store_fixtures", "job_workers"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy", "empty_job_queue")

SCENE = "scene_01"
# Long enough that only a real wait on mallory's locks can reach it on a loaded machine.
LOCK_TIMEOUT = "20s"


@pytest.fixture
def mallory_login(db: DictConnection) -> Iterator[str]:
    """A LOGIN role that is a member of authenticated, as a Supabase project's users never are
    but any database login may be; its password-less local login is what the cluster trusts."""
    name = f"mallory_{secrets.token_hex(4)}"
    db.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE authenticated").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def tenants(db: DictConnection) -> dict[str, uuid.UUID]:
    alice, mallory = uuid.uuid4(), uuid.uuid4()
    ids = {"alice": alice, "mallory": mallory}
    for name, owner in (("alice", alice), ("mallory", mallory)):
        ids[f"{name}_project"] = db.execute(
            "INSERT INTO projects (name, owner_id, master_json) VALUES (%s, %s, '{\"scenes\": {}}') RETURNING id",
            (name, owner),
        ).fetchone()["id"]
    return ids


def _hold_every_lock_mallory_can(
    conninfo: str, login: str, tenants: dict[str, uuid.UUID], victim: uuid.UUID
) -> DictConnection:
    """Mallory's open transaction, holding what she can lock. The caller closes it."""
    conn = psycopg.connect(conninfo, user=login, row_factory=dict_row)
    conn.execute("SELECT set_config('request.jwt.claims', %s, false)", (json.dumps({"sub": str(tenants["mallory"])}),))
    # The keys the versioning trigger used to take, computable from a project id she learnt.
    conn.execute("SELECT pg_advisory_lock(hashtext('scene_images'), hashtext(%s))", (f"{victim}/{SCENE}",))
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{victim}/{SCENE}",))
    # Every advisory key anyone holds, as pg_locks shows them to her.
    for lock in conn.execute(
        "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
    ).fetchall():
        conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_int4(lock["classid"]), _int4(lock["objid"])))
    # Row locks on all she can see: her own project only (RLS), nothing of alice's.
    locked = conn.execute("SELECT id FROM projects FOR UPDATE").fetchall()
    assert [row["id"] for row in locked] == [tenants["mallory_project"]], "mallory locked a project not hers"
    conn.execute("SELECT count(*) FROM current_scene_images")  # she may read, and reads nothing of alice's
    return conn


def _int4(oid: int) -> int:
    """pg_locks shows the two int4 keys as unsigned oids."""
    return oid - 2**32 if oid >= 2**31 else oid


def test_a_tenant_holding_every_lock_it_can_take_delays_no_other_tenants_writes(
    conninfo: str, db: DictConnection, tenants: dict[str, uuid.UUID], mallory_login: str, cdn: Cdn, disk: FileStorage
) -> None:
    victim = tenants["alice_project"]
    call_store_scene_image(db, victim, SCENE, cdn.url("/img.png"))  # the scene exists: its lock row too
    mallory = _hold_every_lock_mallory_can(conninfo, mallory_login, tenants, victim)
    try:
        with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as alice:
            alice.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            alice.execute("SELECT set_config('role', 'authenticated', false), set_config('request.jwt.claims', %s, false)",
                          (json.dumps({"sub": str(tenants["alice"])}),))
            stored = call_store_scene_image(alice, victim, SCENE, cdn.url("/img.jpg"))
            assert stored["version"] == 2
            rolled = alice.execute("SELECT * FROM set_current_scene_image(%s, %s, 1)", (victim, SCENE)).fetchone()
            assert rolled["version"] == 1 and rolled["is_current"]
        # The in-database worker, as the service writes: one job on the same scene.
        [job] = enqueue(db, victim, [{"scene_id": SCENE, "source_url": cdn.url("/img.webp")}])
        with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as worker:
            worker.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            worker.execute("SET ROLE scene_images_worker")
            ran = worker.execute("SELECT id, status FROM process_scene_image_jobs(10)").fetchall()
        assert {"id": job["id"], "status": "stored"} in ran
    finally:
        mallory.close()
    current = db.execute(
        "SELECT version FROM current_scene_images WHERE project_id = %s AND scene_id = %s", (victim, SCENE)
    ).fetchone()
    assert current["version"] == 3


def test_the_scene_lock_table_is_out_of_every_client_roles_reach(db: DictConnection) -> None:
    for role in ("anon", "authenticated", "service_role", "scene_images_worker"):
        for privilege in ("SELECT", "UPDATE"):
            allowed = db.execute(
                "SELECT has_table_privilege(%s, 'scene_images_internal.scene_write_locks', %s) AS ok", (role, privilege)
            ).fetchone()["ok"]
            assert not allowed, f"{role} has {privilege} on the scene locks"
