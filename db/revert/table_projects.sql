-- Revert scene-images:table_projects from pg

BEGIN;

-- Only what the deploy added: an adopted table, its rows, RLS and grants stay as they were.
SELECT value ->> 'table' AS projects_table, value ->> 'created_by_us' AS created_by_us
FROM scene_images_internal.settings WHERE name = 'projects' \gset

DROP VIEW scene_images_internal.projects;
DELETE FROM scene_images_internal.settings WHERE name = 'projects';
\if :created_by_us
DROP TABLE :projects_table;
\endif
DROP PROCEDURE scene_images_internal.assert_projects_untriggerable();
DROP PROCEDURE scene_images_internal.check_projects_table(regclass, name, name, name);

COMMIT;
