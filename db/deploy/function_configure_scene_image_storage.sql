-- Deploy scene-images:function_configure_scene_image_storage to pg
-- requires: table_settings
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION scene_images_internal.storage_secret_keys()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ SELECT ARRAY['service_key', 'access_key_id', 'secret_access_key'] $$;

COMMENT ON FUNCTION scene_images_internal.storage_secret_keys() IS
    'Setting names that hold secrets: stored, never returned.';

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
    required text[];
    optional text[];
    key text;
    description jsonb;
BEGIN
    required := CASE backend
        WHEN 'file' THEN ARRAY['root', 'public_base_url']
        WHEN 'supabase' THEN ARRAY['url', 'service_key', 'bucket']
        WHEN 's3' THEN ARRAY['endpoint_url', 'region', 'bucket', 'access_key_id', 'secret_access_key']
    END;
    optional := CASE backend WHEN 'supabase' THEN ARRAY['api_url'] WHEN 's3' THEN ARRAY['public_base_url'] ELSE '{}' END;
    IF required IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SIS02',
            MESSAGE = format('unknown storage backend %L', backend), HINT = 'Backends: file, supabase, s3.';
    END IF;
    IF settings IS NULL OR jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'SIS02', MESSAGE = format('%s storage settings must be a JSON object', backend);
    END IF;
    FOREACH key IN ARRAY required LOOP
        IF jsonb_typeof(settings -> key) IS DISTINCT FROM 'string' OR settings ->> key = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'SIS02',
                MESSAGE = format('%s storage setting %L is missing or not a non-empty string', backend, key);
        END IF;
    END LOOP;
    FOR key IN SELECT jsonb_object_keys(settings) LOOP
        IF NOT key = ANY (required || optional) THEN
            RAISE EXCEPTION USING ERRCODE = 'SIS02', MESSAGE = format('unknown %s storage setting %L', backend, key),
                HINT = format('Known: %s.', array_to_string(required || optional, ', '));
        END IF;
    END LOOP;

    -- With PL/Python deployed, the backend itself checks it can work (and creates a missing bucket).
    IF to_regprocedure('scene_images_internal.prepare_storage(text,jsonb)') IS NOT NULL THEN
        EXECUTE 'SELECT scene_images_internal.prepare_storage($1, $2)' USING backend, settings;
    END IF;

    UPDATE scene_images_internal.settings AS s
    SET value = jsonb_build_object('backend', backend, 'settings', settings), updated_at = now()
    WHERE s.name = 'storage';
    description := jsonb_build_object('backend', backend, 'settings', settings - scene_images_internal.storage_secret_keys());
    RETURN description;
END
$$;

COMMENT ON FUNCTION public.configure_scene_image_storage(text, jsonb) IS
    'Owner only. Choose the storage backend and its settings (secrets are kept in the internal schema, never returned). '
    'Backends: file {root, public_base_url}, supabase {url, service_key, bucket, api_url?}, '
    's3 {endpoint_url, region, bucket, access_key_id, secret_access_key, public_base_url?}. '
    'Result: the backend and its settings without secrets. Errors: SIS02 when the backend or a setting is unknown or missing; '
    'SIS01 when the backend cannot be reached or prepared.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.storage_secret_keys()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.configure_scene_image_storage(text, jsonb)'::regprocedure);

COMMIT;
