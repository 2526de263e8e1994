-- Verify scene-images:functions_scene_image_jobs_client on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.enqueue_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure,
       'scene_images_private.enqueue_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure,
       'public.enqueue_scene_images(uuid, jsonb)'::regprocedure,
       'scene_images_private.enqueue_scene_images(uuid, jsonb)'::regprocedure,
       'public.get_scene_image_job(uuid)'::regprocedure,
       'scene_images_private.get_scene_image_job(uuid)'::regprocedure,
       'public.retry_scene_image_job(uuid)'::regprocedure,
       'scene_images_private.retry_scene_image_job(uuid)'::regprocedure,
       'scene_images_internal.queueable_scene_image_requests(uuid, jsonb)'::regprocedure,
       'scene_images_internal.reserve_pending_jobs(uuid, integer)'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "public.enqueue_scene_image(uuid, text, text, text, text, jsonb)", "definer": false, "grantees": ["authenticated", "service_role"]},
    {"routine": "scene_images_private.enqueue_scene_image(uuid, text, text, text, text, jsonb)", "definer": true, "grantees": ["authenticated", "service_role"]},
    {"routine": "public.enqueue_scene_images(uuid, jsonb)", "definer": false, "grantees": ["authenticated", "service_role"]},
    {"routine": "scene_images_private.enqueue_scene_images(uuid, jsonb)", "definer": true, "grantees": ["authenticated", "service_role"]},
    {"routine": "public.get_scene_image_job(uuid)", "definer": false, "grantees": ["authenticated", "service_role"]},
    {"routine": "scene_images_private.get_scene_image_job(uuid)", "definer": true, "grantees": ["authenticated", "service_role"]},
    {"routine": "public.retry_scene_image_job(uuid)", "definer": false, "grantees": ["authenticated", "service_role"]},
    {"routine": "scene_images_private.retry_scene_image_job(uuid)", "definer": true, "grantees": ["authenticated", "service_role"]},
    {"routine": "scene_images_internal.queueable_scene_image_requests(uuid, jsonb)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.reserve_pending_jobs(uuid, integer)", "definer": false, "grantees": []}
]');

ROLLBACK;
