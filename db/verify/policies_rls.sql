-- Verify scene-images:policies_rls on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Row-level security on both tables (raises when it is off on either).
SELECT 1 / (count(*) = 2)::int FROM pg_catalog.pg_class
WHERE oid IN ('public.projects'::regclass, 'public.scene_images'::regclass) AND relrowsecurity;

-- Exactly these policies on the two tables, each permissive, for its command and role only;
-- raises naming every one missing, different or unexpected.
DO $$
DECLARE
    wrong text;
BEGIN
    WITH want (tablename, policyname, cmd, roles) AS (VALUES
        ('projects', 'projects_select_authenticated', 'SELECT', '{authenticated}'::name[]),
        ('projects', 'projects_insert_authenticated', 'INSERT', '{authenticated}'),
        ('projects', 'projects_update_authenticated', 'UPDATE', '{authenticated}'),
        ('projects', 'projects_delete_authenticated', 'DELETE', '{authenticated}'),
        ('projects', 'projects_all_service_role', 'ALL', '{service_role}'),
        ('scene_images', 'scene_images_select_authenticated', 'SELECT', '{authenticated}'),
        ('scene_images', 'scene_images_all_service_role', 'ALL', '{service_role}')
    ), have AS (
        SELECT p.tablename, p.policyname, p.cmd, p.roles FROM pg_catalog.pg_policies AS p
        WHERE p.schemaname = 'public' AND p.tablename IN ('projects', 'scene_images') AND p.permissive = 'PERMISSIVE'
    )
    SELECT pg_catalog.string_agg(d.problem, '; ') INTO wrong FROM (
        SELECT pg_catalog.format('policy %s on public.%s for %s to %s is missing or differs',
                                 w.policyname, w.tablename, w.cmd, w.roles)
        FROM (SELECT * FROM want EXCEPT SELECT * FROM have) AS w
        UNION ALL
        SELECT pg_catalog.format('unexpected policy %s on public.%s', p.policyname, p.tablename)
        FROM pg_catalog.pg_policies AS p
        WHERE p.schemaname = 'public' AND p.tablename IN ('projects', 'scene_images')
          AND (p.tablename, p.policyname) NOT IN (SELECT tablename, policyname FROM want)
    ) AS d (problem);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'row-level security differs: %', wrong;
    END IF;
END
$$;

ROLLBACK;
