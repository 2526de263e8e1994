"""The access model held against Supabase's own defaults (issue 18), on both installs of the
Supabase-shaped database (supabase_cluster.py). A Supabase database grants ALL on whatever
`postgres` or `supabase_admin` creates in `public` to anon, authenticated and service_role, and
its anon key is public: anyone on the internet reaches `authenticator` + `SET ROLE anon`. Here:
the catalog matches the access table, anon without claims calls nothing but request_uid and
changes nothing, and no client role reads a secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures", "supabase_cluster")  # asserts imported before the plugins load

from access_table import OUR_SCHEMAS, access_differences, null_calls
from launchers import MotoServer, moto_server
from psycopg.types.json import Jsonb
from security_fixtures import DictConnection, message_texts, row_json
from supabase_cluster import DEAD_SOURCE, SupabaseInstall, Tenant, api_request

pytest_plugins = ["supabase_cluster"]

CLIENT_ROLES = ("anon", "authenticated", "service_role")


def test_access_table_matches_the_catalog(supabase: SupabaseInstall) -> None:
    with supabase.admin() as admin:
        differences = access_differences(admin)
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences)


# --- the public anon key ----------------------------------------------------------------------

# The calls an attacker would make (issue 18's list), where a call with NULLs could fail on
# its arguments before doing harm. Every other function is called with NULL arguments.
HARMFUL_CALLS = {
    "configure_scene_image_fetch": "SELECT configure_scene_image_fetch(settings => %(open_fetch)s)",
    "configure_scene_image_storage": "SELECT configure_scene_image_storage(backend => 'file', settings => %(evil_root)s)",
    "claim_scene_image_jobs": "SELECT * FROM claim_scene_image_jobs(worker => 'anon', max_jobs => 100)",
    "complete_scene_image_job": (
        "SELECT * FROM complete_scene_image_job(job_id => %(job)s, worker => 'anon', storage_path => %(forged_path)s,"
        " storage_url => 'https://evil.example/forged.png', file_size => 1, content_type => 'image/png',"
        " sha256 => repeat('b', 64), width => 1, height => 1)"
    ),
    "fail_scene_image_job": "SELECT * FROM fail_scene_image_job(%(job)s, 'anon', 'SIF01', 'anon was here')",
    "sweep_orphaned_scene_objects": "SELECT * FROM sweep_orphaned_scene_objects(older_than => '0 seconds', dry_run => false)",
    "process_scene_image_jobs": "SELECT * FROM process_scene_image_jobs(max_jobs => 100)",
    "retry_scene_image_job": "SELECT * FROM retry_scene_image_job(%(job)s)",
    "get_scene_image_job": "SELECT * FROM get_scene_image_job(%(job)s)",
    "set_current_scene_image": "SELECT * FROM set_current_scene_image(%(project)s, 's1', 1)",
    "enqueue_scene_image": "SELECT * FROM enqueue_scene_image(%(project)s, 's9', %(source)s)",
}


def _state(admin: DictConnection, install: SupabaseInstall, *extra_paths: Path) -> dict[str, Any]:
    """Every row of every table of ours (as a digest), and the files under the storage root."""
    tables = admin.execute(
        "SELECT c.oid::regclass::text AS name FROM pg_catalog.pg_class AS c"
        " WHERE c.relkind = 'r' AND c.relnamespace::regnamespace::text = ANY(%s) ORDER BY 1",
        (list(OUR_SCHEMAS),),
    ).fetchall()
    state: dict[str, Any] = {}
    for table in tables:
        state[table["name"]] = admin.execute(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest"
            f" FROM {table['name']} AS t"
        ).fetchone()
    state["files"] = sorted(str(p.relative_to(install.storage_root)) for p in install.storage_root.rglob("*"))
    state["extra paths"] = {str(p): p.exists() for p in extra_paths}
    return state


@contextmanager
def _settings_restored(admin: DictConnection) -> Iterator[None]:
    """The settings put back afterwards, so one test's successful attack does not change what
    the tests after it run against (configure_* never return secrets, so they cannot restore)."""
    saved = admin.execute("SELECT name, value FROM scene_images_internal.settings").fetchall()
    try:
        yield
    finally:
        for row in saved:
            admin.execute("UPDATE scene_images_internal.settings SET value = %s WHERE name = %s",
                          (Jsonb(row["value"]), row["name"]))


def test_anon_without_claims_may_call_nothing_of_ours_but_request_uid_and_changes_nothing(
    supabase: SupabaseInstall, tenant: Tenant,
) -> None:
    evil_root = supabase.cluster.base / f"anon-root-{supabase.name}"
    arguments = {
        "open_fetch": Jsonb({"allow_private_networks": True, "max_bytes": 1024**3}),
        "evil_root": Jsonb({"root": str(evil_root), "public_base_url": "https://evil.example"}),
        "job": tenant.job, "project": tenant.project, "source": DEAD_SOURCE,
        "forged_path": f"projects/{tenant.project}/scenes/s2_forged.png",
    }
    with supabase.admin() as admin, _settings_restored(admin):
        functions = null_calls(admin)
        before = _state(admin, supabase, evil_root)
        outcomes: dict[str, str] = {}
        with supabase.api() as api:
            for function in functions:
                statement = function["call"]
                if function["schema"] == "public":
                    statement = HARMFUL_CALLS.get(function["name"], statement)
                try:
                    with api_request(api, "anon"):
                        rows = api.execute(statement, arguments if "%(" in statement else None).fetchall()
                    outcomes[function["signature"]] = f"ran, {len(rows)} row(s)"
                except psycopg.Error as error:
                    outcomes[function["signature"]] = error.sqlstate or "?"
        after = _state(admin, supabase, evil_root)
    assert outcomes.pop("request_uid()") == "ran, 1 row(s)"
    not_refused = [f"{signature}: {outcome}" for signature, outcome in outcomes.items() if outcome != "42501"]
    assert not not_refused, "not refused with 42501:\n" + "\n".join(not_refused)
    assert after == before


ANON_TABLE_STATEMENTS = [
    "SELECT * FROM projects",
    "SELECT * FROM scene_images",
    "SELECT * FROM current_scene_images",
    "INSERT INTO projects (name) VALUES ('anon was here')",
    "UPDATE projects SET name = 'anon was here'",
    "DELETE FROM scene_images",
    # TRUNCATE ignores row-level security. PostgREST never sends it, but any login in anon
    # (or SQL run as anon some other way) could empty a table whatever the policies say.
    "TRUNCATE scene_images",
    "TRUNCATE projects CASCADE",
]


@pytest.mark.parametrize("statement", ANON_TABLE_STATEMENTS)
def test_anon_without_claims_touches_no_table(supabase: SupabaseInstall, tenant: Tenant, statement: str) -> None:
    with supabase.api() as api, pytest.raises(psycopg.errors.InsufficientPrivilege):
        with api_request(api, "anon"):
            api.execute(statement)
            # Reached only if the statement was allowed: undo it for the tests after this one.
            raise AssertionError(f"anon ran {statement!r}")


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def s3_secret(supabase: SupabaseInstall, moto: MotoServer) -> Iterator[dict[str, str]]:
    """S3 storage configured by the owner with made-up credentials (moto takes any), restored
    afterwards. Yields the secret values."""
    secret = {"access_key_id": f"AKIA{secrets.token_hex(8).upper()}", "secret_access_key": f"s3-secret-{secrets.token_hex(16)}"}
    with supabase.admin() as admin, _settings_restored(admin):
        with supabase.connect() as owner:
            owner.execute("SELECT configure_scene_image_storage('s3', %s)",
                          (Jsonb({**moto.s3_settings(f"secret-{secrets.token_hex(6)}"), **secret}),))
        yield secret


SECRET_READS = [
    "SELECT get_scene_image_worker_settings()",
    "SELECT * FROM scene_images_internal.settings",
    "SELECT * FROM scene_images_internal.scene_image_jobs",
]
@pytest.mark.parametrize("role", CLIENT_ROLES)
def test_no_client_role_reads_a_secret(
    supabase: SupabaseInstall, tenant: Tenant, s3_secret: dict[str, str], role: str,
) -> None:
    with supabase.admin() as admin:
        private_calls = [r["call"] for r in null_calls(admin, ("scene_images_private",))]
    texts, refusals = [], {}
    with supabase.api() as api:
        for statement in [*SECRET_READS, *private_calls, "SELECT * FROM projects", "SELECT * FROM scene_images"]:
            try:
                with api_request(api, role, tenant.claims() if role == "authenticated" else {"role": role}):
                    texts += [row_json(row) for row in api.execute(statement).fetchall()]
            except psycopg.Error as error:
                texts.append(message_texts(error))
                refusals[statement] = error.sqlstate
    leaks = [text for text in texts if any(value in text for value in s3_secret.values())]
    assert leaks == []
    assert {statement: refusals.get(statement) for statement in SECRET_READS} == dict.fromkeys(SECRET_READS, "42501")
