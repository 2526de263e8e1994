-- Deploy scene-images:function_prepare_storage to pg
-- requires: extension_plpython3u
-- requires: function_configure_scene_image_storage
-- requires: procedure_revoke_all_grants

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
CREATE FUNCTION scene_images_internal.prepare_storage(
    backend text,  -- file | supabase | s3
    settings jsonb -- the backend's settings, secrets included
)
RETURNS void
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
from scene_images_plpy import storage
storage.prepare(plpy, backend, settings)
$$;

COMMENT ON FUNCTION scene_images_internal.prepare_storage(text, jsonb) IS
    'Let the backend check it can work with these settings (create the root directory or a missing bucket). '
    'Called by configure_scene_image_storage. Errors: SIS02 malformed settings; SIS01 backend unreachable or refusing.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.prepare_storage(text, jsonb)'::regprocedure);
INSERT INTO scene_images_internal.storage_preparers (preparer) VALUES ('scene_images_internal.prepare_storage(text, jsonb)');
\endif

COMMIT;
