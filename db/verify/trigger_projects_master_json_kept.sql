-- Verify scene-images:trigger_projects_master_json_kept on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Raises (division by zero) when the trigger is missing from the projects table in use.
SELECT 1 / count(*) FROM pg_catalog.pg_trigger AS t, scene_images_internal.settings AS s
WHERE s.name = 'projects' AND t.tgrelid = (s.value ->> 'table')::regclass AND t.tgname = 'scene_images_keep_master_json';
SELECT 'scene_images_internal.keep_master_json_true()'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.keep_master_json_true()", "definer": true, "grantees": []}
]');

ROLLBACK;
