-- Deploy scene-images:functions_scene_image_rules to pg
-- requires: schema_internal
-- requires: procedure_revoke_all_grants

BEGIN;

-- Rules that SQL and the core package (Python) both apply, defined once here. The core's
-- constants are pinned to these by py/tests/test_rules.py.

CREATE FUNCTION scene_images_internal.scene_id_pattern()
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ SELECT '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' $$;

COMMENT ON FUNCTION scene_images_internal.scene_id_pattern() IS
    'What a scene_id is: 1-128 of A-Z a-z 0-9 _ . - starting with a letter or digit (it becomes part of object paths).';

CREATE FUNCTION scene_images_internal.max_url_length()
RETURNS integer
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ SELECT 2048 $$;

COMMENT ON FUNCTION scene_images_internal.max_url_length() IS
    'The longest source URL (and redirect target) accepted, and the longest permanent URL recorded.';

CREATE FUNCTION scene_images_internal.permanent_error_sqlstates()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    -- Retrying cannot help: the URL, the host, the address or the bytes are wrong, the caller may
    -- not, or a limit is exceeded.
    SELECT ARRAY['SIU01', 'SIU02', 'SIU03', 'SIU04', 'SIF02', 'SII01', 'SII02', '22004', '22023', '42501', 'SIP01', '54000']
$$;

COMMENT ON FUNCTION scene_images_internal.permanent_error_sqlstates() IS
    'The SQLSTATEs a queued job fails on at once instead of being retried.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.scene_id_pattern()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.max_url_length()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.permanent_error_sqlstates()'::regprocedure);

COMMIT;
