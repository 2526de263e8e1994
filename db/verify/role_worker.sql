-- Verify scene-images:role_worker on pg

BEGIN;

SELECT 1/count(*) FROM pg_catalog.pg_roles WHERE rolname = 'scene_images_worker';

ROLLBACK;
