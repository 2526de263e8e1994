-- Revert scene-images:function_set_current_scene_image from pg

BEGIN;

DROP FUNCTION public.set_current_scene_image(uuid, text, integer);
DROP FUNCTION scene_images_private.set_current_scene_image(uuid, text, integer);

COMMIT;
