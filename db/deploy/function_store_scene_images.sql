-- Deploy scene-images:function_store_scene_images to pg
-- requires: extension_plpython3u
-- requires: function_checked_scene_image_requests
-- requires: trigger_scene_images_versioning
-- requires: procedure_revoke_all_grants
-- requires: function_get_scene_image_worker_settings
-- requires: function_record_scene_images
-- requires: schema_private

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- The PL/Python work answers with its refusal and the definer side raises it, as in
-- function_store_scene_image (why: py/scene_images_plpy/errors.py). The rows come back as one
-- array: a refused bulk must raise before any row reaches the caller.
CREATE FUNCTION scene_images_internal.try_store_scene_images(
    project_id uuid,                 -- the arguments of public.store_scene_images, as given
    requests jsonb,
    OUT images public.scene_images[], -- one row per request, in order; NULL when refused
    OUT sqlstate text,                -- NULL when stored; else the error the caller must raise, with:
    OUT message text,                 -- its message
    OUT detail text,                  -- its DETAIL, or NULL
    OUT hint text                     -- its HINT, or NULL
)
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
-- Full error texts go to the server log (plpy.log); a caller who lowered client_min_messages
-- to LOG would otherwise receive them too.
SET client_min_messages = notice
AS $$
from scene_images_plpy import store
return store.store_many(plpy, SD, project_id, requests)
$$;

COMMENT ON FUNCTION scene_images_internal.try_store_scene_images(uuid, jsonb) IS
    'The PL/Python side of store_scene_images: stores every request concurrently; answers with the rows, or with the '
    'refusal (sqlstate, message, detail, hint) its caller must raise at once, which rolls back the rows it wrote '
    '(their objects are already deleted). Owner only.';

CREATE FUNCTION scene_images_private.store_scene_images(project_id uuid, requests jsonb)
RETURNS SETOF public.scene_images
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    tried record;
BEGIN
    tried := scene_images_internal.try_store_scene_images(project_id, requests);
    IF tried.sqlstate IS NULL THEN
        RETURN QUERY SELECT * FROM pg_catalog.unnest(tried.images);
    ELSIF tried.detail IS NULL AND tried.hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message;
    ELSIF tried.hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message, DETAIL = tried.detail;
    ELSIF tried.detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message, HINT = tried.hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message, DETAIL = tried.detail, HINT = tried.hint;
    END IF;
END
$$;

COMMENT ON FUNCTION scene_images_private.store_scene_images(uuid, jsonb) IS
    'The definer side of public.store_scene_images: runs try_store_scene_images with the storage secrets (it checks the '
    'caller owns the project, then stores every request concurrently, all or nothing) and raises its refusal.';

CREATE FUNCTION public.store_scene_images(
    project_id uuid, -- the project (the caller must own it)
    requests jsonb   -- array of {scene_id, source_url, prompt?, provider?, metadata?}, at most 200, scene_ids distinct
)
RETURNS SETOF public.scene_images
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.store_scene_images(project_id, requests)
$$;

COMMENT ON FUNCTION public.store_scene_images(uuid, jsonb) IS
    'Bulk store_scene_image: downloads and uploads run concurrently, rows are inserted in request order. All or nothing: '
    'one bad item fails the call with an error naming it (requests[i]), and nothing is left behind, in the table or in storage. '
    'Arguments: project_id, requests. Result: one scene_images row per request, in order. '
    'Errors: those of store_scene_image, plus 22023 when requests is not a non-empty array of distinct scenes; 54000 more '
    'than 200 items; 57014 when the call runs past bulk_deadline_s (configure_scene_image_limits), nothing left behind. '
    'At most bulk_max_bytes_held of image bytes are held in memory at once.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.try_store_scene_images(uuid, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.store_scene_images(uuid, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.store_scene_images(uuid, jsonb)'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.store_scene_images(uuid, jsonb) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.store_scene_images(uuid, jsonb) TO authenticated, service_role;
\endif

COMMIT;
