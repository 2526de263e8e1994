"""Planted code gains nothing (issues 18 and 11): a LOGIN member of anon or of authenticated
(a leaked password, a role an app made for its users), or of the worker role, can neither put a
trigger on our tables,
which would run its code as whoever writes them next, nor get the code it plants in its own
temporary schema run by one of our functions as anyone but itself. On both installs of the
Supabase-shaped database, where default privileges would otherwise hand out TRIGGER.
"""

from __future__ import annotations

import json

import psycopg
import pytest

pytest.register_assert_rewrite("supabase_cluster")  # its asserts are imported before the plugin loads

from access_table import null_calls
from psycopg.types.json import Jsonb
from security_fixtures import DictConnection
from supabase_cluster import DEAD_SOURCE, SupabaseInstall, Tenant

pytest_plugins = ["supabase_cluster"]

PLANTED_TRIGGER_FUNCTION = """
CREATE FUNCTION pg_temp.planted_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE 'planted trigger running as %', current_user; RETURN NEW; END $$
"""


@pytest.mark.parametrize("table", ["projects", "scene_images"])
@pytest.mark.parametrize("planter", ["anon", "authenticated"])
def test_a_member_login_cannot_plant_a_trigger_on_our_tables(
    supabase: SupabaseInstall, planter: str, table: str,
) -> None:
    with supabase.member_of(planter) as conn:
        conn.execute(PLANTED_TRIGGER_FUNCTION)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(f"CREATE TRIGGER planted BEFORE INSERT OR UPDATE ON public.{table}"
                         " FOR EACH ROW EXECUTE FUNCTION pg_temp.planted_trigger()")
            # Reached only if the trigger was created: roll it back, it would outlive the test.
            raise AssertionError(f"a member of {planter} planted a trigger on {table}")


# Types a function body names without a schema (keywords such as integer or boolean map to
# pg_catalog by the grammar and cannot be shadowed), and relations it might name so.
SHADOWED_TYPES = ("uuid", "text", "jsonb", "json", "timestamptz", "int4", "int8", "bool", "name", "bytea")
SHADOWED_RELATIONS = ("projects", "scene_images", "current_scene_images")


def _plant(conn: DictConnection) -> None:
    """issue 11's attack: code in the caller's temporary schema, reached through a domain or a
    view named like what a function body might name unqualified."""
    conn.execute("CREATE FUNCTION pg_temp.planted() RETURNS pg_catalog.bool LANGUAGE plpgsql AS $$"
                 " BEGIN RAISE NOTICE 'planted code running as %', current_user; RETURN true; END $$")
    for name in SHADOWED_TYPES:
        conn.execute(f"CREATE DOMAIN pg_temp.{name} AS pg_catalog.{name} CHECK (pg_temp.planted())")
    for name in SHADOWED_RELATIONS:
        # security_invoker: the view reads as whoever queries it, so a definer function would.
        conn.execute(f"CREATE VIEW pg_temp.{name} WITH (security_invoker = true)"
                     f" AS SELECT * FROM public.{name} WHERE pg_temp.planted()")


PLANTER_CALLS = [
    "SELECT request_uid()",
    "SELECT get_scene_image_url(%(project)s, 's1')",
    "SELECT * FROM get_scene_image_history(%(project)s, 's1')",
    "SELECT * FROM set_current_scene_image(%(project)s, 's1', 1)",
    "SELECT * FROM store_scene_image(project_id => %(project)s, scene_id => 's2', source_url => %(source)s)",
    "SELECT * FROM store_scene_image(project_id => %(project)s, scene_id => 's2', source_url => %(source)s,"
    " fallback => true)",
    "SELECT * FROM store_scene_images(%(project)s, %(bulk)s)",
    "SELECT * FROM enqueue_scene_image(project_id => %(project)s, scene_id => 's3', source_url => %(source)s)",
    "SELECT * FROM enqueue_scene_images(%(project)s, %(bulk)s)",
    "SELECT * FROM get_scene_image_job(%(job)s)",
    "SELECT * FROM retry_scene_image_job(%(job)s)",
    "SELECT * FROM public.current_scene_images",
    "INSERT INTO public.projects (name) VALUES ('planter''s') RETURNING id",
    "UPDATE public.projects SET name = name WHERE id = %(project)s",
]
# What a worker login calls, with arguments that reach the functions' bodies.
WORKER_CALLS = [
    "SELECT * FROM claim_scene_image_jobs('planter', 10)",
    "SELECT * FROM complete_scene_image_job(%(job)s, 'planter', 'projects/x/scenes/s1.png',"
    " 'http://127.0.0.1:9/x.png', 1, 'image/png', repeat('a', 64), 1, 1)",
    "SELECT * FROM fail_scene_image_job(%(job)s, 'planter', 'SIF01', 'planted')",
    "SELECT get_scene_image_worker_settings() IS NOT NULL",
    "SELECT get_scene_image_queue_counts()",
    "SELECT * FROM process_scene_image_jobs(1)",
]
CALLS = {"anon": PLANTER_CALLS, "authenticated": PLANTER_CALLS, "scene_images_worker": WORKER_CALLS}


@pytest.mark.parametrize("planter", ["anon", "authenticated", "scene_images_worker"])
def test_planted_temporary_code_only_ever_runs_as_the_caller(
    supabase: SupabaseInstall, tenant: Tenant, planter: str,
) -> None:
    notices: list[str] = []
    with supabase.member_of(planter) as conn:
        login = conn.info.user
        conn.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        _plant(conn)
        conn.execute("SELECT '00000000-0000-0000-0000-000000000000'::uuid")  # armed: the caller's own cast runs it
        assert notices == [f"planted code running as {login}"]
        conn.execute("SELECT set_config('request.jwt.claims', %s, false)", (json.dumps(tenant.claims()),))
        arguments = {"project": tenant.project, "job": tenant.job, "source": DEAD_SOURCE,
                     "bulk": Jsonb([{"scene_id": "s4", "source_url": DEAD_SOURCE}])}
        # Then every other function of ours the planter may execute, with NULL arguments.
        others = [r["call"] for r in null_calls(conn, callable_only=True)]
        for statement in [*CALLS[planter], *others]:
            try:
                conn.execute(statement, arguments if "%(" in statement else None)
            except psycopg.Error:
                pass  # refusals are the other tests' business; here only who ran the planted code counts
    assert set(notices) == {f"planted code running as {login}"}
