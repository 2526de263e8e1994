-- Verify scene-images:function_get_scene_image_worker_settings on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.get_scene_image_worker_settings()'::regprocedure,
       'scene_images_private.get_scene_image_worker_settings()'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "public.get_scene_image_worker_settings()", "definer": false, "grantees": ["scene_images_worker"]},
    {"routine": "scene_images_private.get_scene_image_worker_settings()", "definer": true, "grantees": ["scene_images_worker"]}
]');

ROLLBACK;
