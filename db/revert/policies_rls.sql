-- Revert scene-images:policies_rls from pg

BEGIN;

SELECT value ->> 'table' AS projects_table, value ->> 'created_by_us' AS created_by_us
FROM scene_images_internal.settings WHERE name = 'projects' \gset

DROP POLICY scene_images_all_service_role ON public.scene_images;
DROP POLICY scene_images_select_authenticated ON public.scene_images;
ALTER TABLE public.scene_images DISABLE ROW LEVEL SECURITY;

\if :created_by_us
DROP POLICY projects_all_service_role ON :projects_table;
DROP POLICY projects_delete_authenticated ON :projects_table;
DROP POLICY projects_update_authenticated ON :projects_table;
DROP POLICY projects_insert_authenticated ON :projects_table;
DROP POLICY projects_select_authenticated ON :projects_table;
ALTER TABLE :projects_table DISABLE ROW LEVEL SECURITY;
\endif

COMMIT;
