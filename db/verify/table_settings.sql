-- Verify scene-images:table_settings on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- The columns (raises when one is missing), the four rows, a storage backend and the limits.
SELECT name, value, updated_at FROM scene_images_internal.settings WHERE false;
SELECT 'scene_images_internal.fetch_defaults()'::regprocedure;
SELECT 1 / (count(*) = 4)::int FROM scene_images_internal.settings WHERE name IN ('storage', 'fetch', 'queue', 'limits');
SELECT 1 / count(*) FROM scene_images_internal.settings WHERE name = 'limits' AND value ? 'bulk_max_bytes_held';
SELECT 1 / count(*) FROM scene_images_internal.settings WHERE name = 'storage' AND value ->> 'backend' IS NOT NULL;

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts;
-- scene_images_internal.verify_relations raises naming every difference).
CALL scene_images_internal.verify_relations('{"scene_images_internal.settings": {}}');

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.fetch_defaults()", "definer": false, "grantees": []}
]');

ROLLBACK;
