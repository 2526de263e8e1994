-- Revert scene-images:policies_rls from pg

BEGIN;

DROP POLICY scene_images_all_service_role ON public.scene_images;
DROP POLICY scene_images_select_authenticated ON public.scene_images;
DROP POLICY projects_all_service_role ON public.projects;
DROP POLICY projects_delete_authenticated ON public.projects;
DROP POLICY projects_update_authenticated ON public.projects;
DROP POLICY projects_insert_authenticated ON public.projects;
DROP POLICY projects_select_authenticated ON public.projects;

ALTER TABLE public.scene_images DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.projects DISABLE ROW LEVEL SECURITY;

COMMIT;
