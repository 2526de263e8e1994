-- Deploy scene-images:function_sweep_orphaned_scene_objects to pg
-- requires: extension_plpython3u
-- requires: table_scene_images
-- requires: table_settings
-- requires: procedure_revoke_all_grants
-- requires: function_get_scene_image_worker_settings

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- The PL/Python work answers with its refusal and the public function raises it, as in
-- function_store_scene_image (why: py/scene_images_plpy/errors.py).
CREATE FUNCTION scene_images_internal.try_sweep_orphaned_scene_objects(
    older_than interval, -- as public.sweep_orphaned_scene_objects's
    dry_run boolean,
    OUT paths text[],    -- the orphans' paths; NULL when refused
    OUT sqlstate text,   -- NULL unless refused; else the error the caller must raise, with:
    OUT message text,    -- its message
    OUT detail text,     -- its DETAIL, or NULL
    OUT hint text        -- its HINT, or NULL
)
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
-- Full error texts go to the server log (plpy.log); a caller who lowered client_min_messages
-- to LOG would otherwise receive them too.
SET client_min_messages = notice
AS $$
from scene_images_plpy import sweep
return sweep.sweep(plpy, SD, older_than, dry_run)
$$;

COMMENT ON FUNCTION scene_images_internal.try_sweep_orphaned_scene_objects(interval, boolean) IS
    'The PL/Python side of sweep_orphaned_scene_objects: answers with the orphans'' paths (removed unless dry_run), or '
    'with the refusal (sqlstate, message, detail, hint) its caller must raise. Owner only.';

CREATE FUNCTION public.sweep_orphaned_scene_objects(
    older_than interval DEFAULT '1 hour', -- spare younger objects: an upload may be just before its INSERT commits
    dry_run boolean DEFAULT true          -- list only; false removes them
)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    tried record;
BEGIN
    tried := scene_images_internal.try_sweep_orphaned_scene_objects(older_than, dry_run);
    IF tried.sqlstate IS NULL THEN
        RETURN QUERY SELECT * FROM pg_catalog.unnest(tried.paths);
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

COMMENT ON FUNCTION public.sweep_orphaned_scene_objects(interval, boolean) IS
    'Owner only. The objects under projects/ in the storage backend that no scene_images row references and that are older '
    'than older_than (left behind by a crashed backend or a rolled-back transaction); removes them unless dry_run. '
    'Never touches a referenced object. Result: their paths. Errors: 22023 negative older_than; SIS01 storage failed.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.try_sweep_orphaned_scene_objects(interval, boolean)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.sweep_orphaned_scene_objects(interval, boolean)'::regprocedure);
\endif

COMMIT;
