-- Verify scene-images:view_current_scene_images on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- The columns (raises when one is missing), and the caller's row-level security applies through it.
SELECT id, project_id, scene_id, storage_path, storage_url, file_size, content_type, generated_at,
       provider, generation_prompt, original_fal_url, fal_metadata, version, is_current,
       sha256, width, height
FROM public.current_scene_images WHERE false;
SELECT 1 / count(*) FROM pg_catalog.pg_class
WHERE oid = 'public.current_scene_images'::regclass AND relkind = 'v' AND 'security_invoker=true' = ANY (reloptions);

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts
-- as holding); raises naming every difference.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s %s %s on %s', r.role,
               CASE WHEN h.held THEN 'holds' ELSE 'lacks' END, p.privilege, t.relation), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{public.current_scene_images}'::text[]) AS t (relation)
    CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
    CROSS JOIN pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p (privilege)
    LEFT JOIN (VALUES
        ('public.current_scene_images', 'authenticated', '{SELECT}'::text[]),
        ('public.current_scene_images', 'service_role', '{SELECT}')
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
