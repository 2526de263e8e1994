"""Our schema extends the design's own database instead of replacing it (issue 13).

The database is the one `shared/000_21d1aa11e1e2bf9f.txt` describes, on the Supabase-shaped
cluster (tests/supabase_cluster.py: Supabase's roles, default privileges and `auth` schema, a
stand-in written here): the app's `projects` table with its own columns (`user_id`, `title`,
`master_json`, `created_at`), its own RLS policy and a few rows, made by `postgres` as the
dashboard makes tables. Then, in order, as the app and its users would:

1. `sqitch deploy` with the variables naming that table is refused while Supabase's default
   privileges let the API roles create triggers on it, with the REVOKE that fixes it;
2. after the app runs that REVOKE, the deploy adopts the table;
3. the design's "Step 3" INSERT and its UPDATE + INSERT versioning work verbatim (service key);
4. store_scene_image as the owner, directly and through the RPC transport; another user: 42501;
5. a stale whole-document save of masterJSON keeps our permanent URL, and only that;
6. revert to zero leaves the app's table exactly as before (catalog and rows).
The RPC endpoint is tests/postgrest_rpc_standin.py, a stand-in for PostgREST, not PostgREST.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("supabase_cluster")  # its asserts are imported before the plugin loads

from postgrest_rpc_standin import PostgrestRpcStandin, make_jwt
from psycopg.types.json import Jsonb
from security_fixtures import DictConnection
from sources import ImageSourceServer, install_standard_routes
from supabase_cluster import ADMIN, PUBLIC_BASE_URL, ROOT, TEMPLATE_DB, SupabaseInstall, api_request, one

from scene_images import PermissionDenied, SceneImageRequest, SupabaseSceneImageStore

pytest_plugins = ["supabase_cluster"]

DESIGN_DB = "scene_images_design"
JWT_SECRET = "design-database-jwt-secret-of-32-characters"
ALICE, BOB = uuid.UUID(int=0xA11CE), uuid.UUID(int=0xB0B)
# The app's schema, as its migrations made it: not ours, and never to be altered by us.
APP_SCHEMA = """
CREATE TABLE public.projects (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    master_json jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users manage their own projects" ON public.projects FOR ALL TO authenticated
    USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
"""
ADOPT = ["--set", "projects_table=public.projects", "--set", "master_json_column=master_json",
         "--set", "owner_column=user_id", "--set", "name_column=title"]
# What must survive our deploy and revert untouched: the app table's shape, rules and rows.
SNAPSHOT = """
SELECT jsonb_build_object(
  'columns', (SELECT jsonb_agg(jsonb_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                                 pg_get_expr(d.adbin, d.adrelid)) ORDER BY a.attnum)
              FROM pg_attribute AS a LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = 'public.projects'::regclass AND a.attnum > 0 AND NOT a.attisdropped),
  'constraints', (SELECT jsonb_agg(jsonb_build_array(conname, pg_get_constraintdef(oid)) ORDER BY conname)
                  FROM pg_constraint WHERE conrelid = 'public.projects'::regclass),
  'indexes', (SELECT jsonb_agg(pg_get_indexdef(indexrelid) ORDER BY indexrelid::regclass::text)
              FROM pg_index WHERE indrelid = 'public.projects'::regclass),
  'policies', (SELECT jsonb_agg(jsonb_build_array(polname, polcmd, polroles::regrole[]::text[], pg_get_expr(polqual, polrelid),
                                                  pg_get_expr(polwithcheck, polrelid)) ORDER BY polname)
               FROM pg_policy WHERE polrelid = 'public.projects'::regclass),
  'triggers', (SELECT jsonb_agg(tgname ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.projects'::regclass),
  'rls', (SELECT jsonb_build_array(relrowsecurity, relforcerowsecurity, relowner::regrole::text, relacl::text[])
          FROM pg_class WHERE oid = 'public.projects'::regclass),
  'rows', (SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id) FROM public.projects AS p))
"""


def _sqitch(install: SupabaseInstall, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sqitch", *args, f"db:pg://{ADMIN}@/{DESIGN_DB}"], cwd=ROOT,
                          env=install.cluster.env(), capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def design(supabase_installs: dict[str, SupabaseInstall]) -> Iterator[SupabaseInstall]:
    """The design's database on the Supabase-shaped cluster, with the app's schema and rows."""
    cluster = supabase_installs["full"].cluster
    with cluster.connect(ADMIN, "postgres") as admin:
        admin.execute(f"CREATE DATABASE {DESIGN_DB} TEMPLATE {TEMPLATE_DB} OWNER postgres")
    storage_root = cluster.base / "storage-design"
    storage_root.mkdir()
    os.chown(storage_root, *_postgres_os_ids(cluster.base))
    install = SupabaseInstall("design", cluster, DESIGN_DB, ADMIN, plpython=True, storage_root=storage_root)
    with install.connect("postgres") as app:
        app.execute(APP_SCHEMA)
        for user in (ALICE, BOB):
            app.execute("INSERT INTO auth.users (id, email) VALUES (%s, %s)", (user, f"{user.hex[-5:]}@example.com"))
        for title, user in (("alice's trailer", ALICE), ("bob's short", BOB)):
            app.execute("INSERT INTO public.projects (user_id, title, master_json) VALUES (%s, %s, %s)",
                        (user, title, Jsonb({"scenes": {"scene_1": {"scene_frame_prompt": title}}})))
    try:
        yield install
    finally:
        with cluster.connect(ADMIN, "postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DESIGN_DB} WITH (FORCE)")


def _postgres_os_ids(owned: Path) -> tuple[int, int]:
    status = owned.stat()
    return status.st_uid, status.st_gid


def test_the_design_database_is_extended_then_left_as_it_was(design: SupabaseInstall) -> None:
    storage = [f"storage_root={design.storage_root}", f"storage_public_base_url={PUBLIC_BASE_URL}"]
    deploy = ["deploy", *ADOPT, "--set", storage[0], "--set", storage[1]]

    # 1. Refused, naming the fix, while default privileges let API roles plant triggers.
    refused = _sqitch(design, *deploy)
    assert refused.returncode != 0
    assert "may create triggers on it" in refused.stderr + refused.stdout
    assert "REVOKE TRIGGER ON public.projects FROM anon, authenticated, service_role;" in refused.stderr + refused.stdout

    # 2. The app takes the hint; from here on its table must come back exactly as it is now.
    with design.connect("postgres") as app:
        app.execute("REVOKE TRIGGER ON public.projects FROM anon, authenticated, service_role")
        before = one(app, SNAPSHOT)["jsonb_build_object"]
    adopted = _sqitch(design, *deploy)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr

    with design.admin() as admin:
        admin.execute("SELECT configure_scene_image_fetch(%s)", (Jsonb({"allow_private_networks": ["127.0.0.1/32"]}),))
        project = one(admin, "INSERT INTO public.projects (user_id, title) VALUES (%s, 'design test') RETURNING id",
                      (ALICE,))["id"]
    _app_writes_rows_as_the_design_does(design, project)
    with ImageSourceServer("127.0.0.1") as source:
        install_standard_routes(source)
        _owner_stores_and_others_are_refused(design, project, source)
    _a_stale_save_keeps_the_permanent_url(design, project)
    _planted_triggers_on_the_adopted_table_gain_nothing(design, project)

    # 6. Revert to zero: only what we added goes.
    with design.connect("postgres") as app:
        app.execute("DELETE FROM public.projects WHERE id = %s", (project,))
    reverted = _sqitch(design, "revert", "-y")
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    with design.connect("postgres") as app:
        after = one(app, SNAPSHOT)["jsonb_build_object"]
        assert app.execute("SELECT to_regnamespace('scene_images_internal') AS s").fetchone()["s"] is None
    assert after == before


def _app_writes_rows_as_the_design_does(design: SupabaseInstall, project: uuid.UUID) -> None:
    """Step 3's INSERT, then "Future Enhancements" versioning, with the service key."""
    url = "https://xyz.supabase.co/storage/v1/object/public/scene-images/projects/{}/scenes/scene_1_{}.jpeg"
    with design.api() as api:
        with api_request(api, "service_role", {"role": "service_role"}) as request:
            first = one(request, """
                INSERT INTO scene_images (project_id, scene_id, storage_path, storage_url, generation_prompt,
                                          original_fal_url, fal_metadata)
                VALUES (%s, 'scene_1', %s, %s, 'a lighthouse', 'https://fal.media/files/abc.jpeg', '{"seed": 1}')
                RETURNING version, is_current, file_size, sha256""",
                (project, f"projects/{project}/scenes/scene_1_1.jpeg", url.format(project, 1)))
        assert (first["version"], first["is_current"], first["file_size"], first["sha256"]) == (1, True, None, None)
        with api_request(api, "service_role", {"role": "service_role"}) as request:
            request.execute("UPDATE scene_images SET is_current = false"
                            " WHERE project_id = %s AND scene_id = 'scene_1' AND is_current", (project,))
            second = one(request, """
                INSERT INTO scene_images (project_id, scene_id, storage_path, storage_url, version, is_current)
                VALUES (%s, 'scene_1', %s, %s, 2, true) RETURNING version""",
                (project, f"projects/{project}/scenes/scene_1_2.jpeg", url.format(project, 2)))
        assert second["version"] == 2
    with design.admin() as admin:
        versions = admin.execute("SELECT version, is_current FROM scene_images WHERE project_id = %s ORDER BY version",
                                 (project,)).fetchall()
        assert [(v["version"], v["is_current"]) for v in versions] == [(1, False), (2, True)]
        assert _start_frame(admin, project, "scene_1") == url.format(project, 2)


def _owner_stores_and_others_are_refused(design: SupabaseInstall, project: uuid.UUID, source: ImageSourceServer) -> None:
    alice = {"role": "authenticated", "sub": str(ALICE)}
    with design.api() as api, api_request(api, "authenticated", alice) as request:
        stored = one(request, "SELECT * FROM store_scene_image(project_id => %s, scene_id => 'scene_2', source_url => %s)",
                     (project, source.url("/img.png")))
    assert stored["version"] == 1 and stored["sha256"] is not None
    assert (design.storage_root / stored["storage_path"]).is_file()

    rpc = PostgrestRpcStandin(f"host={design.cluster.socket_dir} port={design.cluster.port} user=authenticator"
                              f" dbname={DESIGN_DB}", JWT_SECRET)
    try:
        base = rpc.start()
        anon_key = make_jwt({"role": "anon"}, JWT_SECRET)
        as_alice = SupabaseSceneImageStore(base, make_jwt(alice, JWT_SECRET))
        as_bob = SupabaseSceneImageStore(base, make_jwt({"role": "authenticated", "sub": str(BOB)}, JWT_SECRET))
        image = as_alice.download_and_store(project, SceneImageRequest("scene_3", source.url("/img.jpg")))
        assert image.version == 1 and as_alice.get_current_image_url(project, "scene_3") == image.storage_url
        with pytest.raises(PermissionDenied):
            as_bob.download_and_store(project, SceneImageRequest("scene_4", source.url("/img.gif")))
        with pytest.raises(PermissionDenied):
            SupabaseSceneImageStore(base, anon_key).download_and_store(
                project, SceneImageRequest("scene_4", source.url("/img.gif")))
    finally:
        rpc.stop()
    with design.admin() as admin:
        assert _start_frame(admin, project, "scene_2") == stored["storage_url"]
        assert _start_frame(admin, project, "scene_3") == image.storage_url
        assert admin.execute("SELECT count(*) AS n FROM scene_images WHERE scene_id = 'scene_4'").fetchone()["n"] == 0


def _a_stale_save_keeps_the_permanent_url(design: SupabaseInstall, project: uuid.UUID) -> None:
    """The browser saves an old copy of the whole document: the generator's URL in scene_2, a
    note in scene_1, scene_3 removed, a key of its own. Only scene_start_frame is put back."""
    stale = {"scenes": {"scene_1": {"note": "kept"}, "scene_2": {"scene_start_frame": "https://fal.media/old.png"}},
             "title_card": "kept too"}
    alice = {"role": "authenticated", "sub": str(ALICE)}
    with design.api() as api, api_request(api, "authenticated", alice) as request:
        request.execute("UPDATE public.projects SET master_json = %s WHERE id = %s", (Jsonb(stale), project))
    with design.admin() as admin:
        current = {r["scene_id"]: r["storage_url"] for r in admin.execute(
            "SELECT scene_id, storage_url FROM current_scene_images WHERE project_id = %s", (project,)).fetchall()}
        master = admin.execute("SELECT master_json FROM public.projects WHERE id = %s", (project,)).fetchone()["master_json"]
    assert master == {"scenes": {"scene_1": {"note": "kept", "scene_start_frame": current["scene_1"]},
                                 "scene_2": {"scene_start_frame": current["scene_2"]}},
                      "title_card": "kept too"}
    assert json.dumps(master).count("fal.media") == 0


PLANTED = """
CREATE FUNCTION pg_temp.planted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE 'planted trigger running as %', current_user; RETURN NEW; END $$
"""


def _planted_triggers_on_the_adopted_table_gain_nothing(design: SupabaseInstall, project: uuid.UUID) -> None:
    """From anon and authenticated logins a trigger on the app's table is refused (the REVOKE the
    deploy asked for). Should the app grant TRIGGER again, the masterJSON sync refuses to write
    the table (42501 naming the REVOKE) instead of running what may have been planted."""
    for planter in ("anon", "authenticated"):
        with design.member_of(planter) as conn:
            conn.execute(PLANTED)
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("CREATE TRIGGER planted BEFORE UPDATE ON public.projects"
                             " FOR EACH ROW EXECUTE FUNCTION pg_temp.planted()")
    with design.connect("postgres") as app:
        app.execute("GRANT TRIGGER ON public.projects TO authenticated")
        try:
            with design.admin() as admin:
                before = admin.execute("SELECT count(*) AS n FROM scene_images WHERE project_id = %s",
                                       (project,)).fetchone()["n"]
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may create triggers on it") as refused:
                    admin.execute("SELECT set_current_scene_image(%s, 'scene_1', 1)", (project,))
                assert "REVOKE TRIGGER ON public.projects FROM authenticated;" in (refused.value.diag.message_hint or "")
                after = admin.execute("SELECT count(*) AS n FROM scene_images WHERE project_id = %s",
                                      (project,)).fetchone()["n"]
                assert after == before
        finally:
            app.execute("REVOKE TRIGGER ON public.projects FROM authenticated")


def _start_frame(conn: DictConnection, project: uuid.UUID, scene: str) -> Any:
    row = conn.execute("SELECT master_json #>> ARRAY['scenes', %s, 'scene_start_frame'] AS url FROM public.projects"
                       " WHERE id = %s", (scene, project)).fetchone()
    assert row is not None
    return row["url"]


def test_a_projects_table_without_what_we_rely_on_is_refused_by_name(
    supabase_installs: dict[str, SupabaseInstall],
) -> None:
    """An existing table lacking the owner column: refused before anything is created, with the
    variable to set; the database is left as it was."""
    cluster = supabase_installs["full"].cluster
    name = "scene_images_no_owner"
    with cluster.connect(ADMIN, "postgres") as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} OWNER postgres")
    try:
        with cluster.connect("postgres", name) as app:
            app.execute("CREATE TABLE public.projects (id uuid PRIMARY KEY, title text, master_json jsonb)")
        done = subprocess.run(["sqitch", "deploy", *ADOPT, f"db:pg://{ADMIN}@/{name}"], cwd=ROOT, env=cluster.env(),
                              capture_output=True, text=True, check=False)
        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert "public.projects has no column user_id" in output and "--set owner_column=" in output
        with cluster.connect(ADMIN, name) as admin:
            assert admin.execute("SELECT to_regnamespace('scene_images_internal') AS s").fetchone()["s"] is None
            assert admin.execute("SELECT to_regclass('public.scene_images') AS t").fetchone()["t"] is None
    finally:
        with cluster.connect(ADMIN, "postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
