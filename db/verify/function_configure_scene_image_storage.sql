-- Verify scene-images:function_configure_scene_image_storage on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.configure_scene_image_storage(text, jsonb)'::regprocedure,
       'scene_images_internal.storage_secret_keys()'::regprocedure,
       'scene_images_internal.storage_backend_settings()'::regprocedure;
SELECT preparer FROM scene_images_internal.storage_preparers WHERE false;
SELECT 1 / (NOT pg_catalog.has_table_privilege('authenticated', 'scene_images_internal.storage_preparers', 'select')
            AND NOT pg_catalog.has_table_privilege('service_role', 'scene_images_internal.storage_preparers', 'select'))::int;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways; raises naming every difference.
DO $$
DECLARE
    wrong text;
BEGIN
    WITH f (routine, definer, grantees) AS (VALUES
        ('public.configure_scene_image_storage(text, jsonb)', false, '{}'::name[]),
        ('scene_images_internal.storage_secret_keys()', false, '{}'),
        ('scene_images_internal.storage_backend_settings()', false, '{}')
    )
    SELECT pg_catalog.string_agg(d.problem, '; ') INTO wrong FROM (
        SELECT pg_catalog.format('%s is %sSECURITY DEFINER', f.routine, CASE WHEN f.definer THEN 'not ' ELSE '' END)
        FROM f JOIN pg_catalog.pg_proc AS p ON p.oid = f.routine::regprocedure
        WHERE p.prosecdef <> f.definer
        UNION ALL
        SELECT pg_catalog.format('%s %s EXECUTE on %s', r.role,
                                 CASE WHEN r.role = ANY (f.grantees) THEN 'lacks' ELSE 'holds' END, f.routine)
        FROM f CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
        WHERE pg_catalog.has_function_privilege(r.role, f.routine, 'EXECUTE') <> (r.role = ANY (f.grantees))
    ) AS d (problem);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'functions differ from the access table: %', wrong;
    END IF;
END
$$;

ROLLBACK;
