-- Deploy scene-images:function_store_scene_image_fallback to pg
-- requires: function_store_scene_image
-- requires: functions_scene_image_jobs_client
-- requires: procedure_revoke_all_grants
-- requires: schema_private

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
CREATE TYPE public.scene_image_outcome AS (
    stored boolean,           -- true: image is the stored row; false: storage failed and job_id will store it later
    url text,                 -- the permanent URL when stored, else the generator's URL to use meanwhile
    image public.scene_images,-- the stored row (NULL when not stored)
    job_id uuid,              -- the queued job when not stored
    sqlstate text,            -- why it was not stored
    message text              -- the error message (no secrets)
);

COMMENT ON TYPE public.scene_image_outcome IS
    'What store_scene_image(..., fallback) did: stored now, or queued with the generator''s URL to use meanwhile.';

-- An overload, not a new default: the six-argument call keeps returning a plain scene_images row.
-- The PL/Python work answers with its refusal and the definer side raises it, as in
-- function_store_scene_image (why: py/scene_images_plpy/errors.py).
CREATE FUNCTION scene_images_internal.try_store_scene_image(
    project_id uuid,                    -- the arguments of public.store_scene_image(..., fallback), as given
    scene_id text,
    source_url text,
    prompt text,
    provider text,
    metadata jsonb,
    fallback boolean,
    OUT outcome public.scene_image_outcome, -- stored, or queued; NULL when refused
    OUT sqlstate text,                      -- NULL unless refused; else the error the caller must raise, with:
    OUT message text,                       -- its message
    OUT detail text,                        -- its DETAIL, or NULL
    OUT hint text                           -- its HINT, or NULL
)
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
-- Full error texts go to the server log (plpy.log); a caller who lowered client_min_messages
-- to LOG would otherwise receive them too.
SET client_min_messages = notice
AS $$
from scene_images_plpy import store
return store.store_one_or_enqueue(plpy, SD, project_id, scene_id, source_url, prompt, provider, metadata, fallback)
$$;

COMMENT ON FUNCTION scene_images_internal.try_store_scene_image(uuid, text, text, text, text, jsonb, boolean) IS
    'The PL/Python side of store_scene_image(..., fallback): stores, or queues the image when storage fails; answers '
    'with the outcome, or with the refusal (sqlstate, message, detail, hint) its caller must raise at once. Owner only.';

CREATE FUNCTION scene_images_private.store_scene_image(project_id uuid, scene_id text, source_url text, prompt text, provider text, metadata jsonb, fallback boolean)
RETURNS public.scene_image_outcome
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    tried record;
BEGIN
    tried := scene_images_internal.try_store_scene_image(project_id, scene_id, source_url, prompt, provider, metadata, fallback);
    IF tried.sqlstate IS NULL THEN
        RETURN tried.outcome;
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

COMMENT ON FUNCTION scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb, boolean) IS
    'The definer side of public.store_scene_image(..., fallback): runs try_store_scene_image (stores, or queues the '
    'image when storage fails) and raises its refusal.';

CREATE FUNCTION public.store_scene_image(
    project_id uuid,      -- the project (the caller must own it)
    scene_id text,        -- the scene's key in masterJSON
    source_url text,      -- the generator's temporary URL
    prompt text,          -- the prompt the image was generated from
    provider text,        -- the generator's name
    metadata jsonb,       -- anything else worth keeping (a JSON object)
    fallback boolean      -- true: when storage fails, queue a job and answer with the generator's URL
)
RETURNS public.scene_image_outcome
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.store_scene_image(project_id, scene_id, source_url, prompt, provider, metadata, fallback)
$$;

COMMENT ON FUNCTION public.store_scene_image(uuid, text, text, text, text, jsonb, boolean) IS
    'store_scene_image with the design''s fallback made safe: with fallback => true and storage failing (SIS01), a job is '
    'queued for the same image and the outcome carries stored = false and the generator''s URL for the caller to use '
    'meanwhile; that URL is never written to scene_images or masterJSON, and the worker that stores the job switches '
    'masterJSON to the permanent URL. Result: scene_image_outcome. Errors: those of store_scene_image (SIS01 only without fallback).';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.try_store_scene_image(uuid, text, text, text, text, jsonb, boolean)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb, boolean)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.store_scene_image(uuid, text, text, text, text, jsonb, boolean)'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb, boolean) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.store_scene_image(uuid, text, text, text, text, jsonb, boolean) TO authenticated, service_role;
\endif

COMMIT;
