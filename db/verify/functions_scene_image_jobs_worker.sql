-- Verify scene-images:functions_scene_image_jobs_worker on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.claim_scene_image_jobs(text, integer, interval)'::regprocedure,
       'scene_images_private.claim_scene_image_jobs(text, integer, interval)'::regprocedure,
       'public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure,
       'scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure,
       'public.fail_scene_image_job(uuid, text, text, text)'::regprocedure,
       'scene_images_private.fail_scene_image_job(uuid, text, text, text)'::regprocedure,
       'public.get_scene_image_queue_counts()'::regprocedure,
       'scene_images_private.get_scene_image_queue_counts()'::regprocedure,
       'scene_images_internal.lock_job(uuid)'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "public.claim_scene_image_jobs(text, integer, interval)", "definer": false, "grantees": ["scene_images_worker"]},
    {"routine": "scene_images_private.claim_scene_image_jobs(text, integer, interval)", "definer": true, "grantees": ["scene_images_worker"]},
    {"routine": "public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)", "definer": false, "grantees": ["scene_images_worker"]},
    {"routine": "scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)", "definer": true, "grantees": ["scene_images_worker"]},
    {"routine": "public.fail_scene_image_job(uuid, text, text, text)", "definer": false, "grantees": ["scene_images_worker"]},
    {"routine": "scene_images_private.fail_scene_image_job(uuid, text, text, text)", "definer": true, "grantees": ["scene_images_worker"]},
    {"routine": "public.get_scene_image_queue_counts()", "definer": false, "grantees": ["service_role", "scene_images_worker"]},
    {"routine": "scene_images_private.get_scene_image_queue_counts()", "definer": true, "grantees": ["service_role", "scene_images_worker"]},
    {"routine": "scene_images_internal.lock_job(uuid)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.storage_object_url(text)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.assert_job_held(scene_images_internal.scene_image_jobs, text)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.url_quote(text)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.check_job_completion(scene_images_internal.scene_image_jobs, text, text, bigint, text, text, integer, integer, jsonb)", "definer": false, "grantees": []}
]');

ROLLBACK;
