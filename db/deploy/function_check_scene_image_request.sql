-- Deploy scene-images:function_check_scene_image_request to pg
-- requires: functions_scene_image_rules
-- requires: function_redact_url
-- requires: function_assert_project_access
-- requires: table_settings
-- requires: procedure_revoke_all_grants

BEGIN;

-- The depth of a JSON document, counted without recursing into it however deep it goes: the
-- jsonpath .**{n} accessor descends n levels and no further.
CREATE FUNCTION scene_images_internal.jsonb_deeper_than(
    document jsonb, -- any JSON value
    levels integer  -- the nesting allowed: an object or array counts 1, each container inside it 1 more
)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
STRICT
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    -- A container `levels` steps below the top is the (levels + 1)-th level of nesting.
    SELECT CASE
        WHEN levels < 1 THEN jsonb_typeof(document) IN ('object', 'array')
        ELSE jsonb_path_exists(document,
            format('strict $.**{%s} ? (@.type() == "object" || @.type() == "array")', levels)::jsonpath)
    END
$$;

COMMENT ON FUNCTION scene_images_internal.jsonb_deeper_than(jsonb, integer) IS
    'True when the document nests objects and arrays more than `levels` deep ({} and [] are 1 deep, {"a": {}} 2). '
    'Stops looking `levels` deep, so a hostile document costs no more than an allowed one.';

-- The argument checks every entry point shares (synchronous store and the job queue), so a
-- request refused by one is refused by all, before any network traffic.
CREATE FUNCTION scene_images_internal.check_scene_image_request(
    project_id uuid,  -- the project the caller writes to
    scene_id text,    -- the scene key
    source_url text,  -- the generator's URL
    prompt text,      -- the prompt (NULL allowed)
    provider text,    -- the generator's name
    metadata jsonb    -- the caller's metadata
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    authority text;
    limits jsonb;
    allowed bigint;
    size bigint;
BEGIN
    IF scene_id IS NULL OR source_url IS NULL OR provider IS NULL OR metadata IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s must not be NULL', concat_ws(', ',
                CASE WHEN scene_id IS NULL THEN 'scene_id' END, CASE WHEN source_url IS NULL THEN 'source_url' END,
                CASE WHEN provider IS NULL THEN 'provider' END, CASE WHEN metadata IS NULL THEN 'metadata' END));
    END IF;
    PERFORM scene_images_internal.assert_project_access(project_id);
    IF scene_id !~ scene_images_internal.scene_id_pattern() THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('invalid scene_id %L', left(scene_id, 140)),
            HINT = 'A scene_id is 1-128 of A-Z a-z 0-9 _ . - and starts with a letter or digit.';
    END IF;
    IF length(provider) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'provider must be 1-100 characters';
    END IF;
    IF jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('metadata must be a JSON object, not %s', jsonb_typeof(metadata));
    END IF;
    -- Limits (configure_scene_image_limits): sizes first, so the depth walk meets a bounded document.
    SELECT s.value INTO limits FROM scene_images_internal.settings AS s WHERE s.name = 'limits';
    allowed := (limits ->> 'prompt_max_bytes')::bigint;
    size := octet_length(prompt);
    IF size > allowed THEN
        RAISE EXCEPTION USING ERRCODE = 'program_limit_exceeded',
            MESSAGE = format('prompt is %s bytes; prompt_max_bytes allows %s', size, allowed);
    END IF;
    allowed := (limits ->> 'metadata_max_bytes')::bigint;
    size := octet_length(metadata::text);
    IF size > allowed THEN
        RAISE EXCEPTION USING ERRCODE = 'program_limit_exceeded',
            MESSAGE = format('metadata is %s bytes as JSON text; metadata_max_bytes allows %s', size, allowed);
    END IF;
    allowed := (limits ->> 'metadata_max_depth')::bigint;
    IF scene_images_internal.jsonb_deeper_than(metadata, least(allowed, 2147483647)::integer) THEN
        RAISE EXCEPTION USING ERRCODE = 'program_limit_exceeded',
            MESSAGE = format('metadata is nested more than %s levels deep; metadata_max_depth allows %s', allowed, allowed),
            HINT = 'The metadata object itself is 1 level; each object or array inside it adds one.';
    END IF;
    IF length(source_url) > scene_images_internal.max_url_length() THEN
        RAISE EXCEPTION USING ERRCODE = 'SIU01', MESSAGE = format('source URL is longer than %s characters (%s)',
                                                                  scene_images_internal.max_url_length(), length(source_url));
    END IF;
    IF source_url !~* '^https?://' OR source_url ~ '[[:space:][:cntrl:]]' THEN
        RAISE EXCEPTION USING ERRCODE = 'SIU01',
            MESSAGE = format('source URL %s is not an http(s) URL', left(scene_images_internal.redact_url(source_url), 200));
    END IF;
    authority := substring(source_url FROM '^[A-Za-z]+://([^/?#]*)');
    IF authority = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'SIU01', MESSAGE = format('source URL %s has no host', source_url);
    ELSIF authority LIKE '%@%' THEN
        -- The message must not repeat the credentials.
        RAISE EXCEPTION USING ERRCODE = 'SIU01',
            MESSAGE = format('source URL %s carries credentials, which are refused',
                             scene_images_internal.redact_url(source_url));
    END IF;
END
$$;

COMMENT ON FUNCTION scene_images_internal.check_scene_image_request(uuid, text, text, text, text, jsonb) IS
    'Raise unless a store/enqueue request is acceptable. Errors: 22004 NULL argument; SIP01/42501 project; '
    '22023 scene_id, provider or metadata malformed; 54000 prompt or metadata over prompt_max_bytes, metadata_max_bytes '
    'or metadata_max_depth (configure_scene_image_limits); SIU01 source URL not http(s), overlong, or with credentials.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.jsonb_deeper_than(jsonb, integer)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.check_scene_image_request(uuid, text, text, text, text, jsonb)'::regprocedure);

COMMIT;
