-- Deploy scene-images:function_get_scene_image_worker_settings to pg
-- requires: table_settings
-- requires: schema_private
-- requires: role_worker
-- requires: procedure_revoke_all_grants

BEGIN;

-- The settings reader: the external worker calls it, and so do our PL/Python functions (as
-- the owner) to learn the fetch policy, the limits and the storage backend.
CREATE FUNCTION scene_images_private.get_scene_image_worker_settings()
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT jsonb_object_agg(s.name, s.value) FROM scene_images_internal.settings AS s
$$;

COMMENT ON FUNCTION scene_images_private.get_scene_image_worker_settings() IS
    'The definer side of public.get_scene_image_worker_settings: the settings, secrets included, for workers only.';

CREATE FUNCTION public.get_scene_image_worker_settings()
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT scene_images_private.get_scene_image_worker_settings()
$$;

COMMENT ON FUNCTION public.get_scene_image_worker_settings() IS
    'Worker only. The fetch policy, limits, storage backend (with its secrets) and queue policy an external worker needs.';

CALL scene_images_internal.revoke_all_grants('scene_images_private.get_scene_image_worker_settings()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.get_scene_image_worker_settings()'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.get_scene_image_worker_settings() TO scene_images_worker;
GRANT EXECUTE ON FUNCTION public.get_scene_image_worker_settings() TO scene_images_worker;

COMMIT;
