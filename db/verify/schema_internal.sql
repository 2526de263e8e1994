-- Verify scene-images:schema_internal on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Raises when the schema is missing.
SELECT 'scene_images_internal'::regnamespace;

-- No role but the owner may use the schema or create in it. scene_images_worker is checked
-- once it exists (role_worker comes later in the plan).
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s holds %s on schema scene_images_internal', r.role, p.privilege), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{public,anon,authenticated,service_role}'::name[]
                           || ARRAY(SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = 'scene_images_worker')) AS r(role)
    CROSS JOIN pg_catalog.unnest('{USAGE,CREATE}'::text[]) AS p(privilege)
    WHERE pg_catalog.has_schema_privilege(r.role, 'scene_images_internal', p.privilege);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

ROLLBACK;
