-- What Supabase's linter (splinter) checks, asked of our own objects with queries of our own, since
-- splinter itself is not installable in CI. Our objects: functions and relations in public (not
-- extension members), scene_images_internal and scene_images_private (if it exists). Exposed
-- schema: public, the one PostgREST serves. Each check lists its offenders, so a failure names them.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(11);

-- Our functions and procedures, with their pinned search_path (NULL when none), as a list of names.
CREATE TEMP VIEW our_functions AS
SELECT p.oid,
       format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS signature,
       n.nspname AS schema_name,
       p.prosecdef AS security_definer,
       (SELECT substr(c, length('search_path=') + 1)
        FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%') AS search_path
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ('public', 'scene_images_internal', 'scene_images_private')
  AND p.prokind IN ('f', 'p', 'w')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e');

-- Our tables, views and other relations.
CREATE TEMP VIEW our_relations AS
SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS relation, n.nspname AS schema_name, c.relkind,
       c.relrowsecurity, c.reloptions
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('public', 'scene_images_internal', 'scene_images_private')
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e');

-- The checks below must see something, or they would pass on a renamed schema.
SELECT isnt_empty($$SELECT signature FROM our_functions WHERE schema_name = 'public'$$,
    'the lint queries see our public functions');
SELECT isnt_empty($$SELECT relation FROM our_relations WHERE relkind IN ('r', 'p')$$,
    'the lint queries see our tables');

-- === function_search_path_mutable =============================================================

SELECT is_empty($$SELECT signature FROM our_functions WHERE search_path IS NULL ORDER BY 1$$,
    'every function of ours pins search_path (splinter function_search_path_mutable)');

-- PostgreSQL looks in pg_temp first for relations and types unless the path names it; '' does not
-- help. So pg_temp must be named, and last.
SELECT is_empty($$
    SELECT signature || ': search_path=' || search_path
    FROM our_functions
    WHERE search_path IS NOT NULL
      AND (SELECT pg_catalog.btrim(e, ' "')
           FROM unnest(pg_catalog.string_to_array(search_path, ',')) WITH ORDINALITY AS u(e, i)
           ORDER BY i DESC LIMIT 1) IS DISTINCT FROM 'pg_temp'
    ORDER BY 1
$$, 'every pinned search_path names pg_temp explicitly and last');

-- === SECURITY DEFINER functions in the exposed schema ==========================================

SELECT is_empty($$
    SELECT signature FROM our_functions WHERE schema_name = 'public' AND security_definer ORDER BY 1
$$, 'no SECURITY DEFINER function in public, the exposed schema (they belong in scene_images_private)');

SELECT is_empty($$
    SELECT signature FROM our_functions
    WHERE schema_name = 'public' AND security_definer AND pg_catalog.has_function_privilege('anon', oid, 'EXECUTE')
    ORDER BY 1
$$, 'anon can execute no SECURITY DEFINER function in public (splinter anon_security_definer_function_executable)');

SELECT is_empty($$
    SELECT signature FROM our_functions
    WHERE schema_name = 'public' AND security_definer
      AND pg_catalog.has_function_privilege('authenticated', oid, 'EXECUTE')
    ORDER BY 1
$$, 'authenticated can execute no SECURITY DEFINER function in public (splinter authenticated_security_definer_function_executable)');

-- The private schema, where definer entry points live, holds functions only.
SELECT is_empty($$
    SELECT relation FROM our_relations WHERE schema_name = 'scene_images_private' ORDER BY 1
$$, 'scene_images_private holds no tables or views');

-- === unindexed_foreign_keys ===================================================================

-- Covered: a valid, non-partial index whose first n columns are the key's n columns in the key's
-- order (splinter compares in order too; it also accepts partial indexes, which we do not).
SELECT is_empty($$
    SELECT format('%s.%s (%s)', r.relation, ct.conname,
                  (SELECT string_agg(a.attname, ', ' ORDER BY k.i)
                   FROM unnest(ct.conkey) WITH ORDINALITY AS k(attnum, i)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = ct.conrelid AND a.attnum = k.attnum))
    FROM pg_catalog.pg_constraint ct
    JOIN our_relations r ON r.oid = ct.conrelid
    WHERE ct.contype = 'f'
      AND NOT EXISTS (
          SELECT 1 FROM pg_catalog.pg_index ix
          WHERE ix.indrelid = ct.conrelid AND ix.indisvalid AND ix.indpred IS NULL
            AND (pg_catalog.string_to_array(ix.indkey::text, ' ')::int2[])[1:cardinality(ct.conkey)] = ct.conkey)
    ORDER BY 1
$$, 'every foreign key of ours has an index that leads with its columns (splinter unindexed_foreign_keys)');

-- === rls_disabled_in_public, security_definer_view =============================================

SELECT is_empty($$
    SELECT relation FROM our_relations
    WHERE schema_name = 'public' AND relkind IN ('r', 'p') AND NOT relrowsecurity
    ORDER BY 1
$$, 'row-level security is enabled on every table of ours in public (splinter rls_disabled_in_public)');

SELECT is_empty($$
    SELECT relation FROM our_relations
    WHERE schema_name = 'public' AND relkind = 'v'
      AND NOT (pg_catalog.lower(coalesce(reloptions::text, '{}'))::text[]
               && ARRAY['security_invoker=1', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=on'])
    ORDER BY 1
$$, 'every view of ours in public is security_invoker (splinter security_definer_view)');

SELECT * FROM finish();
ROLLBACK;
