-- Revert scene-images:function_get_scene_image_url from pg

BEGIN;

DROP FUNCTION public.get_scene_image_url(uuid, text);

COMMIT;
