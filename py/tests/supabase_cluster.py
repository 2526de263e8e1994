"""A Supabase-shaped database for the tests: a throwaway cluster whose bootstrap superuser is
`supabase_admin`, initialised with supabase_init.sql, and our schema deployed into it the two
ways the README tells Supabase users to:

- FULL (self-hosted Supabase): the whole plan, deployed by the superuser `supabase_admin`;
- HOSTED (supabase.com): the whole plan with the README's hosted command (plain `sqitch
  deploy`), deployed by `postgres`, no superuser: the PL/Python changes install nothing there.

Test modules load it with `pytest_plugins = ["supabase_cluster"]` and take the parametrised
`supabase` fixture (one `SupabaseInstall` per way), or `supabase_installs` for both at once;
`tenant` is a user of each install with a project, an image and a queued job.
The cluster is made once per session (initdb, init script, both deploys take a few seconds) and
stopped at its end. It listens on a socket of its own only, so it can run beside any other
cluster on the machine; the port number only names that socket.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from loopback_http import free_port
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from security_fixtures import DictConnection, server_owned_dir

ROOT = Path(__file__).resolve().parents[2]
INIT_SQL = Path(__file__).with_name("supabase_init.sql")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN = "supabase_admin"
TEMPLATE_DB = "supabase_template"
# Port 9 (discard): public URLs only name objects here, nothing serves or fetches them.
PUBLIC_BASE_URL = "http://127.0.0.1:9/objects"
# LOGIN roles that are members of one API role each: what a leaked database password, or a
# role an app created "for its users", gives an attacker. Roles are cluster-wide; the cluster
# is ours, so they live as long as it does.
MEMBER_LOGINS = {"anon": "fixture_anon_login", "authenticated": "fixture_authenticated_login",
                 "scene_images_worker": "fixture_worker_login"}
# Port 9 (discard) on loopback: a source URL that no fetch can get anything from.
DEAD_SOURCE = "http://127.0.0.1:9/planted.png"


@dataclass(frozen=True)
class SupabaseCluster:
    socket_dir: Path
    port: int
    base: Path  # owned by the server's OS user; storage roots go below it

    def connect(self, user: str, dbname: str, **kwargs: Any) -> DictConnection:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user=user, dbname=dbname,
                               row_factory=dict_row, **{"autocommit": True, **kwargs})

    def env(self) -> dict[str, str]:
        """The environment for libpq clients (sqitch, psql, pg_prove) aimed at this cluster."""
        return {**os.environ, "PGHOST": str(self.socket_dir), "PGPORT": str(self.port)}


@dataclass(frozen=True)
class SupabaseInstall:
    """Our schema deployed one way into its own database of the cluster."""

    name: str           # "full" or "hosted"
    cluster: SupabaseCluster
    dbname: str
    owner: str          # the role that deployed, and so owns our objects
    plpython: bool      # whether the PL/Python functions are there
    storage_root: Path  # the deploy's `file` backend root

    def connect(self, user: str | None = None, **kwargs: Any) -> DictConnection:
        """A connection as `user` (default: the owner), autocommit unless told otherwise."""
        return self.cluster.connect(user or self.owner, self.dbname, **kwargs)

    def admin(self) -> DictConnection:
        """As supabase_admin, the superuser: to look at everything without being looked at."""
        return self.connect(ADMIN)

    def api(self) -> DictConnection:
        """A login as PostgREST's `authenticator`; use with `api_request` for each call."""
        return self.connect("authenticator")

    def member_of(self, role: str) -> DictConnection:
        """A login role that is a member of `role` (anon, authenticated or scene_images_worker)."""
        return self.connect(MEMBER_LOGINS[role])


@contextmanager
def api_request(conn: DictConnection, role: str, claims: object = None) -> Iterator[DictConnection]:
    """One PostgREST request on an `authenticator` connection: a transaction that switches to
    the role the JWT names, applies that role's own settings (PostgREST reads them from the
    catalog, since SET ROLE does not), and sets the claims as JSON (None: no claims at all)."""
    with conn.transaction():
        conn.execute(
            "SELECT set_config('search_path', 'public, extensions', true),"
            " set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
            (role, "" if claims is None else json.dumps(claims)),
        )
        settings = conn.execute(
            "SELECT split_part(s, '=', 1) AS name, substr(s, strpos(s, '=') + 1) AS value"
            " FROM pg_catalog.pg_roles AS r, unnest(r.rolconfig) AS s WHERE r.rolname = %s",
            (role,),
        ).fetchall()
        for setting in settings:
            conn.execute("SELECT set_config(%s, %s, true)", (setting["name"], setting["value"]))
        yield conn


def _run(command: list[Any], **kwargs: Any) -> str:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False, **kwargs)
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _postgres_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


AS_POSTGRES_OS_USER = ["runuser", "-u", "postgres", "--"]  # initdb refuses root


@contextmanager
def _cluster() -> Iterator[SupabaseCluster]:
    with server_owned_dir("supabase-cluster-") as base:
        data, run, log, port = base / "data", base / "run", base / "postgres.log", free_port()
        run.mkdir()
        os.chown(run, *_postgres_ids())
        # The bootstrap superuser is supabase_admin, as on Supabase; it cannot be demoted, so
        # `postgres` (created by the init script) can be the non-superuser it is there.
        _run([*AS_POSTGRES_OS_USER, PG_BIN / "initdb", "-D", data, "-U", ADMIN, "--auth=trust",
              "--encoding=UTF8", "--locale=C.UTF-8"])
        # PYTHONPATH: PL/Python imports the core package straight from the checkout.
        _run([*AS_POSTGRES_OS_USER, "env", f"PYTHONPATH={ROOT / 'py'}", PG_BIN / "pg_ctl", "-D", data, "-l", log,
              "-w", "-t", "60", "start", "-o",
              f"-p {port} -k {run} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
              " -c synchronous_commit=off"])
        try:
            yield SupabaseCluster(run, port, base)
        finally:
            subprocess.run([*AS_POSTGRES_OS_USER, PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                           check=False, capture_output=True)


def _initialise(cluster: SupabaseCluster) -> None:
    with cluster.connect(ADMIN, "postgres") as admin:
        admin.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    _run(["psql", "-X", "-q", "-U", ADMIN, "-d", TEMPLATE_DB, "-f", INIT_SQL], env=cluster.env())
    with cluster.connect(ADMIN, "postgres") as admin:
        for role in ("anon", "authenticated"):
            admin.execute(f"CREATE ROLE {MEMBER_LOGINS[role]} LOGIN IN ROLE {role}")


def _deploy(cluster: SupabaseCluster, name: str, owner: str, *plan_args: str) -> SupabaseInstall:
    dbname = f"scene_images_{name}"
    with cluster.connect(ADMIN, "postgres") as admin:
        # A copy of the template keeps its schemas, default privileges and event triggers; the
        # database's own ownership and grants are set as Supabase sets them.
        admin.execute(f"CREATE DATABASE {dbname} TEMPLATE {TEMPLATE_DB} OWNER postgres")
    storage_root = cluster.base / f"storage-{name}"
    storage_root.mkdir()
    os.chown(storage_root, *_postgres_ids())
    _run(["sqitch", "deploy", *plan_args, "--set", f"storage_root={storage_root}",
          "--set", f"storage_public_base_url={PUBLIC_BASE_URL}", f"db:pg://{owner}@/{dbname}"],
         cwd=ROOT, env=cluster.env())
    with cluster.connect(ADMIN, dbname) as admin:
        row = admin.execute("SELECT count(*) > 0 AS yes FROM pg_extension WHERE extname = 'plpython3u'").fetchone()
        # The worker role comes with our deploy (roles are cluster-wide: the first deploy makes it).
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (MEMBER_LOGINS["scene_images_worker"],)).fetchone() is None:
            admin.execute(f"CREATE ROLE {MEMBER_LOGINS['scene_images_worker']} LOGIN IN ROLE scene_images_worker")
    return SupabaseInstall(name, cluster, dbname, owner, plpython=bool(row and row["yes"]), storage_root=storage_root)


@pytest.fixture(scope="session")
def supabase_installs() -> Iterator[dict[str, SupabaseInstall]]:
    with _cluster() as cluster:
        _initialise(cluster)
        yield {
            "full": _deploy(cluster, "full", ADMIN),
            # The README's hosted command. Both deploys name the file backend's root: without it
            # table_settings falls back to a directory inside the data directory (found through
            # data_directory, which postgres reads here as a member of pg_monitor) or, for a
            # login that may not read that setting, fails.
            "hosted": _deploy(cluster, "hosted", "postgres"),
        }


@pytest.fixture(scope="session", params=["full", "hosted"])
def supabase(request: pytest.FixtureRequest, supabase_installs: dict[str, SupabaseInstall]) -> SupabaseInstall:
    install: SupabaseInstall = supabase_installs[request.param]
    return install


# --- seed data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """A user with a project holding scene s1 at version 1 and a queued job."""

    user: uuid.UUID
    project: uuid.UUID
    job: uuid.UUID

    def claims(self) -> dict[str, str]:
        return {"sub": str(self.user), "role": "authenticated"}


@pytest.fixture(scope="session")
def tenant(supabase: SupabaseInstall) -> Tenant:
    """One tenant per install, seeded by the owner; and an old orphaned object in the storage
    root, for a sweep that must not be anyone's but the owner's to run."""
    user = uuid.uuid4()
    with supabase.connect() as owner:
        owner.execute("SELECT configure_scene_image_fetch(%s)", (Jsonb({"allow_private_networks": ["127.0.0.1/32"]}),))
        project = one(owner, "INSERT INTO projects (name, owner_id) VALUES ('tenant', %s) RETURNING id", (user,))["id"]
        owner.execute(
            "INSERT INTO scene_images (project_id, scene_id, storage_path, storage_url, file_size, sha256, width, height)"
            " VALUES (%s, 's1', %s, 'http://127.0.0.1:9/objects/seed.png', 1, repeat('a', 64), 1, 1)",
            (project, f"projects/{project}/scenes/s1_seed.png"),
        )
        job = one(owner, "SELECT id FROM enqueue_scene_image(project_id => %s, scene_id => 's2', source_url => %s)",
                   (project, DEAD_SOURCE))["id"]
    orphan = supabase.storage_root / "projects" / str(uuid.uuid4()) / "scenes" / "orphan_1.png"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"\x89PNG\r\n\x1a\n")
    os.utime(orphan, (0, 0))
    return Tenant(user, project, job)


def one(conn: DictConnection, statement: str, params: Any = None) -> dict[str, Any]:
    """The one row `statement` answers."""
    row = conn.execute(statement, params).fetchone()
    assert row is not None
    return row
