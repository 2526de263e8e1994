-- Verify scene-images:extension_plpython3u on pg

BEGIN;

SELECT 1/count(*) FROM pg_catalog.pg_extension WHERE extname = 'plpython3u';

ROLLBACK;
