-- Revert scene-images:function_get_scene_image_history from pg

BEGIN;

DROP FUNCTION public.get_scene_image_history(uuid, text);

COMMIT;
