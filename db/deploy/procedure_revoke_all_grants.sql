-- Deploy scene-images:procedure_revoke_all_grants to pg
-- requires: schema_internal

BEGIN;

-- A database's default privileges may hand every new object to other roles (Supabase grants
-- ALL in public to anon, authenticated, service_role and postgres), and REVOKE ... FROM PUBLIC
-- removes none of those explicit grants. Every change calls these right after creating an
-- object, then grants on purpose, so the access table holds whatever the defaults were.

CREATE PROCEDURE scene_images_internal.revoke_all_grants(target regprocedure)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    grantee regrole;
BEGIN
    EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', target);
    FOR grantee IN
        SELECT DISTINCT acl.grantee::regrole
        FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS acl
        WHERE p.oid = target AND acl.grantee <> 0 AND acl.grantee <> p.proowner
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM %s', target, grantee);
    END LOOP;
END
$$;

CREATE PROCEDURE scene_images_internal.revoke_all_grants(target regclass)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    grantee regrole;
BEGIN
    EXECUTE format('REVOKE ALL ON TABLE %s FROM PUBLIC', target);
    FOR grantee IN
        SELECT DISTINCT acl.grantee::regrole
        FROM pg_catalog.pg_class AS c, pg_catalog.aclexplode(c.relacl) AS acl
        WHERE c.oid = target AND acl.grantee <> 0 AND acl.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE ALL ON TABLE %s FROM %s', target, grantee);
    END LOOP;
END
$$;

CREATE PROCEDURE scene_images_internal.revoke_all_grants(target regnamespace)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    grantee regrole;
BEGIN
    EXECUTE format('REVOKE ALL ON SCHEMA %s FROM PUBLIC', target);
    FOR grantee IN
        SELECT DISTINCT acl.grantee::regrole
        FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(n.nspacl) AS acl
        WHERE n.oid = target AND acl.grantee <> 0 AND acl.grantee <> n.nspowner
    LOOP
        EXECUTE format('REVOKE ALL ON SCHEMA %s FROM %s', target, grantee);
    END LOOP;
END
$$;

COMMENT ON PROCEDURE scene_images_internal.revoke_all_grants(regprocedure) IS
    'Remove every grant on a function or procedure but its owner''s: from PUBLIC and from each role a default privilege gave it to.';
COMMENT ON PROCEDURE scene_images_internal.revoke_all_grants(regclass) IS
    'Remove every grant on a table or view but its owner''s: from PUBLIC and from each role a default privilege gave it to.';
COMMENT ON PROCEDURE scene_images_internal.revoke_all_grants(regnamespace) IS
    'Remove every grant on a schema but its owner''s: from PUBLIC and from each role a default privilege gave it to.';

-- The internal schema was made before these existed.
CALL scene_images_internal.revoke_all_grants('scene_images_internal'::regnamespace);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.revoke_all_grants(regprocedure)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.revoke_all_grants(regclass)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.revoke_all_grants(regnamespace)'::regprocedure);

COMMIT;
