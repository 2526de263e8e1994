-- Deploy scene-images:view_current_scene_images to pg
-- requires: table_scene_images
-- requires: procedure_revoke_all_grants

BEGIN;

-- security_invoker: the caller's row-level security applies through the view.
CREATE VIEW public.current_scene_images WITH (security_invoker = true) AS
    SELECT * FROM public.scene_images WHERE is_current;

COMMENT ON VIEW public.current_scene_images IS 'The current version of every scene image (one row per project and scene).';

CALL scene_images_internal.revoke_all_grants('public.current_scene_images'::regclass);
GRANT SELECT ON public.current_scene_images TO authenticated, service_role;

COMMIT;
