-- Revert scene-images:function_caller_identity from pg

BEGIN;

DROP FUNCTION scene_images_internal.caller_is_admin();
DROP FUNCTION scene_images_internal.caller_role();

COMMIT;
