-- Verify scene-images:function_get_scene_image_projects_table on pg

BEGIN;

SELECT 1 / (pg_catalog.has_function_privilege('authenticated', 'public.get_scene_image_projects_table()', 'execute')
            AND pg_catalog.has_function_privilege('authenticated', 'scene_images_private.get_scene_image_projects_table()', 'execute')
            AND NOT pg_catalog.has_function_privilege('anon', 'public.get_scene_image_projects_table()', 'execute'))::int;

ROLLBACK;
