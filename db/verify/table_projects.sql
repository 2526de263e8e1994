-- Verify scene-images:table_projects on pg

BEGIN;

-- Each line raises when its object is missing or a grant is wrong.
SELECT id, master_json, owner_id, name FROM scene_images_internal.projects WHERE false;
SELECT 1 / count(*) FROM scene_images_internal.settings WHERE name = 'projects' AND value ? 'table';
SELECT 'scene_images_internal.check_projects_table(regclass, name, name, name)'::regprocedure;
SELECT 1 / (NOT pg_catalog.has_table_privilege('authenticated', 'scene_images_internal.projects', 'select'))::int;

ROLLBACK;
