-- Revert scene-images:function_get_scene_image_projects_table from pg

BEGIN;

DROP FUNCTION public.get_scene_image_projects_table();
DROP FUNCTION scene_images_private.get_scene_image_projects_table();

COMMIT;
