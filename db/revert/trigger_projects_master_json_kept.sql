-- Revert scene-images:trigger_projects_master_json_kept from pg

BEGIN;

SELECT value ->> 'table' AS projects_table FROM scene_images_internal.settings WHERE name = 'projects' \gset

DROP TRIGGER scene_images_keep_master_json ON :projects_table;
DROP FUNCTION scene_images_internal.keep_master_json_true();

COMMIT;
