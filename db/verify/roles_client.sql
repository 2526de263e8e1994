-- Verify scene-images:roles_client on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_catalog.pg_roles
            WHERE rolname IN ('anon', 'authenticated', 'service_role')) = 3,
        'client roles missing';
END
$$;

ROLLBACK;
