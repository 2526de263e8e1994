-- Revert scene-images:procedure_revoke_all_grants from pg

BEGIN;

DROP PROCEDURE scene_images_internal.verify_routines(jsonb);
DROP PROCEDURE scene_images_internal.verify_relations(jsonb);
DROP FUNCTION scene_images_internal.verified_roles();
DROP PROCEDURE scene_images_internal.revoke_all_grants(regprocedure);
DROP PROCEDURE scene_images_internal.revoke_all_grants(regclass);
DROP PROCEDURE scene_images_internal.revoke_all_grants(regnamespace);
DROP PROCEDURE scene_images_internal.revoke_acl(text, oid);

COMMIT;
