-- Deploy scene-images:function_store_scene_image to pg
-- requires: extension_plpython3u
-- requires: function_check_scene_image_request
-- requires: trigger_scene_images_versioning
-- requires: procedure_revoke_all_grants
-- requires: function_get_scene_image_worker_settings
-- requires: function_record_scene_images
-- requires: schema_private

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- The PL/Python work, owner-only. It answers with its refusal instead of raising it: an error
-- raised in PL/Python carries a Python traceback in its CONTEXT. The definer side below raises
-- it, so that every documented error reads like PostgreSQL's own (py/scene_images_plpy/errors.py).
CREATE FUNCTION scene_images_internal.try_store_scene_image(
    project_id uuid,               -- the arguments of public.store_scene_image, as given
    scene_id text,
    source_url text,
    prompt text,
    provider text,
    metadata jsonb,
    OUT image public.scene_images, -- the stored row (or the current one with the same bytes); NULL when refused
    OUT sqlstate text,             -- NULL when stored; else the error the caller must raise, with:
    OUT message text,              -- its message
    OUT detail text,               -- its DETAIL, or NULL
    OUT hint text                  -- its HINT, or NULL
)
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
-- Full error texts go to the server log (plpy.log); a caller who lowered client_min_messages
-- to LOG would otherwise receive them too.
SET client_min_messages = notice
AS $$
from scene_images_plpy import store
return store.store_one(plpy, SD, project_id, scene_id, source_url, prompt, provider, metadata)
$$;

COMMENT ON FUNCTION scene_images_internal.try_store_scene_image(uuid, text, text, text, text, jsonb) IS
    'The PL/Python side of store_scene_image: checks, fetches, checks the bytes, uploads and records; answers with the '
    'row, or with the refusal (sqlstate, message, detail, hint) its caller must raise at once, which rolls back anything '
    'it wrote. Owner only.';

-- PL/pgSQL, with no EXCEPTION block (no subtransaction per call; a cancel propagates untouched):
-- it only raises the refusal. RAISE options cannot be NULL, hence the four cases.
CREATE FUNCTION scene_images_private.store_scene_image(project_id uuid, scene_id text, source_url text, prompt text, provider text, metadata jsonb)
RETURNS public.scene_images
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    tried record;
BEGIN
    tried := scene_images_internal.try_store_scene_image(project_id, scene_id, source_url, prompt, provider, metadata);
    IF tried.sqlstate IS NULL THEN
        RETURN tried.image;
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

COMMENT ON FUNCTION scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb) IS
    'The definer side of public.store_scene_image: runs try_store_scene_image with the storage secrets (it checks the '
    'caller owns the project, then fetches, checks, uploads and records) and raises its refusal.';

CREATE FUNCTION public.store_scene_image(
    project_id uuid,                    -- the project (the caller must own it)
    scene_id text,                      -- the scene's key in masterJSON
    source_url text,                    -- the generator's temporary URL
    prompt text DEFAULT NULL,           -- the prompt the image was generated from
    provider text DEFAULT 'fal_ai_flux',-- the generator's name
    metadata jsonb DEFAULT '{}'         -- anything else worth keeping (a JSON object)
)
RETURNS public.scene_images
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.store_scene_image(project_id, scene_id, source_url, prompt, provider, metadata)
$$;

COMMENT ON FUNCTION public.store_scene_image(uuid, text, text, text, text, jsonb) IS
    'Download an image from a generator''s URL, check it really is an image, upload it to our storage and record it as '
    'the scene''s new current version (masterJSON follows at commit). Idempotent: when the scene''s current image has the '
    'same sha256, that row is returned and nothing is written. '
    'Arguments: project_id, scene_id, source_url, prompt, provider, metadata. Result: the scene_images row. '
    'Errors: 22004 NULL argument; 22023 malformed scene_id, provider or metadata; SIP01 unknown project; 42501 not the caller''s project; '
    '54000 prompt or metadata over prompt_max_bytes, metadata_max_bytes or metadata_max_depth (configure_scene_image_limits); '
    'SIU01 invalid URL; SIU02 host not allowed; SIU03 private address; SIU04 too many redirects; SIF01 HTTP error status; '
    'SIF02 too large; SIF03 timeout; SIF04 unreachable; SIF05 body cut short; SII01 not an image; SII02 too many pixels; '
    'SIS01 storage failed; SIS02 storage misconfigured; 57014 cancelled.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.try_store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.store_scene_image(uuid, text, text, text, text, jsonb) TO authenticated, service_role;
\endif

COMMIT;
