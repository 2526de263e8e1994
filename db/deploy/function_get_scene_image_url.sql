-- Deploy scene-images:function_get_scene_image_url to pg
-- requires: table_scene_images
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION public.get_scene_image_url(
    project_id uuid, -- the project
    scene_id text    -- the scene's key in masterJSON
)
RETURNS text
LANGUAGE sql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT si.storage_url
    FROM public.scene_images AS si
    WHERE si.project_id = get_scene_image_url.project_id
      AND si.scene_id = get_scene_image_url.scene_id
      AND si.is_current
$$;

COMMENT ON FUNCTION public.get_scene_image_url(uuid, text) IS
    'The permanent URL of the current image of a scene. Arguments: project_id, scene_id. '
    'Result: text, NULL when the scene has no image (or the caller may not see it). '
    'Uses scene_images_one_current_idx. Errors: none.';

CALL scene_images_internal.revoke_all_grants('public.get_scene_image_url(uuid, text)'::regprocedure);
GRANT EXECUTE ON FUNCTION public.get_scene_image_url(uuid, text) TO authenticated, service_role;

COMMIT;
