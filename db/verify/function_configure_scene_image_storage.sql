-- Verify scene-images:function_configure_scene_image_storage on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.configure_scene_image_storage(text, jsonb)'::regprocedure,
       'scene_images_internal.storage_backend_settings()'::regprocedure;
SELECT preparer FROM scene_images_internal.storage_preparers WHERE false;
-- Privileges exactly as the README's access table says, both ways (a grant on any column counts;
-- scene_images_internal.verify_relations raises naming every difference).
CALL scene_images_internal.verify_relations('{"scene_images_internal.storage_preparers": {}}');

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "public.configure_scene_image_storage(text, jsonb)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.storage_backend_settings()", "definer": false, "grantees": []}
]');

ROLLBACK;
