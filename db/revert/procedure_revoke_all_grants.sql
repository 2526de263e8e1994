-- Revert scene-images:procedure_revoke_all_grants from pg

BEGIN;

DROP PROCEDURE scene_images_internal.revoke_all_grants(regprocedure);
DROP PROCEDURE scene_images_internal.revoke_all_grants(regclass);
DROP PROCEDURE scene_images_internal.revoke_all_grants(regnamespace);

COMMIT;
