-- Verify scene-images:function_prepare_storage on pg

BEGIN;

SELECT pg_catalog.has_function_privilege('scene_images_internal.prepare_storage(text, jsonb)', 'execute');

ROLLBACK;
