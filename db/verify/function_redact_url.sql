-- Verify scene-images:function_redact_url on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.secret_query_parameter_pattern()'::regprocedure,
       'scene_images_internal.redact_url(text)'::regprocedure;
-- And it redacts (raises by division by zero when not).
SELECT 1 / (scene_images_internal.redact_url('https://u:p@h/x.png?X-Amz-Signature=s&a=1#f') = 'https://h/x.png?X-Amz-Signature=REDACTED&a=1')::int;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.secret_query_parameter_pattern()", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.redact_url(text)", "definer": false, "grantees": []}
]');

ROLLBACK;
