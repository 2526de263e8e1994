-- Revert scene-images:function_assert_project_access from pg

BEGIN;

DROP FUNCTION scene_images_internal.assert_project_access(uuid);

COMMIT;
