-- Deploy scene-images:extension_plpython3u to pg
-- The first change a database without plpython3u (hosted Supabase) cannot take; see the
-- @portable tag before it.

BEGIN;

CREATE EXTENSION IF NOT EXISTS plpython3u;

COMMIT;
