-- Verify scene-images:table_projects on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- The columns (raises when one is missing), the named checks and the owner index.
SELECT id, name, master_json, owner_id, created_at FROM public.projects WHERE false;
SELECT 1 / (count(*) = 3)::int FROM pg_catalog.pg_constraint
WHERE conrelid = 'public.projects'::regclass
  AND conname IN ('projects_pkey', 'projects_name_length', 'projects_master_json_object');
SELECT 'public.projects_owner_id_idx'::regclass;

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts
-- as holding); raises naming every difference.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s %s %s on %s', r.role,
               CASE WHEN h.held THEN 'holds' ELSE 'lacks' END, p.privilege, t.relation), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{public.projects}'::text[]) AS t (relation)
    CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
    CROSS JOIN pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p (privilege)
    LEFT JOIN (VALUES
        ('public.projects', 'authenticated', '{SELECT,INSERT,UPDATE,DELETE}'::text[]),
        ('public.projects', 'service_role', '{SELECT,INSERT,UPDATE,DELETE}')
    ) AS g (relation, role, privileges) ON g.relation = t.relation AND g.role = r.role
    CROSS JOIN LATERAL (SELECT CASE WHEN p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                                    THEN pg_catalog.has_any_column_privilege(r.role, t.relation, p.privilege)
                                    ELSE pg_catalog.has_table_privilege(r.role, t.relation, p.privilege) END) AS h (held)
    WHERE h.held <> coalesce(p.privilege = ANY (g.privileges), false);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

ROLLBACK;
