-- Revert scene-images:function_store_scene_images from pg

BEGIN;

DROP FUNCTION IF EXISTS public.store_scene_images(uuid, jsonb);
DROP FUNCTION IF EXISTS scene_images_private.store_scene_images(uuid, jsonb);
DROP FUNCTION IF EXISTS scene_images_internal.try_store_scene_images(uuid, jsonb);

COMMIT;
