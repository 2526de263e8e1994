-- Deploy scene-images:function_request_uid to pg
-- requires: roles_client

BEGIN;

-- Public (not internal) because column defaults and RLS policies evaluate it with the
-- privileges of the client role, which may not use the internal schema.
CREATE FUNCTION public.request_uid()
RETURNS uuid
LANGUAGE sql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT CASE WHEN claims.sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN claims.sub::uuid END
    FROM (SELECT nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub' AS sub) AS claims
$$;

COMMENT ON FUNCTION public.request_uid() IS
    'The caller''s user id: the `sub` claim of request.jwt.claims as PostgREST sets it (what Supabase''s auth.uid() reads). '
    'Result: uuid, or NULL when there is no claim or it is not a uuid. Errors: none.';

REVOKE ALL ON FUNCTION public.request_uid() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.request_uid() TO anon, authenticated, service_role;

COMMIT;
