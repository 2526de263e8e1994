-- Revert scene-images:function_configure_scene_image_fetch from pg

BEGIN;

DROP FUNCTION public.configure_scene_image_fetch(jsonb);
DROP FUNCTION scene_images_internal.is_cidr(text);

COMMIT;
