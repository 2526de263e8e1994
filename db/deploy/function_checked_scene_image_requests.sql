-- Deploy scene-images:function_checked_scene_image_requests to pg
-- requires: function_check_scene_image_request
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION scene_images_internal.max_bulk_requests()
RETURNS integer
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ SELECT 200 $$;

COMMENT ON FUNCTION scene_images_internal.max_bulk_requests() IS
    'The most items one bulk call may carry: bounds the time and memory of one transaction.';

CREATE FUNCTION scene_images_internal.checked_scene_image_requests(
    project_id uuid, -- the project every item writes to
    requests jsonb   -- array of {scene_id, source_url, prompt?, provider?, metadata?}
)
RETURNS TABLE (ordinal integer, scene_id text, source_url text, prompt text, provider text, metadata jsonb)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    item jsonb;
    position integer := 0;
    unknown text;
    state text;
    message text;
    hint text;
    seen text[] := '{}';
BEGIN
    IF requests IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'requests must not be NULL';
    END IF;
    IF jsonb_typeof(requests) <> 'array' OR jsonb_array_length(requests) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'requests must be a non-empty JSON array';
    END IF;
    IF jsonb_array_length(requests) > scene_images_internal.max_bulk_requests() THEN
        RAISE EXCEPTION USING ERRCODE = 'program_limit_exceeded',
            MESSAGE = format('requests holds %s items; at most %s per call', jsonb_array_length(requests),
                             scene_images_internal.max_bulk_requests());
    END IF;
    PERFORM scene_images_internal.assert_project_access(project_id);

    FOR item IN SELECT value FROM jsonb_array_elements(requests) LOOP
        BEGIN
            IF jsonb_typeof(item) <> 'object' THEN
                RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'not a JSON object';
            END IF;
            SELECT string_agg(k, ', ') INTO unknown FROM jsonb_object_keys(item) AS k
            WHERE k NOT IN ('scene_id', 'source_url', 'prompt', 'provider', 'metadata');
            IF unknown IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = format('unknown keys: %s', unknown);
            END IF;
            IF jsonb_typeof(item -> 'scene_id') <> 'string' OR jsonb_typeof(item -> 'source_url') <> 'string'
               OR jsonb_typeof(item -> 'prompt') NOT IN ('string', 'null')
               OR jsonb_typeof(item -> 'provider') NOT IN ('string', 'null') THEN
                RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                    MESSAGE = 'scene_id and source_url must be strings; prompt and provider strings when given';
            END IF;
            ordinal := position;
            scene_id := item ->> 'scene_id';
            source_url := item ->> 'source_url';
            prompt := item ->> 'prompt';
            provider := coalesce(item ->> 'provider', 'fal_ai_flux');
            metadata := coalesce(item -> 'metadata', '{}');
            PERFORM scene_images_internal.check_scene_image_request(
                checked_scene_image_requests.project_id, scene_id, source_url, prompt, provider, metadata);
            IF scene_id = ANY (seen) THEN
                RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'the same scene_id appears twice';
            END IF;
            seen := seen || scene_id;
        EXCEPTION WHEN OTHERS THEN
            -- Same SQLSTATE, with the item named so the caller knows which one to fix.
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
            RAISE EXCEPTION USING ERRCODE = state, HINT = hint,
                MESSAGE = format('requests[%s] (scene_id %s): %s', position, coalesce(left(item ->> 'scene_id', 140), 'missing'), message);
        END;
        RETURN NEXT;
        position := position + 1;
    END LOOP;
END
$$;

COMMENT ON FUNCTION scene_images_internal.checked_scene_image_requests(uuid, jsonb) IS
    'Validate a bulk request array and return its items in order with defaults applied. '
    'Errors: 22004 NULL; 22023 not a non-empty array, malformed item, duplicate scene_id; 54000 over max_bulk_requests(); '
    'plus those of check_scene_image_request (the limits too), each message naming the item.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.max_bulk_requests()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.checked_scene_image_requests(uuid, jsonb)'::regprocedure);

COMMIT;
