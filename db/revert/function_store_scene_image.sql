-- Revert scene-images:function_store_scene_image from pg

BEGIN;

DROP FUNCTION public.store_scene_image(uuid, text, text, text, text, jsonb);
DROP FUNCTION scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb);

COMMIT;
