-- Verify scene-images:function_caller_identity on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.caller_role()'::regprocedure,
       'scene_images_internal.caller_is_admin()'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.caller_role()", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.caller_is_admin()", "definer": false, "grantees": []}
]');

-- Without SET ROLE the caller is the session user, and the deployer is an admin (raises otherwise).
SELECT 1 / (scene_images_internal.caller_role() IS NOT DISTINCT FROM session_user
            AND scene_images_internal.caller_is_admin() IS TRUE)::int;

ROLLBACK;
