-- Revert scene-images:function_check_scene_image_request from pg

BEGIN;

DROP FUNCTION scene_images_internal.check_scene_image_request(uuid, text, text, text, text, jsonb);
DROP FUNCTION scene_images_internal.jsonb_deeper_than(jsonb, integer);

COMMIT;
