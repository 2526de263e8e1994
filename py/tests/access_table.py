"""The access table (the README's) as data, and its comparison with a database's catalog.

One check for every database we deploy into: the plain test database (test_security_access.py)
and both Supabase-shaped installs (test_supabase_defaults.py). It compares what each role can
*effectively* do (schema USAGE plus the object privilege, inherited ones included, as
has_*_privilege answers) with what the table allows, for every role that exists among the
client roles, the worker role, `authenticator`, `postgres` (when it is not the owner),
`supabase_auth_admin` and PUBLIC, over every function, relation, sequence and schema of ours.
What a role reaches through its memberships (postgres on Supabase is a member of the three
API roles and of pg_read_all_data) is expected, and nothing more: a grant that default
privileges added to a role directly shows up as a difference.

Functions in scene_images_private (the SECURITY DEFINER entry points behind the public API)
are callable by exactly the roles that may call their public twin, the public function of the
same name; one without a twin is for the owner alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

OUR_SCHEMAS = ("public", "scene_images_internal", "scene_images_private")
PRIVATE_SCHEMA = "scene_images_private"

USER_CALLS = {
    "request_uid()",
    "get_scene_image_url(uuid,text)",
    "get_scene_image_history(uuid,text)",
    "set_current_scene_image(uuid,text,integer)",
    "store_scene_image(uuid,text,text,text,text,jsonb)",
    "store_scene_image(uuid,text,text,text,text,jsonb,boolean)",
    "store_scene_images(uuid,jsonb)",
    "enqueue_scene_image(uuid,text,text,text,text,jsonb)",
    "enqueue_scene_images(uuid,jsonb)",
    "get_scene_image_job(uuid)",
    "retry_scene_image_job(uuid)",
    "get_scene_image_projects_table()",
}
WORKER_CALLS = {
    "claim_scene_image_jobs(text,integer,interval)",
    "complete_scene_image_job(uuid,text,text,text,bigint,text,text,integer,integer,jsonb)",
    "fail_scene_image_job(uuid,text,text,text)",
    "process_scene_image_jobs(integer)",
    "get_scene_image_worker_settings()",
    "get_scene_image_queue_counts()",
}
OWNER_ONLY_CALLS = {
    "configure_scene_image_fetch(jsonb)",
    "configure_scene_image_limits(jsonb)",
    "configure_scene_image_storage(text,jsonb)",
    "sweep_orphaned_scene_objects(interval,boolean)",
}
# What a database without plpython3u (hosted Supabase, `--to @portable`) lacks.
PLPYTHON_CALLS = {
    "store_scene_image(uuid,text,text,text,text,jsonb)",
    "store_scene_image(uuid,text,text,text,text,jsonb,boolean)",
    "store_scene_images(uuid,jsonb)",
    "process_scene_image_jobs(integer)",
    "sweep_orphaned_scene_objects(interval,boolean)",
}
# The access table: what each client role may call, do to each table and view, and use of our
# schemas. Everything of ours not listed for a role is closed to it; the owner (the role that
# deployed) may do everything. The README's access table is this data.
ACCESS: dict[str, dict[str, Any]] = {
    "anon": {"functions": {"request_uid()"}, "relations": {}, "schemas": {}},
    "authenticated": {
        "functions": USER_CALLS,
        "relations": {
            "projects": {"SELECT", "INSERT", "UPDATE", "DELETE"},  # own rows only (RLS)
            "scene_images": {"SELECT"},  # own projects' rows only (RLS)
            "current_scene_images": {"SELECT"},
        },
        "schemas": {PRIVATE_SCHEMA: {"USAGE"}},
    },
    "service_role": {
        "functions": USER_CALLS | {"get_scene_image_queue_counts()"},
        "relations": {
            "projects": {"SELECT", "INSERT", "UPDATE", "DELETE"},
            "scene_images": {"SELECT", "INSERT", "UPDATE", "DELETE"},
            "current_scene_images": {"SELECT"},
        },
        "schemas": {PRIVATE_SCHEMA: {"USAGE"}},
    },
    "scene_images_worker": {"functions": WORKER_CALLS, "relations": {}, "schemas": {PRIVATE_SCHEMA: {"USAGE"}}},
}
CLIENT_ROLES = tuple(ACCESS)
# Roles whose rights are only what their memberships give them ("public" is PUBLIC).
OTHER_ROLES = ("authenticator", "postgres", "supabase_auth_admin", "public")

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
COLUMN_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "REFERENCES"}
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")
PG_READ_ALL_DATA = "pg_read_all_data"

# Objects of ours: in our schemas and not an extension's. Names as the table writes them:
# unqualified in public, schema-qualified elsewhere, argument types by format_type.
OUR_FUNCTIONS = """
SELECT p.oid, n.nspname AS schema, p.proname AS name,
       CASE n.nspname WHEN 'public' THEN '' ELSE n.nspname || '.' END || p.proname
           || '(' || replace(pg_catalog.oidvectortypes(p.proargtypes), ', ', ',') || ')' AS signature
FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                  WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""
OUR_RELATIONS = """
SELECT c.oid, n.nspname AS schema, c.relkind = 'S' AS is_sequence,
       CASE n.nspname WHEN 'public' THEN '' ELSE n.nspname || '.' END || c.relname AS name
FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""
CALLABLE = """
SELECT f.signature FROM (""" + OUR_FUNCTIONS + """) AS f
WHERE has_schema_privilege(%(role)s, f.schema, 'USAGE') AND has_function_privilege(%(role)s, f.oid, 'EXECUTE')
"""
RELATION_GRANTS = """
SELECT r.name, privilege
FROM (""" + OUR_RELATIONS + """) AS r,
     unnest(CASE WHEN r.is_sequence THEN %(sequence_privileges)s::text[] ELSE %(table_privileges)s::text[] END) AS privilege
WHERE has_schema_privilege(%(role)s, r.schema, 'USAGE')
  AND CASE WHEN r.is_sequence THEN has_sequence_privilege(%(role)s, r.oid, privilege)
           ELSE has_table_privilege(%(role)s, r.oid, privilege)
                OR (privilege = ANY(%(column_privileges)s) AND has_any_column_privilege(%(role)s, r.oid, privilege))
      END
"""
SCHEMA_GRANTS = """
SELECT n.nspname AS name, privilege
FROM pg_catalog.pg_namespace AS n, unnest(%(schema_privileges)s::text[]) AS privilege
WHERE n.nspname = ANY(%(schemas)s) AND n.nspname <> 'public' AND has_schema_privilege(%(role)s, n.oid, privilege)
"""


@dataclass
class Rights:
    functions: set[str] = field(default_factory=set)
    relations: dict[str, set[str]] = field(default_factory=dict)
    schemas: dict[str, set[str]] = field(default_factory=dict)


def access_differences(conn: psycopg.Connection[Any]) -> list[str]:
    """Every way the catalog and the access table disagree, one line each; [] when they agree.
    `conn` may be any role that can read the catalog."""
    params = _params()
    functions = conn.execute(OUR_FUNCTIONS, params).fetchall()
    relations = conn.execute(OUR_RELATIONS, params).fetchall()
    schemas = [r["nspname"] for r in conn.execute(
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%(schemas)s) AND nspname <> 'public'", params)]
    present = {f["signature"] for f in functions}
    differences = [f"the table lists {signature}, the database has no such function"
                   for signature in sorted(_listed() - present - _absent_allowed(conn))]
    for role in _roles_to_check(conn):
        expected = _expected(conn, role, functions, relations, schemas)
        actual = _actual(conn, role)
        differences += _compare(role, expected, actual)
    return differences


def _params(role: str | None = None) -> dict[str, Any]:
    return {"schemas": list(OUR_SCHEMAS), "role": role, "table_privileges": list(TABLE_PRIVILEGES),
            "sequence_privileges": list(SEQUENCE_PRIVILEGES), "column_privileges": list(COLUMN_PRIVILEGES),
            "schema_privileges": list(SCHEMA_PRIVILEGES)}


def _listed() -> set[str]:
    return OWNER_ONLY_CALLS | USER_CALLS | WORKER_CALLS


def _absent_allowed(conn: psycopg.Connection[Any]) -> set[str]:
    row = conn.execute("SELECT count(*) AS n FROM pg_catalog.pg_extension WHERE extname = 'plpython3u'").fetchone()
    return set() if row and row["n"] else PLPYTHON_CALLS


def _roles_to_check(conn: psycopg.Connection[Any]) -> list[str]:
    """The roles that exist, but neither superusers nor the owner (nor members of it): those
    may do everything by design."""
    rows = conn.execute(
        """
        SELECT r.rolname FROM pg_catalog.pg_roles AS r, pg_catalog.pg_namespace AS n
        WHERE r.rolname = ANY(%(roles)s) AND n.nspname = 'scene_images_internal'
          AND NOT r.rolsuper AND NOT pg_catalog.pg_has_role(r.oid, n.nspowner, 'USAGE')
        """,
        {"roles": [*CLIENT_ROLES, *OTHER_ROLES]},
    ).fetchall()
    found = {r["rolname"] for r in rows}
    return [role for role in (*CLIENT_ROLES, *OTHER_ROLES) if role in found or role == "public"]


def _expected(conn: psycopg.Connection[Any], role: str, functions: list[dict[str, Any]],
              relations: list[dict[str, Any]], schemas: list[str]) -> Rights:
    bases, reads_all = _memberships(conn, role)
    expected = Rights()
    for base in bases:
        entry = ACCESS[base]
        expected.functions |= entry["functions"]
        for name, privileges in entry["relations"].items():
            expected.relations.setdefault(name, set()).update(privileges)
        for name, privileges in entry["schemas"].items():
            if name in schemas:
                expected.schemas.setdefault(name, set()).update(privileges)
    public_names = {signature.partition("(")[0] for signature in expected.functions}
    expected.functions = {f["signature"] for f in functions
                          if f["signature"] in expected.functions
                          or (f["schema"] == PRIVATE_SCHEMA and f["name"] in public_names)}
    if reads_all:  # "as if having SELECT rights on those objects, and USAGE rights on all schemas"
        for relation in relations:
            expected.relations.setdefault(relation["name"], set()).add("SELECT")
        for schema in schemas:
            expected.schemas.setdefault(schema, set()).add("USAGE")
    expected.relations = {name: privileges for name, privileges in expected.relations.items()
                          if name in {r["name"] for r in relations}}
    return expected


def _memberships(conn: psycopg.Connection[Any], role: str) -> tuple[set[str], bool]:
    """The client roles whose rights `role` has (itself included), and whether it reads all data."""
    if role == "public":
        return set(), False
    rows = conn.execute(
        "SELECT r.rolname FROM pg_catalog.pg_roles AS r WHERE r.rolname = ANY(%s) AND pg_catalog.pg_has_role(%s, r.oid, 'USAGE')",
        ([*CLIENT_ROLES, PG_READ_ALL_DATA], role),
    ).fetchall()
    names = {r["rolname"] for r in rows}
    return names - {PG_READ_ALL_DATA}, PG_READ_ALL_DATA in names


def _actual(conn: psycopg.Connection[Any], role: str) -> Rights:
    params = _params(role)
    actual = Rights(functions={r["signature"] for r in conn.execute(CALLABLE, params)})
    for row in conn.execute(RELATION_GRANTS, params):
        actual.relations.setdefault(row["name"], set()).add(row["privilege"])
    for row in conn.execute(SCHEMA_GRANTS, params):
        actual.schemas.setdefault(row["name"], set()).add(row["privilege"])
    return actual


def _compare(role: str, expected: Rights, actual: Rights) -> list[str]:
    who = "PUBLIC" if role == "public" else role
    lines = [f"{who} may call {f}, the table says no" for f in sorted(actual.functions - expected.functions)]
    lines += [f"{who} may not call {f}, the table says it may" for f in sorted(expected.functions - actual.functions)]
    for kind, want, have in (("relation", expected.relations, actual.relations),
                             ("schema", expected.schemas, actual.schemas)):
        for name in sorted(set(want) | set(have)):
            extra, missing = have.get(name, set()) - want.get(name, set()), want.get(name, set()) - have.get(name, set())
            if extra:
                lines.append(f"{who} holds {', '.join(sorted(extra))} on {kind} {name}, the table says no")
            if missing:
                lines.append(f"{who} lacks {', '.join(sorted(missing))} on {kind} {name}, the table says it holds them")
    return lines


# Every function of ours (but trigger functions, which cannot be called), with a statement
# that calls it with NULL arguments of its exact types, schema-qualified so that nothing the
# caller planted in pg_temp is picked up by our own statement.
NULL_CALLS = """
SELECT n.nspname AS schema, p.proname AS name,
       CASE n.nspname WHEN 'public' THEN '' ELSE n.nspname || '.' END || p.proname
           || '(' || replace(pg_catalog.oidvectortypes(p.proargtypes), ', ', ',') || ')' AS signature,
       format('SELECT %%I.%%I(%%s)', n.nspname, p.proname,
              (SELECT coalesce(string_agg(format('NULL::%%I.%%I', tn.nspname, t.typname), ', ' ORDER BY a.n), '')
               FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(type, n)
               JOIN pg_catalog.pg_type AS t ON t.oid = a.type
               JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.typnamespace)) AS call
FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s) AND p.prorettype <> 'pg_catalog.trigger'::regtype
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')
  AND (NOT %(callable_only)s OR (has_schema_privilege(n.oid, 'USAGE') AND has_function_privilege(p.oid, 'EXECUTE')))
ORDER BY 3
"""
def null_calls(conn: psycopg.Connection[Any], schemas: tuple[str, ...] = OUR_SCHEMAS, *,
               callable_only: bool = False) -> list[dict[str, Any]]:
    """NULL_CALLS for `schemas`; `callable_only`: those the connected role may execute."""
    return conn.execute(NULL_CALLS, {"schemas": list(schemas), "callable_only": callable_only}).fetchall()
