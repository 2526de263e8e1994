-- Verify scene-images:procedure_revoke_all_grants on pg

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.revoke_all_grants(regprocedure)'::regprocedure,
       'scene_images_internal.revoke_all_grants(regclass)'::regprocedure,
       'scene_images_internal.revoke_all_grants(regnamespace)'::regprocedure;

ROLLBACK;
