-- Revert scene-images:function_process_scene_image_jobs from pg

BEGIN;

DROP FUNCTION IF EXISTS public.process_scene_image_jobs(integer);
DROP FUNCTION IF EXISTS scene_images_private.process_scene_image_jobs(integer);
DROP FUNCTION IF EXISTS scene_images_internal.try_process_scene_image_jobs(integer);

COMMIT;
