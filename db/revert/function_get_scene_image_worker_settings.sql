-- Revert scene-images:function_get_scene_image_worker_settings from pg

BEGIN;

DROP FUNCTION public.get_scene_image_worker_settings();
DROP FUNCTION scene_images_private.get_scene_image_worker_settings();

COMMIT;
