-- Verify scene-images:function_get_scene_image_history on pg

BEGIN;

SELECT pg_catalog.has_function_privilege('public.get_scene_image_history(uuid, text)', 'execute');

ROLLBACK;
