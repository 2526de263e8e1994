-- Deploy scene-images:function_caller_identity to pg
-- requires: schema_internal
-- requires: roles_client
-- requires: procedure_revoke_all_grants

BEGIN;

-- Inside SECURITY DEFINER functions current_user is the owner; the role a client took with
-- SET ROLE (as PostgREST does) is still in the `role` setting, and SET ROLE needs membership,
-- so it cannot be spoofed.
CREATE FUNCTION scene_images_internal.caller_role()
RETURNS name
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT CASE pg_catalog.current_setting('role')
               WHEN 'none' THEN session_user
               ELSE pg_catalog.current_setting('role')::name
           END
$$;

COMMENT ON FUNCTION scene_images_internal.caller_role() IS
    'The role that called into a SECURITY DEFINER function: the SET ROLE role, else the session user.';

-- USAGE (not MEMBER) so a NOINHERIT login such as Supabase''s authenticator is not an admin by itself.
CREATE FUNCTION scene_images_internal.caller_is_admin()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT r.rolsuper
        OR pg_catalog.pg_has_role(r.oid, n.nspowner, 'USAGE')
        OR pg_catalog.pg_has_role(r.oid, 'service_role', 'USAGE')
    FROM pg_catalog.pg_roles AS r, pg_catalog.pg_namespace AS n
    WHERE r.rolname = scene_images_internal.caller_role()
      AND n.nspname = 'scene_images_internal'
$$;

COMMENT ON FUNCTION scene_images_internal.caller_is_admin() IS
    'True when the caller may manage every project: a superuser, the owner of the schema, or service_role.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.caller_role()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.caller_is_admin()'::regprocedure);

COMMIT;
