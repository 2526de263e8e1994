-- Verify scene-images:function_checked_scene_image_requests on pg

BEGIN;

SELECT pg_catalog.has_function_privilege('scene_images_internal.checked_scene_image_requests(uuid, jsonb)', 'execute');

ROLLBACK;
