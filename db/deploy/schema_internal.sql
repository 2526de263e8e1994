-- Deploy scene-images:schema_internal to pg
-- Settings, secrets and helpers live here; no client role may use it.

BEGIN;

CREATE SCHEMA scene_images_internal;

COMMENT ON SCHEMA scene_images_internal IS
    'Internals of scene-images: storage and fetch settings, secrets, helpers, the job table. Not exposed to clients.';

REVOKE ALL ON SCHEMA scene_images_internal FROM PUBLIC;

COMMIT;
