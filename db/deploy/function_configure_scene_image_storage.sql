-- Deploy scene-images:function_configure_scene_image_storage to pg
-- requires: table_settings
-- requires: procedure_revoke_all_grants

BEGIN;

-- Each backend's setting names, the one home of them: checked here without PL/Python (a hosted
-- install has none), and the core's backends (SettingNames) are pinned to them by
-- py/tests/test_rules.py. one_of: at least one of these optional settings must be given.
CREATE FUNCTION scene_images_internal.storage_backend_settings()
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT '{
        "file": {"required": ["root", "public_base_url"], "optional": [], "one_of": [], "secret": []},
        "supabase": {"required": ["service_key", "bucket"], "optional": ["url", "api_url"],
                     "one_of": ["url", "api_url"], "secret": ["service_key"]},
        "s3": {"required": ["endpoint_url", "region", "bucket", "access_key_id", "secret_access_key"],
               "optional": ["public_base_url"], "one_of": [], "secret": ["access_key_id", "secret_access_key"]}
    }'::jsonb
$$;

COMMENT ON FUNCTION scene_images_internal.storage_backend_settings() IS
    'Per storage backend: its required, optional and one-of setting names, and which of them are secrets.';

-- Functions of later changes that check and prepare a backend when it is configured (the
-- PL/Python change function_prepare_storage registers itself): each takes (backend, settings)
-- and answers with (sqlstate, message, detail, hint), all NULL when the backend is ready, else
-- the error configure_scene_image_storage raises: a PL/Python function that raised itself would
-- put a Python traceback in the error's CONTEXT (py/scene_images_plpy/errors.py).
CREATE TABLE scene_images_internal.storage_preparers (
    preparer regprocedure PRIMARY KEY
);

COMMENT ON TABLE scene_images_internal.storage_preparers IS
    'Functions (backend text, settings jsonb) that configure_scene_image_storage calls to check and prepare a backend; '
    'each answers with (sqlstate, message, detail, hint), NULL when ready, else the error to raise.';
CALL scene_images_internal.revoke_all_grants('scene_images_internal.storage_preparers'::regclass);

CREATE FUNCTION public.configure_scene_image_storage(
    backend text,  -- file | supabase | s3
    settings jsonb -- file: root, public_base_url; supabase: url, service_key, bucket, api_url?;
                   -- s3: endpoint_url, region, bucket, access_key_id, secret_access_key, public_base_url?
)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    names jsonb;
    preparer text;
    required text[];
    optional text[];
    key text;
    description jsonb;
    refusal record;
BEGIN
    names := scene_images_internal.storage_backend_settings() -> backend;
    IF names IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SIS02',
            MESSAGE = format('unknown storage backend %L', backend),
            HINT = format('Backends: %s.', (SELECT string_agg(k, ', ') FROM jsonb_object_keys(scene_images_internal.storage_backend_settings()) AS k));
    END IF;
    required := ARRAY(SELECT jsonb_array_elements_text(names -> 'required'));
    optional := ARRAY(SELECT jsonb_array_elements_text(names -> 'optional'));
    IF settings IS NULL OR jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'SIS02', MESSAGE = format('%s storage settings must be a JSON object', backend);
    END IF;
    FOREACH key IN ARRAY required LOOP
        IF jsonb_typeof(settings -> key) IS DISTINCT FROM 'string' OR settings ->> key = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'SIS02',
                MESSAGE = format('%s storage setting %L is missing or not a non-empty string', backend, key);
        END IF;
    END LOOP;
    IF jsonb_array_length(names -> 'one_of') > 0 AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements_text(names -> 'one_of') AS k
           WHERE jsonb_typeof(settings -> k) = 'string' AND settings ->> k <> '') THEN
        RAISE EXCEPTION USING ERRCODE = 'SIS02',
            MESSAGE = format('%s storage setting %s is missing', backend,
                             (SELECT string_agg(quote_literal(k), ' or ') FROM jsonb_array_elements_text(names -> 'one_of') AS k));
    END IF;
    FOR key IN SELECT jsonb_object_keys(settings) LOOP
        IF NOT key = ANY (required || optional) THEN
            RAISE EXCEPTION USING ERRCODE = 'SIS02', MESSAGE = format('unknown %s storage setting %L', backend, key),
                HINT = format('Known: %s.', array_to_string(required || optional, ', '));
        END IF;
    END LOOP;

    -- With PL/Python deployed, the backend itself checks it can work (and creates a missing
    -- bucket): that later change registers its function here.
    FOR preparer IN
        SELECT format('%I.%I', n.nspname, f.proname)
        FROM scene_images_internal.storage_preparers AS sp
        JOIN pg_catalog.pg_proc AS f ON f.oid = sp.preparer
        JOIN pg_catalog.pg_namespace AS n ON n.oid = f.pronamespace
        ORDER BY 1
    LOOP
        -- RAISE options cannot be NULL, hence the four cases.
        EXECUTE format('SELECT * FROM %s($1, $2)', preparer) INTO refusal USING backend, settings;
        IF refusal.sqlstate IS NULL THEN
            CONTINUE;
        ELSIF refusal.detail IS NULL AND refusal.hint IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = refusal.sqlstate, MESSAGE = refusal.message;
        ELSIF refusal.hint IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = refusal.sqlstate, MESSAGE = refusal.message, DETAIL = refusal.detail;
        ELSIF refusal.detail IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = refusal.sqlstate, MESSAGE = refusal.message, HINT = refusal.hint;
        ELSE
            RAISE EXCEPTION USING ERRCODE = refusal.sqlstate, MESSAGE = refusal.message, DETAIL = refusal.detail,
                HINT = refusal.hint;
        END IF;
    END LOOP;

    UPDATE scene_images_internal.settings AS s
    SET value = jsonb_build_object('backend', backend, 'settings', settings), updated_at = now()
    WHERE s.name = 'storage';
    description := jsonb_build_object('backend', backend, 'settings', settings - ARRAY(SELECT jsonb_array_elements_text(names -> 'secret')));
    RETURN description;
END
$$;

COMMENT ON FUNCTION public.configure_scene_image_storage(text, jsonb) IS
    'Owner only. Choose the storage backend and its settings (secrets are kept in the internal schema, never returned). '
    'Backends: file {root, public_base_url}, supabase {url, service_key, bucket, api_url?}, '
    's3 {endpoint_url, region, bucket, access_key_id, secret_access_key, public_base_url?}. '
    'Result: the backend and its settings without secrets. Errors: SIS02 when the backend or a setting is unknown or missing; '
    'SIS01 when the backend cannot be reached or prepared.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.storage_backend_settings()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.configure_scene_image_storage(text, jsonb)'::regprocedure);

COMMIT;
