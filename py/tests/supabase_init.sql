-- A database shaped like a Supabase project's, for the tests in test_supabase_defaults.py.
-- Written here from what Supabase's public SQL does (supabase/postgres: migrations/db/init-scripts
-- and migrations/db/migrations; supabase/auth: its migrations for auth.users and auth.uid()),
-- keeping only what changes how our schema behaves: the roles and their attributes, the default
-- privileges in `public`, the `auth` functions and PostgREST's DDL event triggers. Realtime,
-- storage, pgsodium, graphql and the rest are left out: none of them grants anything on our objects.
--
-- Run once per cluster with psql as `supabase_admin`, the cluster's bootstrap superuser (on
-- Supabase `postgres` was demoted; a bootstrap user cannot be, hence a cluster of its own),
-- into a template database the installs are then copied from.

\set ON_ERROR_STOP on

-- Roles ---------------------------------------------------------------------------------------
-- Supabase later turned the three API roles to INHERIT; they are members of nothing of ours,
-- so the attribute changes nothing here. NOINHERIT on `authenticator` is what matters: its
-- rights are only those of the role a request SET ROLEs to.
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;

-- The role a project's owner gets: the dashboard's SQL editor and the connection string. No
-- superuser, but it reaches every API role and reads all data.
CREATE ROLE postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
GRANT anon, authenticated, service_role TO postgres;
GRANT pg_monitor, pg_read_all_data, pg_signal_backend TO postgres;

-- Supabase Auth (GoTrue) logs in as this role and owns the auth tables.
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;

-- PostgREST applies these per request when it switches role.
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE authenticator SET statement_timeout = '8s';
ALTER ROLE authenticator SET lock_timeout = '8s';

ALTER ROLE supabase_admin SET search_path = "$user", public, auth, extensions;
ALTER ROLE postgres SET search_path = "$user", public, extensions;

-- The database -------------------------------------------------------------------------------
-- A project's database belongs to `postgres`, so `public` (owned by pg_database_owner) is its.
ALTER DATABASE :"DBNAME" OWNER TO postgres;

GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;

-- The defaults that make every object `postgres` or `supabase_admin` creates in `public`
-- usable by every API role: REVOKE ... FROM PUBLIC removes none of these grants.
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;

-- Extensions live in their own schema, usable by the API roles.
CREATE SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO postgres, anon, authenticated, service_role;

-- Auth -----------------------------------------------------------------------------------------
CREATE SCHEMA auth AUTHORIZATION supabase_admin;
GRANT USAGE ON SCHEMA auth TO postgres, anon, authenticated, service_role, supabase_auth_admin;

-- The columns an app's SQL commonly touches; GoTrue's table has many more.
CREATE TABLE auth.users (
    instance_id        uuid,
    id                 uuid PRIMARY KEY,
    aud                varchar(255),
    role               varchar(255),
    email              varchar(255) UNIQUE,
    encrypted_password varchar(255),
    email_confirmed_at timestamptz,
    last_sign_in_at    timestamptz,
    raw_app_meta_data  jsonb,
    raw_user_meta_data jsonb,
    is_anonymous       boolean NOT NULL DEFAULT false,
    created_at         timestamptz,
    updated_at         timestamptz
);
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
GRANT ALL ON auth.users TO postgres;

-- The request's claims as PostgREST left them: the legacy per-claim setting
-- (request.jwt.claim.<name>, PostgREST before v9) wins over the JSON of all claims.
-- Casting to uuid raises 22P02 for a `sub` that is not one, as Supabase's does.
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
$$;

CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
$$;

CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
$$;

CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                    nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;

-- PostgREST's schema cache reload ------------------------------------------------------------
-- Event triggers run for every role's DDL, ours included; they only NOTIFY.
CREATE FUNCTION extensions.pgrst_ddl_watch() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    command record;
BEGIN
    FOR command IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF command.command_tag IN (
               'CREATE SCHEMA', 'ALTER SCHEMA', 'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO',
               'ALTER TABLE', 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE', 'CREATE VIEW', 'ALTER VIEW',
               'CREATE MATERIALIZED VIEW', 'ALTER MATERIALIZED VIEW', 'CREATE FUNCTION', 'ALTER FUNCTION',
               'CREATE TRIGGER', 'CREATE TYPE', 'CREATE RULE', 'COMMENT')
           AND command.schema_name IS DISTINCT FROM 'pg_temp' THEN
            NOTIFY pgrst, 'reload schema';
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION extensions.pgrst_drop_watch() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    dropped record;
BEGIN
    FOR dropped IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF dropped.object_type IN ('schema', 'table', 'foreign table', 'view', 'materialized view',
                                   'function', 'trigger', 'type', 'rule')
           AND NOT dropped.is_temporary THEN
            NOTIFY pgrst, 'reload schema';
        END IF;
    END LOOP;
END
$$;

CREATE EVENT TRIGGER pgrst_ddl_watch ON ddl_command_end EXECUTE FUNCTION extensions.pgrst_ddl_watch();
CREATE EVENT TRIGGER pgrst_drop_watch ON sql_drop EXECUTE FUNCTION extensions.pgrst_drop_watch();

-- pgTAP, as a Supabase project installs it from the dashboard, for the pgTAP tests we run there.
CREATE EXTENSION pgtap WITH SCHEMA extensions;
