-- Revert scene-images:function_prepare_storage from pg

BEGIN;

DROP FUNCTION scene_images_internal.prepare_storage(text, jsonb);

COMMIT;
