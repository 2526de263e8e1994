-- Verify scene-images:function_checked_scene_image_requests on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.checked_scene_image_requests(uuid, jsonb)'::regprocedure,
       'scene_images_internal.max_bulk_requests()'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.checked_scene_image_requests(uuid, jsonb)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.max_bulk_requests()", "definer": false, "grantees": []}
]');

ROLLBACK;
