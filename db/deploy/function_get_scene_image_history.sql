-- Deploy scene-images:function_get_scene_image_history to pg
-- requires: table_scene_images
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION public.get_scene_image_history(
    project_id uuid, -- the project
    scene_id text    -- the scene
)
RETURNS SETOF public.scene_images
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM public.scene_images AS si
    WHERE si.project_id = get_scene_image_history.project_id
      AND si.scene_id = get_scene_image_history.scene_id
    ORDER BY si.version
$$;

COMMENT ON FUNCTION public.get_scene_image_history(uuid, text) IS
    'Every version of a scene''s image, oldest first. Arguments: project_id, scene_id. '
    'Result: scene_images rows (empty when none, or when the caller may not see them). Errors: none.';

CALL scene_images_internal.revoke_all_grants('public.get_scene_image_history(uuid, text)'::regprocedure);
GRANT EXECUTE ON FUNCTION public.get_scene_image_history(uuid, text) TO authenticated, service_role;

COMMIT;
