-- Verify scene-images:policies_rls on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

SELECT value ->> 'table' AS projects_table, value ->> 'created_by_us' AS created_by_us
FROM scene_images_internal.settings WHERE name = 'projects' \gset

-- Row-level security on scene_images, and on the projects table when it is ours (an adopted
-- table keeps the app's own); raises when it is off.
SELECT 1 / (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = 'public.scene_images'::regclass)::int;
\if :created_by_us
SELECT 1 / (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = :'projects_table'::regclass)::int;
\endif

-- Exactly our policies, each permissive, for its command and role only; raises naming every one
-- missing, different or unexpected. On an adopted projects table the app's policies are not ours.
SELECT set_config('scene_images.verify_relation', :'projects_table', true),
       set_config('scene_images.verify_ours', :'created_by_us', true);
DO $$
DECLARE
    projects regclass := pg_catalog.current_setting('scene_images.verify_relation')::regclass;
    ours boolean := pg_catalog.current_setting('scene_images.verify_ours')::boolean;
    wrong text;
BEGIN
    WITH want (relation, policyname, cmd, roles) AS (
        SELECT * FROM (VALUES
            (projects, 'projects_select_authenticated', 'SELECT', '{authenticated}'::name[]),
            (projects, 'projects_insert_authenticated', 'INSERT', '{authenticated}'),
            (projects, 'projects_update_authenticated', 'UPDATE', '{authenticated}'),
            (projects, 'projects_delete_authenticated', 'DELETE', '{authenticated}'),
            (projects, 'projects_all_service_role', 'ALL', '{service_role}')) AS w WHERE ours
        UNION ALL VALUES
            ('public.scene_images'::regclass, 'scene_images_select_authenticated', 'SELECT', '{authenticated}'::name[]),
            ('public.scene_images'::regclass, 'scene_images_all_service_role', 'ALL', '{service_role}')
    ), have AS (
        SELECT pol.polrelid::regclass, pol.polname::text,
               CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                               WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
               ARRAY(SELECT pg_catalog.pg_get_userbyid(u) FROM pg_catalog.unnest(pol.polroles) AS u)::name[]
        FROM pg_catalog.pg_policy AS pol
        WHERE pol.polpermissive AND (pol.polrelid = 'public.scene_images'::regclass OR (ours AND pol.polrelid = projects))
    )
    SELECT pg_catalog.string_agg(d.problem, '; ') INTO wrong FROM (
        SELECT pg_catalog.format('policy %s on %s for %s to %s is missing or differs', w.policyname, w.relation, w.cmd, w.roles)
        FROM (SELECT * FROM want EXCEPT SELECT * FROM have) AS w
        UNION ALL
        SELECT pg_catalog.format('unexpected policy %s on %s', pol.polname, pol.polrelid::regclass)
        FROM pg_catalog.pg_policy AS pol
        WHERE (pol.polrelid = 'public.scene_images'::regclass OR (ours AND pol.polrelid = projects))
          AND (pol.polrelid::regclass, pol.polname::text) NOT IN (SELECT relation, policyname FROM want)
    ) AS d (problem);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'row-level security differs: %', wrong;
    END IF;
END
$$;

ROLLBACK;
