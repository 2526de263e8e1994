-- Revert scene-images:function_store_scene_image_fallback from pg

BEGIN;

DROP FUNCTION public.store_scene_image(uuid, text, text, text, text, jsonb, boolean);
DROP FUNCTION scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb, boolean);
DROP TYPE public.scene_image_outcome;

COMMIT;
