-- Revert scene-images:extension_plpython3u from pg

BEGIN;

DROP EXTENSION IF EXISTS plpython3u;

COMMIT;
