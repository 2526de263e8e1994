-- Verify scene-images:function_set_current_scene_image on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.set_current_scene_image(uuid, text, integer)'::regprocedure,
       'scene_images_private.set_current_scene_image(uuid, text, integer)'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "public.set_current_scene_image(uuid, text, integer)", "definer": false, "grantees": ["authenticated", "service_role"]},
    {"routine": "scene_images_private.set_current_scene_image(uuid, text, integer)", "definer": true, "grantees": ["authenticated", "service_role"]}
]');

ROLLBACK;
