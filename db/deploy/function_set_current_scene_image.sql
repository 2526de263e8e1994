-- Deploy scene-images:function_set_current_scene_image to pg
-- requires: function_assert_project_access
-- requires: trigger_scene_images_versioning
-- requires: procedure_revoke_all_grants
-- requires: schema_private

BEGIN;

CREATE FUNCTION scene_images_private.set_current_scene_image(project_id uuid, scene_id text, version integer)
RETURNS public.scene_images
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    target public.scene_images;
BEGIN
    PERFORM scene_images_internal.assert_project_access(project_id);
    IF scene_id IS NULL OR version IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'scene_id and version must not be NULL';
    END IF;
    PERFORM scene_images_internal.lock_scene(project_id, scene_id);

    SELECT * INTO target FROM public.scene_images AS si
    WHERE si.project_id = set_current_scene_image.project_id
      AND si.scene_id = set_current_scene_image.scene_id
      AND si.version = set_current_scene_image.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SIV01',
            MESSAGE = format('scene %s of project %s has no version %s', scene_id, project_id, version);
    END IF;
    IF target.is_current THEN
        RETURN target;
    END IF;

    -- Two statements: the one-current index is checked row by row.
    UPDATE public.scene_images AS si SET is_current = false
    WHERE si.project_id = set_current_scene_image.project_id
      AND si.scene_id = set_current_scene_image.scene_id
      AND si.is_current;
    UPDATE public.scene_images AS si SET is_current = true
    WHERE si.id = target.id
    RETURNING * INTO target;
    RETURN target;
END
$$;

COMMENT ON FUNCTION scene_images_private.set_current_scene_image(uuid, text, integer) IS
    'The definer side of public.set_current_scene_image: checks the caller owns the project, then moves is_current.';

CREATE FUNCTION public.set_current_scene_image(
    project_id uuid, -- the project
    scene_id text,   -- the scene
    version integer  -- an existing version of that scene to make current
)
RETURNS public.scene_images
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.set_current_scene_image(project_id, scene_id, version)
$$;

COMMENT ON FUNCTION public.set_current_scene_image(uuid, text, integer) IS
    'Roll a scene back or forward: make an existing version its current image (masterJSON follows at commit). '
    'Arguments: project_id, scene_id, version. Result: the now-current scene_images row. '
    'Errors: 22004 when an argument is NULL; SIP01 when the project does not exist; 42501 when the caller does not own it; '
    'SIV01 when the version does not exist.';

CALL scene_images_internal.revoke_all_grants('scene_images_private.set_current_scene_image(uuid, text, integer)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.set_current_scene_image(uuid, text, integer)'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.set_current_scene_image(uuid, text, integer) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.set_current_scene_image(uuid, text, integer) TO authenticated, service_role;

COMMIT;
