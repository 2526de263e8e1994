"""The SQL text of the client: one named statement per stored function.

Arguments go by name (`fn(project_id => ...)`): parameter names are the API, so a new
defaulted parameter on the server breaks no call. Values are always bound separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from .models import SceneImage, SceneImageJob, column_names

# Select named columns, not `*`: a column added to the table later must not break class_row.
_IMAGE_COLUMNS = ", ".join(f"r.{name}" for name in column_names(SceneImage))
_JOB_COLUMNS = ", ".join(f"r.{name}" for name in column_names(SceneImageJob))
# The arguments of one store request (SceneImageRequest), shared by store and enqueue.
_REQUEST_ARGUMENTS = """
    project_id => %(project_id)s::uuid,
    scene_id => %(scene_id)s::text,
    source_url => %(source_url)s::text,
    prompt => %(prompt)s::text,
    provider => %(provider)s::text,
    metadata => %(metadata)s::jsonb"""

STORE_SCENE_IMAGE = f"""
SELECT {_IMAGE_COLUMNS}
FROM public.store_scene_image({_REQUEST_ARGUMENTS}) AS r
"""

# WITH ORDINALITY: rows come back in request order by contract, not by accident of the plan.
STORE_SCENE_IMAGES = f"""
SELECT {_IMAGE_COLUMNS}
FROM public.store_scene_images(
    project_id => %(project_id)s::uuid,
    requests => %(requests)s::jsonb
) WITH ORDINALITY AS r
ORDER BY r.ordinality
"""

GET_SCENE_IMAGE_URL = """
SELECT public.get_scene_image_url(
    project_id => %(project_id)s::uuid,
    scene_id => %(scene_id)s::text
)
"""

GET_SCENE_IMAGE_HISTORY = f"""
SELECT {_IMAGE_COLUMNS}
FROM public.get_scene_image_history(
    project_id => %(project_id)s::uuid,
    scene_id => %(scene_id)s::text
) AS r
ORDER BY r.version
"""

SET_CURRENT_SCENE_IMAGE = f"""
SELECT {_IMAGE_COLUMNS}
FROM public.set_current_scene_image(
    project_id => %(project_id)s::uuid,
    scene_id => %(scene_id)s::text,
    version => %(version)s::integer
) AS r
"""

CONFIGURE_SCENE_IMAGE_STORAGE = """
SELECT public.configure_scene_image_storage(
    backend => %(backend)s::text,
    settings => %(settings)s::jsonb
)
"""

CONFIGURE_SCENE_IMAGE_FETCH = """
SELECT public.configure_scene_image_fetch(
    settings => %(settings)s::jsonb
)
"""

CONFIGURE_SCENE_IMAGE_LIMITS = """
SELECT public.configure_scene_image_limits(
    settings => %(settings)s::jsonb
)
"""

# Projects are a plain table (no stored function): row-level security decides what a caller
# sees. Which table, and what its columns are called, the deploy decided (an app's own table may
# be adopted): get_scene_image_projects_table() tells, and projects_statements() follows it.
GET_SCENE_IMAGE_PROJECTS_TABLE = """
SELECT public.get_scene_image_projects_table()
"""


@dataclass(frozen=True)
class ProjectsStatements:
    get_master_json: sql.Composed
    create_project: sql.Composed


def projects_statements(table: dict[str, str]) -> ProjectsStatements:
    """The project statements for `table`, what get_scene_image_projects_table() answered. Its
    `table` is already quoted by the server (format('%I.%I')); the columns are quoted here."""
    names = {
        "table": sql.SQL(table["table"]),
        "master_json": sql.Identifier(table["master_json_column"]),
        "owner": sql.Identifier(table["owner_column"]),
        "name": sql.Identifier(table["name_column"]),
    }
    return ProjectsStatements(
        get_master_json=sql.SQL(
            "SELECT p.{master_json} FROM {table} AS p WHERE p.id = %(project_id)s::uuid"
        ).format(**names),
        create_project=sql.SQL(
            "INSERT INTO {table} AS p ({name}, {master_json}) VALUES (%(name)s::text, %(master_json)s::jsonb)"
            " RETURNING p.id, p.{name} AS name, p.{master_json} AS master_json, p.{owner} AS owner_id,"
            " (to_jsonb(p) ->> 'created_at')::timestamptz AS created_at"  # an adopted table may have none
        ).format(**names),
    )

# As JSON, the way PostgREST renders it: one decoder (StoreOutcome.from_json) for both transports.
STORE_SCENE_IMAGE_OR_ENQUEUE = f"""
SELECT to_jsonb(o) FROM public.store_scene_image({_REQUEST_ARGUMENTS},
    fallback => true
) AS o
"""

ENQUEUE_SCENE_IMAGE = f"""
SELECT {_JOB_COLUMNS}
FROM public.enqueue_scene_image({_REQUEST_ARGUMENTS}) AS r
"""

ENQUEUE_SCENE_IMAGES = f"""
SELECT {_JOB_COLUMNS}
FROM public.enqueue_scene_images(
    project_id => %(project_id)s::uuid,
    requests => %(requests)s::jsonb
) WITH ORDINALITY AS r
ORDER BY r.ordinality
"""

GET_SCENE_IMAGE_JOB = f"""
SELECT {_JOB_COLUMNS} FROM public.get_scene_image_job(job_id => %(job_id)s::uuid) AS r
"""

RETRY_SCENE_IMAGE_JOB = f"""
SELECT {_JOB_COLUMNS} FROM public.retry_scene_image_job(job_id => %(job_id)s::uuid) AS r
"""

SWEEP_ORPHANED_SCENE_OBJECTS = """
SELECT path FROM public.sweep_orphaned_scene_objects(
    older_than => %(older_than)s::interval,
    dry_run => %(dry_run)s::boolean
) AS path
"""

# The queue worker's statements (scene_images.worker).
CLAIM_JOBS = """
SELECT * FROM public.claim_scene_image_jobs(
    worker => %(worker)s::text,
    max_jobs => %(max_jobs)s::integer,
    lease => %(lease)s::interval
)
"""

COMPLETE_JOB = """
SELECT * FROM public.complete_scene_image_job(
    job_id => %(job_id)s::uuid,
    worker => %(worker)s::text,
    storage_path => %(storage_path)s::text,
    storage_url => %(storage_url)s::text,
    file_size => %(file_size)s::bigint,
    content_type => %(content_type)s::text,
    sha256 => %(sha256)s::text,
    width => %(width)s::integer,
    height => %(height)s::integer,
    source => %(source)s::jsonb
)
"""

FAIL_JOB = """
SELECT * FROM public.fail_scene_image_job(
    job_id => %(job_id)s::uuid,
    worker => %(worker)s::text,
    sqlstate => %(sqlstate)s::text,
    message => %(message)s::text
)
"""

WORKER_SETTINGS = """
SELECT public.get_scene_image_worker_settings() AS settings
"""

QUEUE_COUNTS = """
SELECT public.get_scene_image_queue_counts() AS counts
"""
