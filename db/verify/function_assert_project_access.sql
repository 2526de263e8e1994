-- Verify scene-images:function_assert_project_access on pg

BEGIN;

SELECT pg_catalog.has_function_privilege('scene_images_internal.assert_project_access(uuid)', 'execute');

ROLLBACK;
