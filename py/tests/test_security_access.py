"""Who may do what, called as PostgREST calls: one transaction per request with
`SET LOCAL ROLE <role>` and `request.jwt.claims` set locally. Users cannot write into, read or
probe others' projects (nor ownerless ones); anon gets nothing; service_role sees everything
but no configuration; no client role reaches the settings. Storage secrets never come back in
a row, an error message or configure output. The catalog test pins the whole access table the
README shows (access_table.ACCESS), the same check the Supabase-shaped installs get.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures")  # its asserts are imported before the plugin loads

from access_table import CLIENT_ROLES, access_differences
from launchers import moto_server
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from security_fixtures import (
    DictConnection,
    FetchSettings,
    StorageRoot,
    enqueue,
    message_texts,
    primary,
    refused,
    row_json,
    snapshot,
    store,
)
from sources import ImageSourceServer
from supabase_storage_standin import StorageStandIn

pytest_plugins = ["client_fixtures", "security_fixtures", "supabase_cluster"]


@pytest.fixture(scope="module", params=["plain", "supabase"])
def conninfo(request: pytest.FixtureRequest) -> str:
    """Every test here runs twice: on the plain test database, and on the full install of the
    Supabase-shaped database (tests/supabase_cluster.py), whose default privileges would hand
    our objects to anon, authenticated and service_role if the deploy let them."""
    if request.param == "plain":
        return ""  # the PG* environment the Makefile sets
    install = request.getfixturevalue("supabase_installs")["full"]
    cluster = install.cluster
    return f"host={cluster.socket_dir} port={cluster.port} user={install.owner} dbname={install.dbname}"


def test_access_table_matches_the_catalog(db: DictConnection) -> None:
    differences = access_differences(db)
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences)


# --- as PostgREST ----------------------------------------------------------------------------


@contextmanager
def as_client(conn: DictConnection, role: str, claims: object) -> Iterator[DictConnection]:
    """One PostgREST request: a transaction with the role and the JWT claims set locally."""
    with conn.transaction():
        conn.execute(
            "SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
            (role, "" if claims is None else json.dumps(claims)),
        )
        yield conn


def _user(sub: uuid.UUID) -> dict[str, str]:
    return {"sub": str(sub), "role": "authenticated"}


@pytest.fixture
def client(conninfo: str) -> Iterator[DictConnection]:
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def people(db: DictConnection) -> dict[str, Any]:
    """alice and bob, each owning one project, plus a project nobody owns."""
    alice, bob = uuid.uuid4(), uuid.uuid4()
    projects = {}
    for name, owner in (("alice", alice), ("bob", bob), ("nobody", None)):
        projects[name] = db.execute(
            "INSERT INTO projects (name, owner_id, master_json) VALUES (%s, %s, '{\"scenes\": {}}') RETURNING id",
            (name, owner),
        ).fetchone()["id"]
    return {"alice": alice, "bob": bob, "projects": projects}


def _seed_row(db: DictConnection, project_id: uuid.UUID) -> None:
    """A version 1 of scene s1, so rollbacks have something to aim at."""
    db.execute(
        "INSERT INTO scene_images (project_id, scene_id, storage_path, storage_url, file_size, sha256, width, height)"
        " VALUES (%s, 's1', %s, 'http://127.0.0.1:9/seed.png', 1, repeat('a', 64), 1, 1)",
        (project_id, f"projects/{project_id}/scenes/s1_seed.png"),
    )


WRITES = {
    "store_scene_image": lambda c, p, url: store(c, p, "s2", url),
    "store_scene_image_fallback": lambda c, p, url: c.execute(
        "SELECT * FROM store_scene_image(%s, 's2', %s, NULL, 'test_gen', '{}', fallback => true)", (p, url)).fetchone(),
    "store_scene_images": lambda c, p, url: c.execute(
        "SELECT * FROM store_scene_images(%s, %s)", (p, Jsonb([{"scene_id": "s2", "source_url": url}]))).fetchall(),
    "enqueue_scene_image": lambda c, p, url: enqueue(c, p, "s2", url),
    "enqueue_scene_images": lambda c, p, url: c.execute(
        "SELECT * FROM enqueue_scene_images(%s, %s)", (p, Jsonb([{"scene_id": "s2", "source_url": url}]))).fetchall(),
    "set_current_scene_image": lambda c, p, url: c.execute(
        "SELECT * FROM set_current_scene_image(%s, 's1', 1)", (p,)).fetchone(),
}


@pytest.mark.parametrize("target", ["bob", "missing"])
@pytest.mark.parametrize("write", sorted(WRITES))
def test_user_cannot_write_into_a_project_that_is_not_theirs(
    db: DictConnection, client: DictConnection, people: dict[str, Any], storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer, write: str, target: str,
) -> None:
    project = people["projects"]["bob"] if target == "bob" else uuid.uuid4()
    _seed_row(db, people["projects"]["bob"])
    with refused(db, project, storage, "42501") as caught, as_client(client, "authenticated", _user(people["alice"])):
        WRITES[write](client, project, source.url("/img.png"))
    # "Not yours" and "missing" read alike, so the answer tells nothing about others' projects.
    message = primary(caught.value)
    assert message.endswith(f"project {project} does not exist or does not belong to the caller")
    assert source.requests == []


@pytest.mark.parametrize(
    "claims",
    [None, {"role": "authenticated"}, {"sub": "not-a-uuid"}, {"sub": None}, {"sub": ""},
     {"sub": str(uuid.UUID(int=0))}],
    ids=["no-claims", "no-sub", "sub-not-uuid", "sub-null", "sub-empty", "sub-nil-uuid"],
)
@pytest.mark.parametrize("write", ["store_scene_image", "store_scene_images", "enqueue_scene_image"])
def test_caller_without_a_valid_sub_cannot_write_into_an_ownerless_project(
    db: DictConnection, client: DictConnection, people: dict[str, Any], storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer, write: str, claims: object,
) -> None:
    # owner_id NULL (made by an admin) once compared equal to an absent request_uid() (NULL).
    project = people["projects"]["nobody"]
    with refused(db, project, storage, "42501"), as_client(client, "authenticated", claims):
        WRITES[write](client, project, source.url("/img.png"))
    assert source.requests == []


def test_user_cannot_read_or_retry_another_users_job(
    db: DictConnection, client: DictConnection, people: dict[str, Any], fetch_settings: FetchSettings,
) -> None:
    bob_project = people["projects"]["bob"]
    with as_client(client, "authenticated", _user(people["bob"])):
        job = enqueue(client, bob_project, "s1", "http://127.0.0.1:9/a.png")
    db.execute("UPDATE scene_images_internal.scene_image_jobs SET status = 'failed' WHERE id = %s", (job["id"],))
    for call in ("get_scene_image_job", "retry_scene_image_job"):
        # Answered exactly like a missing job: a user learns nothing about others' jobs.
        with refused(db, bob_project, None, "SIJ01"), as_client(client, "authenticated", _user(people["alice"])):
            client.execute(f"SELECT * FROM {call}(%s)", (job["id"],))
    assert db.execute("SELECT status FROM scene_images_internal.scene_image_jobs WHERE id = %s",
                      (job["id"],)).fetchone()["status"] == "failed"


def test_users_store_into_their_own_projects_and_see_nothing_of_others(
    db: DictConnection, client: DictConnection, people: dict[str, Any], storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer,
) -> None:
    projects = people["projects"]
    for name, path in (("alice", "/img.png"), ("bob", "/img.jpg")):
        with as_client(client, "authenticated", _user(people[name])):
            store(client, projects[name], "s1", source.url(path))
    with as_client(client, "authenticated", _user(people["alice"])):
        for relation in ("scene_images", "current_scene_images"):
            seen = {r["project_id"] for r in client.execute(f"SELECT project_id FROM {relation}")}
            assert seen == {projects["alice"]}, relation
        assert [r["id"] for r in client.execute("SELECT id FROM projects")] == [projects["alice"]]
        assert client.execute("SELECT get_scene_image_url(%s, 's1') AS u", (projects["bob"],)).fetchone()["u"] is None
        assert client.execute("SELECT * FROM get_scene_image_history(%s, 's1')", (projects["bob"],)).fetchall() == []
        # Writes to bob's project row match nothing; giving her own project away is refused.
        assert client.execute("UPDATE projects SET master_json = '{}' WHERE id = %s", (projects["bob"],)).rowcount == 0
        assert client.execute("DELETE FROM projects WHERE id = %s", (projects["bob"],)).rowcount == 0
    alice = _user(people["alice"])
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_client(client, "authenticated", alice):
        client.execute("UPDATE projects SET owner_id = %s WHERE id = %s", (people["bob"], projects["alice"]))
    bob = db.execute("SELECT owner_id, master_json FROM projects WHERE id = %s", (projects["bob"],)).fetchone()
    assert bob["owner_id"] == people["bob"] and "s1" in bob["master_json"]["scenes"]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM projects",
        "SELECT * FROM scene_images",
        "SELECT * FROM current_scene_images",
        "SELECT get_scene_image_url(%(p)s, 's1')",
        "SELECT * FROM get_scene_image_history(%(p)s, 's1')",
        "SELECT * FROM store_scene_image(%(p)s, 's2', 'http://127.0.0.1:9/a.png')",
        "SELECT * FROM store_scene_images(%(p)s, '[]')",
        "SELECT * FROM enqueue_scene_image(%(p)s, 's2', 'http://127.0.0.1:9/a.png')",
        "SELECT * FROM set_current_scene_image(%(p)s, 's1', 1)",
        "SELECT get_scene_image_queue_counts()",
        "INSERT INTO projects (name) VALUES ('anon was here')",
    ],
)
def test_anon_gets_nothing_even_with_a_users_claims(
    db: DictConnection, client: DictConnection, people: dict[str, Any], statement: str,
) -> None:
    project = people["projects"]["alice"]
    _seed_row(db, project)
    with refused(db, project, None, "42501"), as_client(client, "anon", _user(people["alice"])):
        client.execute(statement, {"p": project})


def test_service_role_sees_and_stores_into_every_project_but_unknown_ones(
    db: DictConnection, client: DictConnection, people: dict[str, Any], storage: StorageRoot,
    fetch_settings: FetchSettings, source: ImageSourceServer,
) -> None:
    projects = people["projects"]
    for name in ("alice", "bob"):
        _seed_row(db, projects[name])
    with as_client(client, "service_role", {"role": "service_role"}):
        seen = {r["project_id"] for r in client.execute("SELECT project_id FROM scene_images")}
        assert {projects["alice"], projects["bob"]} <= seen
        row = store(client, projects["nobody"], "s1", source.url("/img.png"))
    assert row["project_id"] == projects["nobody"]
    missing = uuid.uuid4()
    with refused(db, missing, storage, "SIP01"), as_client(client, "service_role", {"role": "service_role"}):
        store(client, missing, "s1", source.url("/img.png"))


CONFIGURATION_STATEMENTS = [
    "SELECT * FROM scene_images_internal.settings",
    "SELECT * FROM scene_images_internal.scene_image_jobs",
    "UPDATE scene_images_internal.settings SET value = '{}'",
    "SELECT configure_scene_image_fetch('{\"allow_private_networks\": true}')",
    "SELECT configure_scene_image_storage('file', '{\"root\": \"/tmp\", \"public_base_url\": \"http://127.0.0.1:9\"}')",
    "SELECT * FROM sweep_orphaned_scene_objects('0 seconds', false)",
    "SELECT get_scene_image_worker_settings()",
    "SELECT configure_scene_image_limits('{\"pending_jobs_per_project\": 1000000}')",
    "SELECT scene_images_internal.check_scene_image_request(NULL, NULL, NULL, NULL, NULL, NULL)",
    "SELECT * FROM scene_images_internal.project_queue_locks FOR UPDATE",
]


@pytest.mark.parametrize(
    ("role", "statement"),
    [(role, statement) for role in CLIENT_ROLES for statement in CONFIGURATION_STATEMENTS
     # Workers read their settings (secrets included) by design: the access table says so.
     if not (role == "scene_images_worker" and "get_scene_image_worker_settings" in statement)],
)
def test_no_client_role_reads_settings_or_configures(
    db: DictConnection, client: DictConnection, people: dict[str, Any], role: str, statement: str,
) -> None:
    before = db.execute("SELECT name, value FROM scene_images_internal.settings ORDER BY name").fetchall()
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_client(client, role, _user(people["alice"])):
        client.execute(statement)
    assert db.execute("SELECT name, value FROM scene_images_internal.settings ORDER BY name").fetchall() == before


# --- secrets ---------------------------------------------------------------------------------


def _everything_stored_about(db: DictConnection, project_id: uuid.UUID) -> str:
    """The JSON of every row that mentions the project: images, the project, its jobs."""
    rows = [
        *db.execute("SELECT * FROM scene_images WHERE project_id = %s", (project_id,)).fetchall(),
        *db.execute("SELECT * FROM projects WHERE id = %s", (project_id,)).fetchall(),
        *db.execute(
            "SELECT * FROM scene_images_internal.scene_image_jobs WHERE project_id = %s", (project_id,)
        ).fetchall(),
    ]
    return "\n".join(row_json(row) for row in rows)


@pytest.fixture(scope="module")
def moto() -> Iterator[Any]:
    with moto_server() as server:
        yield server


def test_s3_secrets_never_appear_in_rows_messages_or_configure_output(
    db: DictConnection, project_id: uuid.UUID, moto: Any, restore_settings: None,
    fetch_settings: FetchSettings, source: ImageSourceServer,
) -> None:
    key_id, secret = f"AKIA{secrets.token_hex(8).upper()}", f"s3-secret-{secrets.token_hex(16)}"
    settings = {**moto.s3_settings(f"sec-{secrets.token_hex(6)}"), "access_key_id": key_id, "secret_access_key": secret}
    described = db.execute("SELECT configure_scene_image_storage('s3', %s) AS d", (Jsonb(settings),)).fetchone()["d"]
    assert described["settings"]["bucket"] == settings["bucket"]
    texts = [json.dumps(described)]
    store(db, project_id, "s1", source.url("/img.png"), metadata={"note": "stored through s3"})
    # Refusals that name the backend: unreachable at configure time, and a bucket that vanished.
    unreachable = {**settings, "endpoint_url": "http://127.0.0.1:9"}
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT configure_scene_image_storage('s3', %s)", (Jsonb(unreachable),))
    texts.append(message_texts(caught.value))
    with refused(db, project_id, None, "SIS02") as vanished:
        _drop_bucket(moto, settings)
        store(db, project_id, "s2", source.url("/img.jpg"))
    texts.append(message_texts(vanished.value))
    texts.append(_everything_stored_about(db, project_id))
    for text in texts:
        assert secret not in text and key_id not in text


def _drop_bucket(moto: Any, settings: dict[str, str]) -> None:
    import boto3

    s3 = boto3.resource(
        "s3", endpoint_url=moto.endpoint_url, region_name=settings["region"],
        aws_access_key_id=settings["access_key_id"], aws_secret_access_key=settings["secret_access_key"],
    )
    bucket = s3.Bucket(settings["bucket"])
    bucket.objects.all().delete()
    bucket.delete()


def test_supabase_key_never_appears_in_rows_messages_or_configure_output(
    db: DictConnection, project_id: uuid.UUID, restore_settings: None, fetch_settings: FetchSettings,
    source: ImageSourceServer,
) -> None:
    key, wrong_key = f"service-role-{secrets.token_hex(16)}", f"forged-{secrets.token_hex(16)}"
    texts = []
    with StorageStandIn(service_key=key) as standin:
        with pytest.raises(psycopg.Error) as wrong:  # a wrong key is refused without being repeated
            db.execute("SELECT configure_scene_image_storage('supabase', %s)",
                       (Jsonb({**standin.backend_settings(), "service_key": wrong_key}),))
        assert wrong.value.sqlstate == "SIS02"
        texts.append(message_texts(wrong.value))
        described = db.execute("SELECT configure_scene_image_storage('supabase', %s) AS d",
                               (Jsonb(standin.backend_settings()),)).fetchone()["d"]
        texts.append(json.dumps(described))
        store(db, project_id, "s1", source.url("/img.png"))
    # The stand-in is gone: the failure, and the fallback that queues instead, name no key.
    with refused(db, project_id, None, "SIS01") as down:
        store(db, project_id, "s2", source.url("/img.jpg"))
    texts.append(message_texts(down.value))
    outcome = db.execute(
        "SELECT * FROM store_scene_image(%s, 's2', %s, NULL, 'test_gen', '{}', fallback => true)",
        (project_id, source.url("/img.jpg")),
    ).fetchone()
    assert outcome is not None and outcome["stored"] is False and outcome["sqlstate"] == "SIS01"
    texts.append(row_json(outcome))
    texts.append(_everything_stored_about(db, project_id))
    assert all(key not in text and wrong_key not in text for text in texts)
    assert "s1" in _everything_stored_about(db, project_id)
    assert snapshot(db, project_id, None).jobs  # the fallback's job is among the rows searched
