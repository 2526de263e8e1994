-- Deploy scene-images:function_prepare_storage to pg
-- requires: extension_plpython3u
-- requires: function_configure_scene_image_storage
-- requires: procedure_revoke_all_grants

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- It answers with its refusal instead of raising it: a PL/Python error carries a Python traceback
-- in its CONTEXT, so configure_scene_image_storage raises it (py/scene_images_plpy/errors.py).
CREATE FUNCTION scene_images_internal.prepare_storage(
    backend text,      -- file | supabase | s3
    settings jsonb,    -- the backend's settings, secrets included
    OUT sqlstate text, -- NULL: the backend is ready; else the error to raise, with:
    OUT message text,  -- its message
    OUT detail text,   -- its DETAIL, or NULL
    OUT hint text      -- its HINT, or NULL
)
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
-- Full error texts go to the server log (plpy.log); a caller who lowered client_min_messages
-- to LOG would otherwise receive them too.
SET client_min_messages = notice
AS $$
from scene_images_plpy import storage
return storage.prepare(plpy, backend, settings)
$$;

COMMENT ON FUNCTION scene_images_internal.prepare_storage(text, jsonb) IS
    'Let the backend check it can work with these settings (create the root directory or a missing bucket). '
    'Called by configure_scene_image_storage, which raises what it answers. Result: sqlstate, message, detail, hint '
    'all NULL when the backend is ready, else the error: SIS02 malformed settings; SIS01 backend unreachable or refusing.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.prepare_storage(text, jsonb)'::regprocedure);
INSERT INTO scene_images_internal.storage_preparers (preparer) VALUES ('scene_images_internal.prepare_storage(text, jsonb)');
\endif

COMMIT;
