-- Deploy scene-images:function_configure_scene_image_limits to pg
-- requires: table_settings
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION public.configure_scene_image_limits(
    settings jsonb -- any of: prompt_max_bytes, metadata_max_bytes, metadata_max_depth, pending_jobs_per_project, bulk_deadline_s, bulk_max_bytes_held
)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    merged jsonb;
    key text;
    value numeric;
BEGIN
    IF settings IS NULL OR jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'limits settings must be a JSON object';
    END IF;
    FOR key IN SELECT jsonb_object_keys(settings) LOOP
        IF key NOT IN ('prompt_max_bytes', 'metadata_max_bytes', 'metadata_max_depth', 'pending_jobs_per_project',
                       'bulk_deadline_s', 'bulk_max_bytes_held') THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('unknown limits setting %L', key),
                HINT = 'Known: prompt_max_bytes, metadata_max_bytes, metadata_max_depth, pending_jobs_per_project, '
                       'bulk_deadline_s, bulk_max_bytes_held.';
        END IF;
        IF jsonb_typeof(settings -> key) <> 'number' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s must be a number, not %s', key, jsonb_typeof(settings -> key));
        END IF;
        value := (settings ->> key)::numeric;
        IF key = 'bulk_deadline_s' THEN
            -- Seconds, fractions allowed; a day at most (a call holds a backend and its locks).
            IF value <= 0 OR value > 86400 THEN
                RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                    MESSAGE = format('bulk_deadline_s must be a number of seconds above 0 and at most 86400, not %s', value);
            END IF;
        ELSIF value <> trunc(value) OR value < 1 OR value > 9007199254740991 THEN
            -- Whole numbers a JSON reader keeps exact (2^53 - 1 at most).
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s must be a whole number from 1 to 9007199254740991, not %s', key, value);
        END IF;
    END LOOP;

    UPDATE scene_images_internal.settings AS s SET value = s.value || settings, updated_at = now()
    WHERE s.name = 'limits'
    RETURNING s.value INTO merged;
    RETURN merged;
END
$$;

COMMENT ON FUNCTION public.configure_scene_image_limits(jsonb) IS
    'Owner only. Change the limits every store and enqueue call is checked against before any fetch; keys not given keep '
    'their value. Arguments: settings, a JSON object of any of: prompt_max_bytes (default 65536: octet_length of the prompt), '
    'metadata_max_bytes (default 262144: octet_length of the metadata''s JSON text), metadata_max_depth (default 32: '
    'nesting levels, the metadata object itself being 1), pending_jobs_per_project (default 10000: queued and running '
    'jobs of one project), bulk_deadline_s (default 300: seconds one store_scene_images call may take, then 57014), '
    'bulk_max_bytes_held (default 134217728: image bytes one store_scene_images call holds in memory at once). '
    'Result: the effective limits. Errors: 22023 when a key is unknown or its value is not a positive number '
    '(a whole number, except bulk_deadline_s), the message naming the key.';

CALL scene_images_internal.revoke_all_grants('public.configure_scene_image_limits(jsonb)'::regprocedure);

COMMIT;
