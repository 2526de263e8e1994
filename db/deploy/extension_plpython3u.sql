-- Deploy scene-images:extension_plpython3u to pg
-- The first change a database without plpython3u (hosted Supabase) cannot take; see the
-- @portable tag before it.

BEGIN;

-- PL/Python (untrusted) is for a superuser to create, and not every server has it (hosted
-- Supabase has neither). Where it cannot be had, this change and every PL/Python change after
-- it install nothing: one `sqitch deploy` serves every install, and SQL-only changes appended
-- later reach hosted databases too. The external worker does there what PL/Python does here.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u')
    OR (EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'plpython3u')
        AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)) AS with_plpython \gset
\if :with_plpython
CREATE EXTENSION IF NOT EXISTS plpython3u;
\endif

COMMIT;
