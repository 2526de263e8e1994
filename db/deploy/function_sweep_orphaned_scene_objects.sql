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
CREATE FUNCTION public.sweep_orphaned_scene_objects(
    older_than interval DEFAULT '1 hour', -- spare younger objects: an upload may be just before its INSERT commits
    dry_run boolean DEFAULT true          -- list only; false removes them
)
RETURNS SETOF text
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
from scene_images_plpy import sweep
return sweep.sweep(plpy, SD, older_than, dry_run)
$$;

COMMENT ON FUNCTION public.sweep_orphaned_scene_objects(interval, boolean) IS
    'Owner only. The objects under projects/ in the storage backend that no scene_images row references and that are older '
    'than older_than (left behind by a crashed backend or a rolled-back transaction); removes them unless dry_run. '
    'Never touches a referenced object. Result: their paths. Errors: 22023 negative older_than; SIS01 storage failed.';

CALL scene_images_internal.revoke_all_grants('public.sweep_orphaned_scene_objects(interval, boolean)'::regprocedure);
\endif

COMMIT;
