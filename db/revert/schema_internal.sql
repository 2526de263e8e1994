-- Revert scene-images:schema_internal from pg

BEGIN;

DROP SCHEMA scene_images_internal;

COMMIT;
