-- Deploy scene-images:policies_rls to pg
-- requires: table_projects
-- requires: table_scene_images
-- requires: function_request_uid

BEGIN;

ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.scene_images ENABLE ROW LEVEL SECURITY;

CREATE POLICY projects_select_authenticated ON public.projects
    FOR SELECT TO authenticated USING (owner_id = public.request_uid());
CREATE POLICY projects_insert_authenticated ON public.projects
    FOR INSERT TO authenticated WITH CHECK (owner_id = public.request_uid());
CREATE POLICY projects_update_authenticated ON public.projects
    FOR UPDATE TO authenticated USING (owner_id = public.request_uid()) WITH CHECK (owner_id = public.request_uid());
CREATE POLICY projects_delete_authenticated ON public.projects
    FOR DELETE TO authenticated USING (owner_id = public.request_uid());
CREATE POLICY projects_all_service_role ON public.projects
    FOR ALL TO service_role USING (true) WITH CHECK (true);

CREATE POLICY scene_images_select_authenticated ON public.scene_images
    FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM public.projects AS p
                   WHERE p.id = scene_images.project_id AND p.owner_id = public.request_uid()));
CREATE POLICY scene_images_all_service_role ON public.scene_images
    FOR ALL TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY projects_select_authenticated ON public.projects IS 'Users see their own projects.';
COMMENT ON POLICY projects_insert_authenticated ON public.projects IS 'Users create projects they own.';
COMMENT ON POLICY projects_update_authenticated ON public.projects IS 'Users change their own projects and cannot give them away.';
COMMENT ON POLICY projects_delete_authenticated ON public.projects IS 'Users delete their own projects.';
COMMENT ON POLICY projects_all_service_role ON public.projects IS 'The service role manages every project.';
COMMENT ON POLICY scene_images_select_authenticated ON public.scene_images IS 'Users see the images of their own projects.';
COMMENT ON POLICY scene_images_all_service_role ON public.scene_images IS 'The service role manages every image.';

COMMIT;
