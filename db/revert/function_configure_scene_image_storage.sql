-- Revert scene-images:function_configure_scene_image_storage from pg

BEGIN;

DROP FUNCTION public.configure_scene_image_storage(text, jsonb);
DROP FUNCTION scene_images_internal.storage_backend_settings();
DROP TABLE scene_images_internal.storage_preparers;

COMMIT;
