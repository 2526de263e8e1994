-- Verify scene-images:function_configure_scene_image_storage on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.configure_scene_image_storage(text, jsonb)'::regprocedure,
       'scene_images_internal.storage_secret_keys()'::regprocedure,
       'scene_images_internal.storage_backend_settings()'::regprocedure;
SELECT preparer FROM scene_images_internal.storage_preparers WHERE false;
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s holds %s on %s', r.role, p.privilege, t.relation), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{scene_images_internal.storage_preparers}'::text[]) AS t (relation)
    CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
    CROSS JOIN pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p (privilege)
    CROSS JOIN LATERAL (SELECT CASE WHEN p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                                    THEN pg_catalog.has_any_column_privilege(r.role, t.relation, p.privilege)
                                    ELSE pg_catalog.has_table_privilege(r.role, t.relation, p.privilege) END) AS h (held)
    WHERE h.held;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

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
