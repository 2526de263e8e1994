-- Deploy scene-images:procedure_revoke_all_grants to pg
-- requires: schema_internal

BEGIN;

-- A database's default privileges may hand every new object to other roles (Supabase grants
-- ALL in public to anon, authenticated, service_role and postgres), and REVOKE ... FROM PUBLIC
-- removes none of those explicit grants. Every change calls these right after creating an
-- object, then grants on purpose, so the access table holds whatever the defaults were.

CREATE PROCEDURE scene_images_internal.revoke_acl(object_kind text, target oid)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    object_name text;
    acl aclitem[];
    owner oid;
    grantee regrole;
BEGIN
    CASE object_kind
        WHEN 'ROUTINE' THEN
            SELECT target::regprocedure::text, p.proacl, p.proowner INTO object_name, acl, owner
            FROM pg_catalog.pg_proc AS p WHERE p.oid = target;
        WHEN 'TABLE' THEN
            SELECT target::regclass::text, c.relacl, c.relowner INTO object_name, acl, owner
            FROM pg_catalog.pg_class AS c WHERE c.oid = target;
        WHEN 'SCHEMA' THEN
            SELECT target::regnamespace::text, n.nspacl, n.nspowner INTO object_name, acl, owner
            FROM pg_catalog.pg_namespace AS n WHERE n.oid = target;
    END CASE;
    EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC', object_kind, object_name);
    FOR grantee IN
        SELECT DISTINCT a.grantee::regrole FROM aclexplode(acl) AS a WHERE a.grantee <> 0 AND a.grantee <> owner
    LOOP
        EXECUTE format('REVOKE ALL ON %s %s FROM %s', object_kind, object_name, grantee);
    END LOOP;
END
$$;

COMMENT ON PROCEDURE scene_images_internal.revoke_acl(text, oid) IS
    'Revoke every grant on a ROUTINE, TABLE or SCHEMA but its owner''s, and PUBLIC''s: what the revoke_all_grants overloads share.';

CREATE PROCEDURE scene_images_internal.revoke_all_grants(target regprocedure)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ BEGIN CALL scene_images_internal.revoke_acl('ROUTINE', target); END $$;

CREATE PROCEDURE scene_images_internal.revoke_all_grants(target regclass)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ BEGIN CALL scene_images_internal.revoke_acl('TABLE', target); END $$;

CREATE PROCEDURE scene_images_internal.revoke_all_grants(target regnamespace)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$ BEGIN CALL scene_images_internal.revoke_acl('SCHEMA', target); END $$;

COMMENT ON PROCEDURE scene_images_internal.revoke_all_grants(regprocedure) IS
    'Remove every grant on a function or procedure but its owner''s: from PUBLIC and from each role a default privilege gave it to.';
COMMENT ON PROCEDURE scene_images_internal.revoke_all_grants(regclass) IS
    'Remove every grant on a table or view but its owner''s: from PUBLIC and from each role a default privilege gave it to.';
COMMENT ON PROCEDURE scene_images_internal.revoke_all_grants(regnamespace) IS
    'Remove every grant on a schema but its owner''s: from PUBLIC and from each role a default privilege gave it to.';

-- The other half: what verify scripts check. Each change's verify names its objects and the
-- grants the access table gives them; these raise naming every difference, both ways, for
-- every role of ours that exists (and PUBLIC). A grant on any column counts as holding.
CREATE PROCEDURE scene_images_internal.verify_routines(expected jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(d.problem, '; ') INTO wrong FROM (
        SELECT format('%s is %sSECURITY DEFINER', f.routine, CASE WHEN f.definer THEN 'not ' ELSE '' END) AS problem
        FROM jsonb_to_recordset(expected) AS f (routine text, definer boolean, grantees name[])
        JOIN pg_catalog.pg_proc AS p ON p.oid = f.routine::regprocedure
        WHERE p.prosecdef <> f.definer
        UNION ALL
        SELECT format('%s %s EXECUTE on %s', r.role, CASE WHEN r.role = ANY (f.grantees) THEN 'lacks' ELSE 'holds' END, f.routine)
        FROM jsonb_to_recordset(expected) AS f (routine text, definer boolean, grantees name[])
        CROSS JOIN scene_images_internal.verified_roles() AS r (role)
        WHERE has_function_privilege(r.role, f.routine, 'EXECUTE') <> (r.role = ANY (f.grantees))
    ) AS d;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'functions differ from the access table: %', wrong;
    END IF;
END
$$;

CREATE PROCEDURE scene_images_internal.verify_relations(expected jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s %s on %s', r.role, CASE WHEN h.held THEN 'holds' ELSE 'lacks' END,
                             p.privilege, t.relation), '; ')
    INTO wrong
    FROM jsonb_each(expected) AS t (relation, grants)
    CROSS JOIN scene_images_internal.verified_roles() AS r (role)
    CROSS JOIN unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p (privilege)
    CROSS JOIN LATERAL (SELECT CASE WHEN p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                                    THEN has_any_column_privilege(r.role, t.relation, p.privilege)
                                    ELSE has_table_privilege(r.role, t.relation, p.privilege) END) AS h (held)
    WHERE h.held <> coalesce(t.grants -> r.role ? p.privilege, false);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

CREATE FUNCTION scene_images_internal.verified_roles()
RETURNS SETOF name
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT 'public'::name
    UNION ALL
    SELECT r.rolname FROM pg_catalog.pg_roles AS r
    WHERE r.rolname IN ('anon', 'authenticated', 'service_role', 'scene_images_worker')
$$;

COMMENT ON PROCEDURE scene_images_internal.verify_routines(jsonb) IS
    'For verify scripts: raise unless each [{routine, definer, grantees}] has that SECURITY DEFINER flag and exactly those grantees.';
COMMENT ON PROCEDURE scene_images_internal.verify_relations(jsonb) IS
    'For verify scripts: raise unless each {relation: {role: [privileges]}} grants exactly those, and nothing to other roles.';
COMMENT ON FUNCTION scene_images_internal.verified_roles() IS
    'The roles verify scripts check grants for: PUBLIC and those of anon, authenticated, service_role, scene_images_worker that exist.';

-- The internal schema was made before these existed.
CALL scene_images_internal.revoke_all_grants('scene_images_internal'::regnamespace);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.revoke_acl(text, oid)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.revoke_all_grants(regprocedure)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.revoke_all_grants(regclass)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.revoke_all_grants(regnamespace)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.verify_routines(jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.verify_relations(jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.verified_roles()'::regprocedure);

COMMIT;
