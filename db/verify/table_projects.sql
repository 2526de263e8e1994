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
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.check_projects_table(regclass, name, name, name)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.assert_projects_untriggerable()", "definer": false, "grantees": []}
]');

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts;
-- scene_images_internal.verify_relations raises naming every difference).
CALL scene_images_internal.verify_relations('{"scene_images_internal.projects": {}}');

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

SELECT jsonb_build_object(:'projects_table', '{"authenticated": ["SELECT", "INSERT", "UPDATE", "DELETE"],
    "service_role": ["SELECT", "INSERT", "UPDATE", "DELETE"]}'::jsonb) AS expected_grants \gset
CALL scene_images_internal.verify_relations(:'expected_grants');
\endif

ROLLBACK;
