-- Revert scene-images:function_configure_scene_image_limits from pg

BEGIN;

DROP FUNCTION public.configure_scene_image_limits(jsonb);

COMMIT;
