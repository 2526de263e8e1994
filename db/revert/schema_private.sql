-- Revert scene-images:schema_private from pg

BEGIN;

DROP SCHEMA scene_images_private;

COMMIT;
