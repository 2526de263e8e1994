-- Verify scene-images:schema_private on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Raises when the schema is missing.
SELECT 'scene_images_private'::regnamespace;

-- USAGE for the roles that call the definer entry points, CREATE for none, both ways.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s %s %s on schema scene_images_private', r.role,
               CASE WHEN r.role = ANY (p.grantees) THEN 'lacks' ELSE 'holds' END, p.privilege), '; ')
    INTO wrong
    FROM (VALUES
        ('USAGE', '{authenticated,service_role,scene_images_worker}'::name[]),
        ('CREATE', '{}')
    ) AS p(privilege, grantees)
    CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r(role)
    WHERE pg_catalog.has_schema_privilege(r.role, 'scene_images_private', p.privilege) <> (r.role = ANY (p.grantees));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

ROLLBACK;
