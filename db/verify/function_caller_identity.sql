-- Verify scene-images:function_caller_identity on pg

BEGIN;

DO $$
BEGIN
    ASSERT scene_images_internal.caller_role() = session_user, 'caller_role without SET ROLE is not the session user';
    ASSERT scene_images_internal.caller_is_admin(), 'the deployer is not an admin';
END
$$;

ROLLBACK;
