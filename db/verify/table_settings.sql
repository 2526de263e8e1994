-- Verify scene-images:table_settings on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- The columns (raises when one is missing), the four rows, a storage backend and the limits.
SELECT name, value, updated_at FROM scene_images_internal.settings WHERE false;
SELECT 1 / (count(*) = 4)::int FROM scene_images_internal.settings WHERE name IN ('storage', 'fetch', 'queue', 'limits');
SELECT 1 / count(*) FROM scene_images_internal.settings WHERE name = 'limits' AND value ? 'bulk_max_bytes_held';
SELECT 1 / count(*) FROM scene_images_internal.settings WHERE name = 'storage' AND value ->> 'backend' IS NOT NULL;

-- No role but the owner holds any privilege on it (a grant on any column counts); raises naming
-- every one.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s holds %s on %s', r.role, p.privilege, t.relation), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{scene_images_internal.settings}'::text[]) AS t (relation)
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

ROLLBACK;
