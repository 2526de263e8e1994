-- Verify scene-images:trigger_projects_master_json_kept on pg

BEGIN;

-- Raises (division by zero) when the trigger is missing from the projects table in use.
SELECT 1 / count(*) FROM pg_catalog.pg_trigger AS t, scene_images_internal.settings AS s
WHERE s.name = 'projects' AND t.tgrelid = (s.value ->> 'table')::regclass AND t.tgname = 'scene_images_keep_master_json';

ROLLBACK;
