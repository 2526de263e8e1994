-- Revert scene-images:function_store_scene_image_fallback from pg

BEGIN;

DROP FUNCTION IF EXISTS public.store_scene_image(uuid, text, text, text, text, jsonb, boolean);
DROP FUNCTION IF EXISTS scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb, boolean);
DROP FUNCTION IF EXISTS scene_images_internal.try_store_scene_image(uuid, text, text, text, text, jsonb, boolean);
DROP TYPE IF EXISTS public.scene_image_outcome;

COMMIT;
