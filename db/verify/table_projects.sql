-- Verify scene-images:table_projects on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- What every install has: the projects setting, the view over the table in use, the checks.
SELECT 1 / count(*) FROM scene_images_internal.settings WHERE name = 'projects' AND value ? 'table';
SELECT id, master_json, owner_id, name FROM scene_images_internal.projects WHERE false;
SELECT 'scene_images_internal.check_projects_table(regclass, name, name, name)'::regprocedure,
       'scene_images_internal.assert_projects_untriggerable()'::regprocedure;
CALL scene_images_internal.assert_projects_untriggerable();

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways; raises naming every difference.
DO $$
DECLARE
    wrong text;
BEGIN
    WITH f (routine, definer, grantees) AS (VALUES
        ('scene_images_internal.check_projects_table(regclass, name, name, name)', false, '{}'::name[]),
        ('scene_images_internal.assert_projects_untriggerable()', false, '{}')
    )
    SELECT pg_catalog.string_agg(d.problem, '; ') INTO wrong FROM (
        SELECT pg_catalog.format('%s is %sSECURITY DEFINER', f.routine, CASE WHEN f.definer THEN 'not ' ELSE '' END)
        FROM f JOIN pg_catalog.pg_proc AS p ON p.oid = f.routine::regprocedure
        WHERE p.prosecdef <> f.definer
        UNION ALL
        SELECT pg_catalog.format('%s %s EXECUTE on %s', r.role,
                                 CASE WHEN r.role = ANY (f.grantees) THEN 'lacks' ELSE 'holds' END, f.routine)
        FROM f CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
        WHERE pg_catalog.has_function_privilege(r.role, f.routine, 'EXECUTE') <> (r.role = ANY (f.grantees))
    ) AS d (problem);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'functions differ from the access table: %', wrong;
    END IF;
END
$$;

-- No client role holds any privilege on the internal view; raises naming every one.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s holds %s on %s', r.role, p.privilege, t.relation), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{scene_images_internal.projects}'::text[]) AS t (relation)
    CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
    CROSS JOIN pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p (privilege)
    CROSS JOIN LATERAL (SELECT CASE WHEN p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                                    THEN pg_catalog.has_any_column_privilege(r.role, t.relation, p.privilege)
                                    ELSE pg_catalog.has_table_privilege(r.role, t.relation, p.privilege) END) AS h (held)
    WHERE h.held;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

SELECT value ->> 'table' AS projects_table, value ->> 'created_by_us' AS created_by_us
FROM scene_images_internal.settings WHERE name = 'projects' \gset

\if :created_by_us
-- A table we created: its named checks and owner index, and the access table's grants both ways
-- (a grant on any column counts as holding); raises naming every difference. An adopted table's
-- grants are the app's and are not ours to verify.
SELECT 1 / (count(*) = 3)::int FROM pg_catalog.pg_constraint
WHERE conrelid = :'projects_table'::regclass
  AND conname IN ('projects_pkey', 'projects_name_length', 'projects_master_json_object');
SELECT 1 / count(*) FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
WHERE i.indrelid = :'projects_table'::regclass AND c.relname = 'projects_owner_id_idx';

SELECT set_config('scene_images.verify_relation', :'projects_table', true);
DO $$
DECLARE
    relation text := pg_catalog.current_setting('scene_images.verify_relation');
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s %s %s on %s', r.role,
               CASE WHEN h.held THEN 'holds' ELSE 'lacks' END, p.privilege, relation), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
    CROSS JOIN pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p (privilege)
    LEFT JOIN (VALUES
        ('authenticated', '{SELECT,INSERT,UPDATE,DELETE}'::text[]),
        ('service_role', '{SELECT,INSERT,UPDATE,DELETE}')
    ) AS g (role, privileges) ON g.role = r.role
    CROSS JOIN LATERAL (SELECT CASE WHEN p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                                    THEN pg_catalog.has_any_column_privilege(r.role, relation, p.privilege)
                                    ELSE pg_catalog.has_table_privilege(r.role, relation, p.privilege) END) AS h (held)
    WHERE h.held <> coalesce(p.privilege = ANY (g.privileges), false);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;
\endif

ROLLBACK;
