-- Deploy scene-images:function_request_uid to pg
-- requires: roles_client
-- requires: procedure_revoke_all_grants

BEGIN;

-- Public (not internal) because column defaults and RLS policies evaluate it with the
-- privileges of the client role, which may not use the internal schema.
-- It answers what Supabase's auth.uid() answers: the legacy request.jwt.claim.sub setting
-- first, then the sub of request.jwt.claims. A sub that is no uuid is refused, never read as
-- "nobody". The pattern is exactly what uuid input accepts (braces, a hyphen after any group
-- of four digits), so the cast cannot fail and no exception block is needed.
CREATE FUNCTION public.request_uid()
RETURNS uuid
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    sub text := coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
        nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub');
BEGIN
    IF sub IS NULL THEN
        RETURN NULL;
    END IF;
    IF sub !~* '^([0-9a-f]{4}-?){7}[0-9a-f]{4}$' AND sub !~* '^\{([0-9a-f]{4}-?){7}[0-9a-f]{4}\}$' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'insufficient_privilege',
            MESSAGE = 'the JWT''s sub claim is not a user id (a uuid)',
            HINT = 'Sign the request with a Supabase user''s JWT, or send none.';
    END IF;
    RETURN sub::uuid;
END
$$;

COMMENT ON FUNCTION public.request_uid() IS
    'The caller''s user id, as Supabase''s auth.uid() reads it: request.jwt.claim.sub, else the sub of request.jwt.claims. '
    'Result: uuid, or NULL when there is no sub claim. Errors: 42501 when the sub claim is not a uuid.';

CALL scene_images_internal.revoke_all_grants('public.request_uid()'::regprocedure);
GRANT EXECUTE ON FUNCTION public.request_uid() TO anon, authenticated, service_role;

COMMIT;
