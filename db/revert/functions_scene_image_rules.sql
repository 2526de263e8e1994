-- Revert scene-images:functions_scene_image_rules from pg

BEGIN;

DROP FUNCTION scene_images_internal.permanent_error_sqlstates();
DROP FUNCTION scene_images_internal.max_url_length();
DROP FUNCTION scene_images_internal.scene_id_pattern();

COMMIT;
