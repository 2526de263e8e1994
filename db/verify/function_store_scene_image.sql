-- Verify scene-images:function_store_scene_image on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- Each cast raises when its signature is missing.
SELECT 'public.store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure,
       'scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways; raises naming every difference.
DO $$
DECLARE
    wrong text;
BEGIN
    WITH f (routine, definer, grantees) AS (VALUES
        ('public.store_scene_image(uuid, text, text, text, text, jsonb)', false, '{authenticated,service_role}'::name[]),
        ('scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb)', true, '{authenticated,service_role}')
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
\endif

ROLLBACK;
