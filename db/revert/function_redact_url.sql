-- Revert scene-images:function_redact_url from pg

BEGIN;

DROP FUNCTION scene_images_internal.redact_url(text);
DROP FUNCTION scene_images_internal.secret_query_parameter_pattern();

COMMIT;
