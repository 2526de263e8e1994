-- Deploy scene-images:roles_client to pg
-- The client roles Supabase has (anon, authenticated, service_role), created here when the
-- database is plain PostgreSQL so grants and policies mean the same thing everywhere.

BEGIN;

DO $$
DECLARE
    client_role text;
BEGIN
    FOREACH client_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = client_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', client_role);
            -- The marker lets revert drop only the roles this change created.
            EXECUTE format('COMMENT ON ROLE %I IS %L', client_role, 'created by scene-images');
        END IF;
    END LOOP;
END
$$;

COMMIT;
