-- Deploy scene-images:function_redact_url to pg
-- requires: schema_internal
-- requires: procedure_revoke_all_grants

BEGIN;

-- The one rule for a URL that is recorded (original_fal_url, a finished job's source_url):
-- userinfo removed, the values of query parameters that carry signatures or tokens replaced by
-- REDACTED, the fragment dropped, at most 300 characters. The core's redact_url (Python, for
-- messages made outside the database) follows it; py/tests pin the two to the same answers.
CREATE FUNCTION scene_images_internal.secret_query_parameter_pattern()
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ SELECT 'sig|token|key|secret|passw|credential|auth' $$;

COMMENT ON FUNCTION scene_images_internal.secret_query_parameter_pattern() IS
    'Case-insensitive pattern of query parameter names whose values are secrets (presigned URL signatures, tokens, keys).';

CREATE FUNCTION scene_images_internal.redact_url(url text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    WITH unfragmented AS (
        SELECT split_part(url, '#', 1) AS whole
    ), parts AS (
        SELECT regexp_replace(split_part(u.whole, '?', 1), '^([A-Za-z][A-Za-z0-9+.-]*)://[^/?#]*@', '\1://') AS base,
               CASE WHEN strpos(u.whole, '?') > 0 THEN substr(u.whole, strpos(u.whole, '?') + 1) ELSE '' END AS query
        FROM unfragmented AS u
    ), redacted AS (
        SELECT regexp_replace(p.base, '^[A-Za-z][A-Za-z0-9+.-]*:', lower(substring(p.base FROM '^[A-Za-z][A-Za-z0-9+.-]*:')))
               || CASE WHEN p.query = '' THEN '' ELSE '?' || (
                   SELECT string_agg(CASE WHEN strpos(q.param, '=') > 0
                                           AND substr(q.param, strpos(q.param, '=') + 1) <> ''
                                           AND split_part(q.param, '=', 1) ~* scene_images_internal.secret_query_parameter_pattern()
                                          THEN split_part(q.param, '=', 1) || '=REDACTED'
                                          ELSE q.param END, '&' ORDER BY q.n)
                   FROM unnest(string_to_array(p.query, '&')) WITH ORDINALITY AS q (param, n)) END AS text
        FROM parts AS p
    )
    SELECT CASE WHEN length(r.text) <= 300 THEN r.text ELSE left(r.text, 299) || '…' END FROM redacted AS r
$$;

COMMENT ON FUNCTION scene_images_internal.redact_url(text) IS
    'The URL as it may be recorded: no userinfo, secret query values REDACTED, no fragment, at most 300 characters.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.secret_query_parameter_pattern()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.redact_url(text)'::regprocedure);

COMMIT;
