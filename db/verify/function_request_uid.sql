-- Verify scene-images:function_request_uid on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('authenticated', 'public.request_uid()', 'execute'), 'authenticated cannot execute request_uid';
    PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub": "5f0c2a52-8d0e-4f43-9a51-6b0c1e2d3f40"}', true);
    ASSERT public.request_uid() = '5f0c2a52-8d0e-4f43-9a51-6b0c1e2d3f40', 'request_uid does not read the sub claim';
END
$$;

ROLLBACK;
