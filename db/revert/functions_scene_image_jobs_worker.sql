-- Revert scene-images:functions_scene_image_jobs_worker from pg

BEGIN;

DROP FUNCTION public.get_scene_image_queue_counts();
DROP FUNCTION scene_images_private.get_scene_image_queue_counts();
DROP FUNCTION public.fail_scene_image_job(uuid, text, text, text);
DROP FUNCTION scene_images_private.fail_scene_image_job(uuid, text, text, text);
DROP FUNCTION public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb);
DROP FUNCTION scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb);
DROP FUNCTION public.claim_scene_image_jobs(text, integer, interval);
DROP FUNCTION scene_images_private.claim_scene_image_jobs(text, integer, interval);
DROP FUNCTION scene_images_internal.check_job_completion(scene_images_internal.scene_image_jobs, text, text, bigint, text, text, integer, integer, jsonb);
DROP FUNCTION scene_images_internal.storage_object_url(text);
DROP FUNCTION scene_images_internal.url_quote(text);
DROP FUNCTION scene_images_internal.assert_job_held(scene_images_internal.scene_image_jobs, text);
DROP FUNCTION scene_images_internal.lock_job(uuid);

COMMIT;
