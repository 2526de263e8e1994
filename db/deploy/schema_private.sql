-- Deploy scene-images:schema_private to pg
-- requires: schema_internal
-- requires: procedure_revoke_all_grants
-- requires: roles_client
-- requires: role_worker

BEGIN;

-- PostgREST exposes public, so everything there runs as the caller. What needs the owner's
-- rights (secrets, internal tables, the queue) is reached through SECURITY DEFINER entry points
-- here: functions only, each as narrow as its public twin and checking access itself.
CREATE SCHEMA scene_images_private;

COMMENT ON SCHEMA scene_images_private IS
    'SECURITY DEFINER entry points of scene-images, called by the SECURITY INVOKER functions in public. Functions only; not exposed to PostgREST.';

CALL scene_images_internal.revoke_all_grants('scene_images_private'::regnamespace);
GRANT USAGE ON SCHEMA scene_images_private TO authenticated, service_role, scene_images_worker;

COMMIT;
