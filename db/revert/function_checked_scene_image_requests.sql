-- Revert scene-images:function_checked_scene_image_requests from pg

BEGIN;

DROP FUNCTION scene_images_internal.checked_scene_image_requests(uuid, jsonb);
DROP FUNCTION scene_images_internal.max_bulk_requests();

COMMIT;
