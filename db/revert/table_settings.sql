-- Revert scene-images:table_settings from pg

BEGIN;

DROP TABLE scene_images_internal.settings;
DROP FUNCTION scene_images_internal.fetch_defaults();

COMMIT;
