-- Revert scene-images:roles_client from pg
-- Roles are cluster-wide: drop the ones we created unless another database still uses them.

BEGIN;

DO $$
DECLARE
    client_role text;
BEGIN
    FOR client_role IN
        SELECT rolname FROM pg_catalog.pg_roles
        WHERE rolname IN ('anon', 'authenticated', 'service_role')
          AND pg_catalog.shobj_description(oid, 'pg_authid') = 'created by scene-images'
    LOOP
        BEGIN
            EXECUTE format('DROP ROLE %I', client_role);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'role % kept: objects in another database depend on it', client_role;
        END;
    END LOOP;
END
$$;

COMMIT;
