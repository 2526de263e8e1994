-- Verify scene-images:procedure_revoke_all_grants on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.revoke_all_grants(regprocedure)'::regprocedure,
       'scene_images_internal.revoke_all_grants(regclass)'::regprocedure,
       'scene_images_internal.revoke_all_grants(regnamespace)'::regprocedure;

-- No role but the owner may call them. scene_images_worker is checked once it exists
-- (role_worker comes later in the plan).
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s holds EXECUTE on %s', r.role, f.routine), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{scene_images_internal.revoke_all_grants(regprocedure),'
                           'scene_images_internal.revoke_all_grants(regclass),'
                           'scene_images_internal.revoke_all_grants(regnamespace)}'::text[]) AS f(routine)
    CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role}'::name[]
                                 || ARRAY(SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = 'scene_images_worker')) AS r(role)
    WHERE pg_catalog.has_function_privilege(r.role, f.routine, 'EXECUTE');
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

ROLLBACK;
