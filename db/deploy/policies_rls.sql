-- Deploy scene-images:policies_rls to pg
-- requires: table_projects
-- requires: table_scene_images
-- requires: function_request_uid

BEGIN;

-- The projects table's RLS is ours only when we created it; an adopted table keeps the app's.
SELECT value ->> 'table' AS projects_table, value ->> 'owner_column' AS owner_column,
       value ->> 'created_by_us' AS created_by_us
FROM scene_images_internal.settings WHERE name = 'projects' \gset

\if :created_by_us
ALTER TABLE :projects_table ENABLE ROW LEVEL SECURITY;

CREATE POLICY projects_select_authenticated ON :projects_table
    FOR SELECT TO authenticated USING (:"owner_column" = public.request_uid());
CREATE POLICY projects_insert_authenticated ON :projects_table
    FOR INSERT TO authenticated WITH CHECK (:"owner_column" = public.request_uid());
CREATE POLICY projects_update_authenticated ON :projects_table
    FOR UPDATE TO authenticated USING (:"owner_column" = public.request_uid()) WITH CHECK (:"owner_column" = public.request_uid());
CREATE POLICY projects_delete_authenticated ON :projects_table
    FOR DELETE TO authenticated USING (:"owner_column" = public.request_uid());
CREATE POLICY projects_all_service_role ON :projects_table
    FOR ALL TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY projects_select_authenticated ON :projects_table IS 'Users see their own projects.';
COMMENT ON POLICY projects_insert_authenticated ON :projects_table IS 'Users create projects they own.';
COMMENT ON POLICY projects_update_authenticated ON :projects_table IS 'Users change their own projects and cannot give them away.';
COMMENT ON POLICY projects_delete_authenticated ON :projects_table IS 'Users delete their own projects.';
COMMENT ON POLICY projects_all_service_role ON :projects_table IS 'The service role manages every project.';
\endif

ALTER TABLE public.scene_images ENABLE ROW LEVEL SECURITY;

-- The user sees what the projects table's own RLS lets them see of their projects: ours never
-- widens an adopted table's.
CREATE POLICY scene_images_select_authenticated ON public.scene_images
    FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM :projects_table AS p
                   WHERE p.id = scene_images.project_id AND p.:"owner_column" = public.request_uid()));
CREATE POLICY scene_images_all_service_role ON public.scene_images
    FOR ALL TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY scene_images_select_authenticated ON public.scene_images IS 'Users see the images of their own projects.';
COMMENT ON POLICY scene_images_all_service_role ON public.scene_images IS 'The service role manages every image.';

COMMIT;
