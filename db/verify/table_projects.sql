-- Verify scene-images:table_projects on pg

BEGIN;

SELECT id, name, master_json, owner_id, created_at FROM public.projects WHERE false;

DO $$
BEGIN
    ASSERT pg_catalog.has_table_privilege('authenticated', 'public.projects', 'select'), 'authenticated cannot select projects';
    ASSERT NOT pg_catalog.has_table_privilege('anon', 'public.projects', 'select'), 'anon can select projects';
END
$$;

ROLLBACK;
