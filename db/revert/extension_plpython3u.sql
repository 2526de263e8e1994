-- Revert scene-images:extension_plpython3u from pg

BEGIN;

DROP EXTENSION plpython3u;

COMMIT;
