-- Revert scene-images:function_record_scene_images from pg

BEGIN;

DROP FUNCTION scene_images_internal.record_scene_images(uuid, jsonb);

COMMIT;
