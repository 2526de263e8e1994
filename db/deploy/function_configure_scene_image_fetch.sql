-- Deploy scene-images:function_configure_scene_image_fetch to pg
-- requires: table_settings
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION public.configure_scene_image_fetch(
    settings jsonb -- any of: allowed_hosts, allow_private_networks, max_bytes, timeout_s, max_redirects, max_pixels
)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    merged jsonb;
    key text;
BEGIN
    IF settings IS NULL OR jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'fetch settings must be a JSON object';
    END IF;
    FOR key IN SELECT jsonb_object_keys(settings) LOOP
        IF NOT scene_images_internal.fetch_defaults() ? key THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('unknown fetch setting %L', key),
                HINT = format('Known: %s.', (SELECT string_agg(k, ', ') FROM jsonb_object_keys(scene_images_internal.fetch_defaults()) AS k));
        END IF;
    END LOOP;
    IF settings ? 'allowed_hosts' AND (jsonb_typeof(settings -> 'allowed_hosts') <> 'array' OR EXISTS (
           SELECT 1 FROM jsonb_array_elements(settings -> 'allowed_hosts') AS h
           WHERE jsonb_typeof(h) <> 'string' OR h #>> '{}' !~ '^(\*\.)?[A-Za-z0-9.-]+$')) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'allowed_hosts must be an array of host names, optionally starting with "*."';
    END IF;
    IF settings ? 'allow_private_networks' AND jsonb_typeof(settings -> 'allow_private_networks') <> 'boolean' AND (
           jsonb_typeof(settings -> 'allow_private_networks') <> 'array' OR EXISTS (
               SELECT 1 FROM jsonb_array_elements(settings -> 'allow_private_networks') AS c
               WHERE jsonb_typeof(c) <> 'string' OR NOT scene_images_internal.is_cidr(c #>> '{}'))) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'allow_private_networks must be true, false or an array of CIDRs such as "127.0.0.1/32"';
    END IF;
    FOR key IN SELECT k FROM unnest(ARRAY['max_bytes', 'timeout_s', 'max_redirects', 'max_pixels']) AS k WHERE settings ? k LOOP
        IF jsonb_typeof(settings -> key) <> 'number' OR (settings ->> key)::numeric < (CASE key WHEN 'max_redirects' THEN 0 ELSE 1 END)
           OR (key <> 'timeout_s' AND (settings ->> key)::numeric <> trunc((settings ->> key)::numeric)) THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s must be a positive number%s', key,
                                 CASE WHEN key = 'timeout_s' THEN '' ELSE ' (a whole number)' END);
        END IF;
    END LOOP;

    UPDATE scene_images_internal.settings AS s SET value = s.value || settings, updated_at = now()
    WHERE s.name = 'fetch'
    RETURNING s.value INTO merged;
    RETURN merged;
END
$$;

COMMENT ON FUNCTION public.configure_scene_image_fetch(jsonb) IS
    'Owner only. Change the fetch policy; keys not given keep their value. Settings: allowed_hosts (array; "*." wildcards; '
    'empty = any public host), allow_private_networks (false, true, or an array of CIDRs allowed despite being private), '
    'max_bytes (default 26214400), timeout_s (default 30), max_redirects (default 3), max_pixels (default 100000000). '
    'Result: the effective settings. Errors: 22023 when a key is unknown or a value malformed.';

-- An inet cast that does not throw, for validation messages of our own.
CREATE FUNCTION scene_images_internal.is_cidr(candidate text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
BEGIN
    PERFORM candidate::cidr;
    RETURN true;
EXCEPTION WHEN invalid_text_representation OR invalid_binary_representation THEN
    RETURN false;
END
$$;

COMMENT ON FUNCTION scene_images_internal.is_cidr(text) IS 'True when the text is a valid CIDR (host bits zero).';

CALL scene_images_internal.revoke_all_grants('public.configure_scene_image_fetch(jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.is_cidr(text)'::regprocedure);

COMMIT;
