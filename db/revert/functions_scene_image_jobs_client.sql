-- Revert scene-images:functions_scene_image_jobs_client from pg

BEGIN;

DROP FUNCTION public.retry_scene_image_job(uuid);
DROP FUNCTION scene_images_private.retry_scene_image_job(uuid);
DROP FUNCTION public.get_scene_image_job(uuid);
DROP FUNCTION scene_images_private.get_scene_image_job(uuid);
DROP FUNCTION public.enqueue_scene_image(uuid, text, text, text, text, jsonb);
DROP FUNCTION scene_images_private.enqueue_scene_image(uuid, text, text, text, text, jsonb);
DROP FUNCTION public.enqueue_scene_images(uuid, jsonb);
DROP FUNCTION scene_images_private.enqueue_scene_images(uuid, jsonb);
DROP FUNCTION scene_images_internal.queueable_scene_image_requests(uuid, jsonb);
DROP FUNCTION scene_images_internal.reserve_pending_jobs(uuid, integer);

COMMIT;
