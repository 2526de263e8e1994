-- Verify scene-images:trigger_scene_images_versioning on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.lock_scene(uuid, text)'::regprocedure,
       'scene_images_internal.assign_scene_image_version()'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.lock_scene(uuid, text)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.assign_scene_image_version()", "definer": true, "grantees": []}
]');

-- The scene lock table: its columns (raises when one is missing) and no grants.
SELECT project_id, scene_id FROM scene_images_internal.scene_write_locks WHERE false;

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts;
-- scene_images_internal.verify_relations raises naming every difference).
CALL scene_images_internal.verify_relations('{"scene_images_internal.scene_write_locks": {}}');

-- The trigger: BEFORE INSERT FOR EACH ROW (tgtype 7), calling our function, enabled.
SELECT 1 / count(*) FROM pg_catalog.pg_trigger
WHERE tgrelid = 'public.scene_images'::regclass AND tgname = 'scene_images_versioning'
  AND tgfoid = 'scene_images_internal.assign_scene_image_version()'::regprocedure
  AND tgtype = 7 AND tgenabled <> 'D';

ROLLBACK;
