-- Verify scene-images:function_check_scene_image_request on pg

BEGIN;

SELECT pg_catalog.has_function_privilege(
    'scene_images_internal.check_scene_image_request(uuid, text, text, text, text, jsonb)', 'execute');
SELECT pg_catalog.has_function_privilege('scene_images_internal.jsonb_deeper_than(jsonb, integer)', 'execute');

ROLLBACK;
