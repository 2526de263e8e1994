-- Deploy scene-images:table_projects to pg
-- requires: function_request_uid
-- requires: table_settings
-- requires: procedure_revoke_all_grants

BEGIN;

-- The app's database usually has its projects table already: the design's scene_images
-- references it. Deploy variables name it and the columns we rely on; when it is missing it is
-- created as below. An existing one is checked, never altered: its columns, constraints, rows,
-- policies and grants stay the app's.
\if :{?projects_table}
\else
    \set projects_table public.projects
\endif
\if :{?master_json_column}
\else
    \set master_json_column master_json
\endif
\if :{?owner_column}
\else
    \set owner_column owner_id
\endif
\if :{?name_column}
\else
    \set name_column name
\endif

CREATE PROCEDURE scene_images_internal.check_projects_table(
    projects regclass,       -- the existing table
    master_json_column name, -- its masterJSON column
    owner_column name,       -- its owner (Supabase user id) column
    name_column name         -- its project name column
)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    wanted record;
    found_type regtype;
BEGIN
    FOR wanted IN
        SELECT * FROM (VALUES ('id', 'uuid'::regtype, 'id'),
                              (master_json_column, 'jsonb'::regtype, 'master_json_column'),
                              (owner_column, 'uuid'::regtype, 'owner_column'),
                              (name_column, 'text'::regtype, 'name_column')) AS w (col, type, variable)
    LOOP
        SELECT a.atttypid::regtype INTO found_type FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = projects AND a.attname = wanted.col AND a.attnum > 0 AND NOT a.attisdropped;
        IF found_type IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_table_definition',
                MESSAGE = format('%s has no column %I', projects, wanted.col),
                HINT = CASE wanted.variable
                    WHEN 'id' THEN 'scene_images references projects(id): the table needs a uuid id column.'
                    WHEN 'owner_column' THEN 'Name the column that holds the owner''s Supabase user id (auth.uid()): '
                        'sqitch deploy --set owner_column=<column>. Without one no user could be told from another.'
                    ELSE format('Name the column with sqitch deploy --set %s=<column>.', wanted.variable) END;
        END IF;
        IF found_type <> wanted.type AND NOT (wanted.type = 'text'::regtype AND found_type = 'character varying'::regtype) THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_table_definition',
                MESSAGE = format('%s.%I is %s, not %s', projects, wanted.col, found_type, wanted.type),
                HINT = format('Name a %s column with sqitch deploy --set %s=<column>.', wanted.type, wanted.variable);
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index AS i
                   WHERE i.indrelid = projects AND i.indisunique AND i.indpred IS NULL AND i.indnkeyatts = 1
                     AND i.indkey[0] = (SELECT a.attnum FROM pg_catalog.pg_attribute AS a
                                        WHERE a.attrelid = projects AND a.attname = 'id')) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_table_definition',
            MESSAGE = format('%s.id is not unique', projects),
            HINT = 'scene_images references projects(id): id needs a primary key or unique constraint.';
    END IF;
END
$$;

COMMENT ON PROCEDURE scene_images_internal.check_projects_table(regclass, name, name, name) IS
    'At deploy: raise unless an existing projects table has what we rely on (a unique uuid id, a jsonb masterJSON column, '
    'a uuid owner column, a text name column). Errors: 42P16 naming the column and the deploy variable to set.';
CALL scene_images_internal.revoke_all_grants('scene_images_internal.check_projects_table(regclass, name, name, name)'::regprocedure);

SELECT CASE WHEN pg_catalog.to_regclass(:'projects_table') IS NULL THEN 'true' ELSE 'false' END AS create_projects \gset

\if :create_projects
CREATE TABLE :projects_table (
    id                    uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    :"name_column"        text        CONSTRAINT projects_name_length CHECK (length(:"name_column") <= 200),
    :"master_json_column" jsonb       NOT NULL DEFAULT '{}'
                                      CONSTRAINT projects_master_json_object CHECK (jsonb_typeof(:"master_json_column") = 'object'),
    :"owner_column"       uuid        DEFAULT public.request_uid(),
    created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX projects_owner_id_idx ON :projects_table (:"owner_column");

-- The marker tells revert (and a later reader) that this table is ours to drop.
COMMENT ON TABLE :projects_table IS 'created by scene-images: a video project, its masterJSON and the owner who may store images for it.';
COMMENT ON COLUMN :projects_table.:"master_json_column" IS
    'The pipeline''s masterJSON. scenes.<scene_id>.scene_start_frame is kept equal to the permanent URL of the scene''s current image.';
COMMENT ON COLUMN :projects_table.:"owner_column" IS
    'The user (JWT sub claim) who owns the project; defaults to the caller''s request_uid().';

CALL scene_images_internal.revoke_all_grants(:'projects_table'::regclass);
GRANT SELECT, INSERT, UPDATE, DELETE ON :projects_table TO authenticated, service_role;
\else
CALL scene_images_internal.check_projects_table(:'projects_table', :'master_json_column', :'owner_column', :'name_column');
\endif

-- Where the projects are, for every later change, our functions and the client: one home.
INSERT INTO scene_images_internal.settings (name, value)
SELECT 'projects', jsonb_build_object(
    'table', format('%I.%I', n.nspname, c.relname),
    'master_json_column', :'master_json_column',
    'owner_column', :'owner_column',
    'name_column', :'name_column',
    'created_by_us', :'create_projects'::boolean)
FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = :'projects_table'::regclass;

-- TRIGGER on a table lets its holder run code as whoever writes it next, and our masterJSON sync
-- writes this one with the owner's rights. An adopted table's grants are the app's, so they are
-- checked, never changed: here at deploy, and again before every write (sync_master_json). The
-- default privileges of a Supabase database grant TRIGGER to anon, authenticated and service_role.
CREATE PROCEDURE scene_images_internal.assert_projects_untriggerable()
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    projects text;
    holders text;
BEGIN
    SELECT s.value ->> 'table', string_agg(CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE acl.grantee::regrole::text END,
                                          ', ' ORDER BY acl.grantee)
    INTO projects, holders
    FROM scene_images_internal.settings AS s
    JOIN pg_catalog.pg_class AS c ON c.oid = (s.value ->> 'table')::regclass
    LEFT JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS acl
           ON acl.privilege_type = 'TRIGGER' AND acl.grantee <> c.relowner
    WHERE s.name = 'projects'
    GROUP BY s.value ->> 'table';
    IF holders IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('%s: %s may create triggers on it, which would run their code with the rights of '
                             'scene-images'' masterJSON sync', projects, holders),
            HINT = format('Run REVOKE TRIGGER ON %s FROM %s; (the app keeps every other right).', projects, holders);
    END IF;
END
$$;

COMMENT ON PROCEDURE scene_images_internal.assert_projects_untriggerable() IS
    'Raise unless only its owner may create triggers on the projects table. Errors: 42501 naming the roles and the REVOKE that fixes it.';
CALL scene_images_internal.revoke_all_grants('scene_images_internal.assert_projects_untriggerable()'::regprocedure);
CALL scene_images_internal.assert_projects_untriggerable();

-- Our function bodies read the projects through this view, whatever the table and columns are called.
CREATE VIEW scene_images_internal.projects AS
SELECT p.id, p.:"master_json_column" AS master_json, p.:"owner_column" AS owner_id, p.:"name_column" AS name
FROM :projects_table AS p;

COMMENT ON VIEW scene_images_internal.projects IS
    'The projects table in use (ours, or the app''s adopted one) under the column names our functions use.';
CALL scene_images_internal.revoke_all_grants('scene_images_internal.projects'::regclass);

COMMIT;
