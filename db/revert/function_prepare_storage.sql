-- Revert scene-images:function_prepare_storage from pg

BEGIN;

DELETE FROM scene_images_internal.storage_preparers
WHERE preparer = pg_catalog.to_regprocedure('scene_images_internal.prepare_storage(text, jsonb)');
DROP FUNCTION IF EXISTS scene_images_internal.prepare_storage(text, jsonb);

COMMIT;
