"""Every documented error reads like PostgreSQL's own: SQLSTATE, message, DETAIL/HINT, and a
CONTEXT that names PostgreSQL's own frames only, never a Python traceback.

The documented errors are the README's table (scene_images_core.error_table, made from
errors.ERRORS and sql_errors.SQL_ERRORS) plus the standard 57014. Each one is provoked for real
through every PL/Python entry point that can raise it: store_scene_image, the fallback store
(store_scene_image(..., fallback)), store_scene_images and process_scene_image_jobs, plus the
owner's sweep_orphaned_scene_objects and configure_scene_image_storage (whose backend check is
PL/Python). The errors only SQL functions raise are checked through those functions too, and a
documented error that no call can raise says why (NOT_RAISED). A new row in the table fails
test_every_documented_error_is_provoked_here until it is provoked here.

Allowed in CONTEXT: the one `PL/pgSQL function ... line N at RAISE` line of the function that
raised and the `SQL function "..." statement N` lines of the SQL wrappers that called it.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from client_sources import as_user, closed_port_url
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from security_fixtures import DictConnection, FetchSettings, StorageRoot, enqueue, server_owned_dir
from sources import ImageSourceServer

from scene_images.errors import from_psycopg
from scene_images_core.error_table import rows
from scene_images_core.sql_errors import error_name

pytest_plugins = ["client_fixtures", "security_fixtures"]

DOCUMENTED = {state for state, _, _ in rows()} | {"57014"}

# Documented, yet no call raises them: they are what a job records, never what a call answers.
NOT_RAISED = {
    "SIC01": "an item cut short because another failed or the call was cancelled; the call answers with "
             "that failure (or 57014), and the external worker records SIC01 on a job it stops",
    "SIJ03": "recorded on a job whose worker stopped without an answer (the claim expires its lease)",
}

# What PostgreSQL itself writes in CONTEXT: the PL/pgSQL statement that raised (or called on), the
# SQL wrappers' statements, and the queries PL/pgSQL ran on its way to the RAISE.
PG_CONTEXT_LINE = re.compile(
    r'PL/pgSQL function [\w.]+\([\w ,]*\) line \d+ at [A-Za-z ]+|SQL function "\w+" statement \d+'
    r'|SQL statement "[^"]*"')
PYTHON_FRAME = re.compile(r"Traceback|PL/Python|line \d+, in ")


def assert_reads_like_postgres(error: psycopg.Error, sqlstate: str, *, plpython: bool = True) -> None:
    """The error's SQLSTATE and client class, and a CONTEXT of PostgreSQL's frames only, one of
    them a RAISE. From a PL/Python function (plpython): the message is named after the error
    table's class (a cancel keeps PostgreSQL's own words), and the RAISE is the only PL/pgSQL
    line: the entry point's own."""
    diag = error.diag
    message = diag.message_primary or ""
    assert error.sqlstate == sqlstate, f"{error.sqlstate}: {message}"
    name = error_name(sqlstate)
    if name is not None:
        mapped = from_psycopg(error)
        assert mapped is not None and type(mapped).__name__ == name
    if plpython and name is not None:
        assert message.startswith(f"{name}: "), message
    elif plpython:
        assert sqlstate == "57014" and (message.startswith("canceling statement due to ")
                                        or message.startswith("QueryCanceled: ")), message
    context = diag.context or ""
    everything = "\n".join(filter(None, [str(error), message, diag.message_detail, diag.message_hint, context]))
    assert not PYTHON_FRAME.search(everything), everything
    lines = context.splitlines()
    assert lines and all(PG_CONTEXT_LINE.fullmatch(line) for line in lines), context
    assert sum(line.endswith(" at RAISE") for line in lines) == 1, context
    if plpython:
        assert [line for line in lines if not line.startswith("SQL function ")] == [
            next(line for line in lines if line.endswith(" at RAISE"))], context


# --- the world a scenario sets up --------------------------------------------------------------

DEFAULT = object()  # the test's own project


@dataclass
class World:
    db: DictConnection
    caller: DictConnection  # the connection the call is made on (the owner, unless a scenario says)
    project_id: uuid.UUID
    source: ImageSourceServer
    other_loopback: ImageSourceServer
    storage: StorageRoot
    fetch_settings: FetchSettings
    stack: ExitStack
    conninfo: str

    def connect(self) -> DictConnection:
        return self.stack.enter_context(psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row))

    def set_storage(self, backend: str, settings: dict[str, str]) -> None:
        """Straight into the settings table: configure_scene_image_storage would refuse these
        (restore_settings puts the real ones back)."""
        self.db.execute("UPDATE scene_images_internal.settings SET value = %s WHERE name = 'storage'",
                        (Jsonb({"backend": backend, "settings": settings}),))


@dataclass(frozen=True)
class Request:
    """What a scenario asks the store entry points; source_url None: a real image on the source."""

    source_url: str | None = None
    scene_id: str = "s1"
    prompt: str | None = None
    project_id: object = DEFAULT
    fallback: bool = True  # for the fallback store: false where fallback would queue instead of failing


Prepare = Callable[[World], Request]


def _unowned_project(w: World) -> Request:
    project = w.db.execute("INSERT INTO projects (name, owner_id) VALUES ('someone else''s', %s) RETURNING id",
                           (uuid.uuid4(),)).fetchone()
    assert project is not None
    w.caller = w.connect()
    as_user(w.caller, uuid.uuid4())
    return Request(project_id=project["id"])


def _host_not_allowed(w: World) -> Request:
    w.fetch_settings(allowed_hosts=["images.example.com"])
    return Request()


def _slow_source(w: World) -> Request:
    w.fetch_settings(timeout_s=1)
    return Request(w.source.url("/silent"))


def _statement_timeout(w: World) -> Request:
    w.caller = w.connect()
    w.caller.execute("SET statement_timeout = '1s'")
    return Request(w.source.url("/silent"))


def _bulk_deadline(w: World) -> Request:
    w.db.execute("SELECT configure_scene_image_limits('{\"bulk_deadline_s\": 1}')")
    return Request(w.source.url("/silent"))


def _misconfigured_storage(w: World) -> Request:
    w.set_storage("file", {"root": "relative/root", "public_base_url": "http://127.0.0.1:9/objects"})
    return Request()


def _unwritable_storage(w: World) -> Request:
    # A root the server (OS user postgres) reaches but cannot write: a directory of root's, 0755
    # (a root it cannot reach at all is SIS02, misconfigured).
    parent = w.stack.enter_context(server_owned_dir("unwritable-storage-"))
    root = parent / "objects"
    root.mkdir(mode=0o755)
    os.chown(root, 0, 0)
    w.set_storage("file", {"root": str(root), "public_base_url": "http://127.0.0.1:9/objects"})
    return Request(fallback=False)


def _overlong_storage_url(w: World) -> Request:
    # Uploaded fine, but the row's storage_url breaks scene_images' length check (2048).
    w.set_storage("file", {"root": str(w.storage.path), "public_base_url": "http://127.0.0.1:9/" + "a" * 2100})
    return Request()


@dataclass(frozen=True)
class Scenario:
    sqlstate: str
    name: str
    prepare: Prepare
    entry_points: tuple[str, ...] = ("store_scene_image", "store_scene_image(fallback)", "store_scene_images")


SCENARIOS = [
    Scenario("22004", "null-project", lambda w: Request(project_id=None)),
    Scenario("22023", "bad-scene-id", lambda w: Request(scene_id="a b")),
    Scenario("23514", "overlong-storage-url", _overlong_storage_url),
    Scenario("42501", "not-the-callers-project", _unowned_project),
    Scenario("54000", "prompt-over-the-limit", lambda w: Request(prompt="x" * (64 * 1024 + 1))),
    Scenario("SIP01", "unknown-project", lambda w: Request(project_id=uuid.uuid4())),
    Scenario("SIU01", "not-http", lambda w: Request("ftp://127.0.0.1/img.png")),
    Scenario("SIU02", "host-not-allowed", _host_not_allowed),
    Scenario("SIU03", "private-address", lambda w: Request(w.other_loopback.url("/img.png"))),
    Scenario("SIU04", "redirect-loop", lambda w: Request(w.source.url("/loop-a"))),
    Scenario("SIF01", "http-404", lambda w: Request(w.source.url("/404"))),
    Scenario("SIF02", "too-large", lambda w: Request(w.source.url("/big"))),
    Scenario("SIF03", "source-timeout", _slow_source),
    Scenario("SIF04", "connection-refused", lambda w: Request(closed_port_url())),
    Scenario("SIF05", "body-cut-short", lambda w: Request(w.source.url("/lying-length"))),
    Scenario("SII01", "not-an-image", lambda w: Request(w.source.url("/html"))),
    Scenario("SII02", "too-many-pixels", lambda w: Request(w.source.url("/bomb.png"))),
    Scenario("SIS01", "storage-failed", _unwritable_storage),
    Scenario("SIS02", "storage-misconfigured", _misconfigured_storage),
    Scenario("57014", "statement-timeout", _statement_timeout),
    Scenario("57014", "bulk-deadline", _bulk_deadline, ("store_scene_images",)),
]


def call(entry_point: str, w: World, request: Request) -> None:
    project = w.project_id if request.project_id is DEFAULT else request.project_id
    url = request.source_url or w.source.url("/img.png")
    if entry_point == "store_scene_image":
        w.caller.execute("SELECT * FROM store_scene_image(project_id => %s, scene_id => %s, source_url => %s,"
                         " prompt => %s)", (project, request.scene_id, url, request.prompt))
    elif entry_point == "store_scene_image(fallback)":
        w.caller.execute("SELECT * FROM store_scene_image(project_id => %s, scene_id => %s, source_url => %s,"
                         " prompt => %s, provider => 'test_gen', metadata => '{}', fallback => %s)",
                         (project, request.scene_id, url, request.prompt, request.fallback))
    else:
        item: dict[str, Any] = {"scene_id": request.scene_id, "source_url": url}
        if request.prompt is not None:
            item["prompt"] = request.prompt
        w.caller.execute("SELECT * FROM store_scene_images(project_id => %s, requests => %s)",
                         (project, Jsonb([item])))


@pytest.fixture
def world(db: DictConnection, project_id: uuid.UUID, conninfo: str, storage: StorageRoot,
          fetch_settings: FetchSettings, source: ImageSourceServer,
          other_loopback: ImageSourceServer) -> Iterator[World]:
    with ExitStack() as stack:
        caller = stack.enter_context(psycopg.connect(conninfo, autocommit=True, row_factory=dict_row))
        yield World(db, caller, project_id, source, other_loopback, storage, fetch_settings, stack, conninfo)
    # process_scene_image_jobs claims any project's jobs: leave none behind for other tests.
    db.execute("DELETE FROM scene_images_internal.scene_image_jobs WHERE project_id = %s", (project_id,))


@pytest.mark.parametrize(
    ("scenario", "entry_point"),
    [(s, e) for s in SCENARIOS for e in s.entry_points],
    ids=[f"{s.sqlstate}-{s.name}-{e}" for s in SCENARIOS for e in s.entry_points],
)
def test_store_errors_have_no_python_traceback(world: World, scenario: Scenario, entry_point: str) -> None:
    request = scenario.prepare(world)
    with pytest.raises(psycopg.Error) as caught:
        call(entry_point, world, request)
    assert_reads_like_postgres(caught.value, scenario.sqlstate)
    diag = caught.value.diag
    if scenario.sqlstate == "23514":  # PostgreSQL's own DETAIL comes through too
        assert (diag.message_detail or "").startswith("Failing row contains"), diag.message_detail
    if scenario.sqlstate == "22023":  # and the argument check's HINT
        assert (diag.message_hint or "").startswith("A scene_id is "), diag.message_hint


# --- process_scene_image_jobs ------------------------------------------------------------------

PROCESS = "SELECT * FROM process_scene_image_jobs(max_jobs => %s)"


def test_process_jobs_refuses_a_bad_max_jobs_without_a_traceback(world: World) -> None:
    with pytest.raises(psycopg.Error) as caught:
        world.caller.execute(PROCESS, (0,))
    assert_reads_like_postgres(caught.value, "22023")


def test_process_jobs_with_misconfigured_storage_fails_without_a_traceback(world: World) -> None:
    enqueue(world.db, world.project_id, "s1", world.source.url("/img.png"))
    _misconfigured_storage(world)
    with pytest.raises(psycopg.Error) as caught:
        world.caller.execute(PROCESS, (1000,))
    assert_reads_like_postgres(caught.value, "SIS02")


def test_process_jobs_cancelled_by_statement_timeout_without_a_traceback(world: World) -> None:
    enqueue(world.db, world.project_id, "s1", world.source.url("/silent"))
    _statement_timeout(world)
    with pytest.raises(psycopg.errors.QueryCanceled) as caught:
        world.caller.execute(PROCESS, (1000,))
    assert_reads_like_postgres(caught.value, "57014")
    assert caught.value.diag.message_primary == "canceling statement due to statement timeout"


# --- the owner's PL/Python functions -----------------------------------------------------------


def test_sweep_refusals_have_no_python_traceback(world: World) -> None:
    with pytest.raises(psycopg.Error) as caught:
        world.caller.execute("SELECT * FROM sweep_orphaned_scene_objects(older_than => '-1 hour')")
    assert_reads_like_postgres(caught.value, "22023")
    _misconfigured_storage(world)
    with pytest.raises(psycopg.Error) as caught:
        world.caller.execute("SELECT * FROM sweep_orphaned_scene_objects(older_than => '1 hour')")
    assert_reads_like_postgres(caught.value, "SIS02")


def test_configure_storage_refused_by_the_backend_has_no_python_traceback(world: World) -> None:
    with pytest.raises(psycopg.Error) as caught:
        world.caller.execute("SELECT configure_scene_image_storage('file', %s)",
                             (Jsonb({"root": "/proc/no-such-dir/objects", "public_base_url": "http://127.0.0.1:9/o"}),))
    assert_reads_like_postgres(caught.value, "SIS02")
    assert "/proc/no-such-dir/objects" in (caught.value.diag.message_primary or "")  # the owner reads it all


# --- the errors SQL functions raise ------------------------------------------------------------

SQL_ONLY = {
    "SIV01": "SELECT * FROM set_current_scene_image(project_id => %(project)s, scene_id => 's1', version => 7)",
    "SIJ01": "SELECT * FROM retry_scene_image_job(job_id => %(random)s)",
    "SIJ02": "SELECT * FROM retry_scene_image_job(job_id => %(job)s)",
    "SIJ04": "SELECT * FROM complete_scene_image_job(%(job)s, 'w', 'p', 'http://x/p', 1, 'image/png', %(sha)s, 1, 1, '{}')",
}


@pytest.mark.parametrize("sqlstate", sorted(SQL_ONLY))
def test_sql_errors_read_like_postgres(world: World, sqlstate: str) -> None:
    job = enqueue(world.db, world.project_id, "s1", world.source.url("/img.png"))
    arguments = {"project": world.project_id, "random": uuid.uuid4(), "job": job["id"], "sha": "0" * 64}
    with pytest.raises(psycopg.Error) as caught:
        world.caller.execute(SQL_ONLY[sqlstate], arguments)
    assert_reads_like_postgres(caught.value, sqlstate, plpython=False)


# --- coverage, and what psql shows -------------------------------------------------------------


def test_every_documented_error_is_provoked_here() -> None:
    provoked = {s.sqlstate for s in SCENARIOS} | set(SQL_ONLY)
    assert provoked.isdisjoint(NOT_RAISED)
    assert provoked | set(NOT_RAISED) == DOCUMENTED


def test_psql_shows_a_refusal_without_python(world: World) -> None:
    done = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c",
         f"SELECT * FROM store_scene_image('{uuid.uuid4()}', 's1', 'http://127.0.0.1:9/img.png')"],
        capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 1
    assert "ERROR:  ProjectNotFound: project " in done.stderr, done.stderr
    assert "CONTEXT:  PL/pgSQL function scene_images_private.store_scene_image(" in done.stderr, done.stderr
    assert not PYTHON_FRAME.search(done.stderr), done.stderr
