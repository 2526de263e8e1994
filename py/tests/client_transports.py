"""The two ways a client reaches the SQL API, for the client tests; test modules load them with
`pytest_plugins = ["client_fixtures", "client_transports"]`.

- `transport`: each transport in turn (module scope, ids `direct` and `rpc`), as a `Transport`
  holding the callers a test needs. `direct` is SceneImageStore over psycopg on the test
  database; `rpc` is SupabaseSceneImageStore through supabase-py against the PostgREST RPC
  stand-in (postgrest_rpc_standin.py, NOT PostgREST), which runs each call on the same database
  under the role its JWT names.
- `direct_transport` / `rpc_transport`: one of them, for tests of that transport alone.
- `user_id`: the signed-in user the transports' `user` acts as (module scope);
  `users_project`: a fresh project that user owns.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from client_sources import DictConnection
from postgrest_rpc_standin import PostgrestRpcStandin, make_jwt
from psycopg_pool import ConnectionPool
from supabase import ClientOptions, create_client

from scene_images import SceneImageStore, SupabaseSceneImageStore

JWT_SECRET = "stand-in-jwt-secret-of-at-least-32-characters"
TRANSPORTS = ["direct", "rpc"]

Client = SceneImageStore | SupabaseSceneImageStore


@dataclass(frozen=True)
class Transport:
    """The callers of one transport, each as an application would hold it.

    - `store`: the application's backend. direct: the database owner's connection pool;
      rpc: Supabase's service_role key.
    - `owner`: may configure storage and fetching. direct: the same pool; rpc: the database
      owner's role, which a self-hosted PostgREST could switch to.
    - `user`: a signed-in Supabase user (`user_id`) who owns `users_project` and nothing else.
    - `service_role`: Supabase's service_role, which reaches every project but no settings.
    """

    name: str
    store: Client
    owner: Client
    user: Client
    service_role: Client


def _role_pool(conninfo: str, role: str, claims: dict[str, Any]) -> ConnectionPool[Any]:
    """A pool whose sessions act as `role` with `claims` in request.jwt.claims, as PostgREST
    sets them for a request."""

    def configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            "SELECT set_config('role', %s, false), set_config('request.jwt.claims', %s, false)",
            (role, json.dumps(claims)),
        )
        conn.commit()

    pool: ConnectionPool[Any] = ConnectionPool(conninfo, min_size=1, max_size=2, configure=configure, open=True)
    pool.wait()
    return pool


@pytest.fixture(scope="module")
def user_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def users_project(db: DictConnection, user_id: uuid.UUID) -> uuid.UUID:
    row = db.execute(
        "INSERT INTO projects (name, owner_id) VALUES ('signed-in user', %s) RETURNING id", (user_id,)
    ).fetchone()
    assert row is not None
    project: uuid.UUID = row["id"]
    return project


@pytest.fixture(scope="module")
def direct_transport(conninfo: str, user_id: uuid.UUID) -> Iterator[Transport]:
    with ExitStack() as stack:
        owner = stack.enter_context(SceneImageStore(conninfo, max_size=2))
        # SceneImageStore(pool=...) leaves a given pool open: the stack closes these.
        user_pool = stack.enter_context(
            _role_pool(conninfo, "authenticated", {"sub": str(user_id), "role": "authenticated"})
        )
        service_pool = stack.enter_context(_role_pool(conninfo, "service_role", {"role": "service_role"}))
        yield Transport(
            "direct",
            store=owner,
            owner=owner,
            user=SceneImageStore(pool=user_pool),
            service_role=SceneImageStore(pool=service_pool),
        )


@pytest.fixture(scope="module")
def rest_url(conninfo: str) -> Iterator[str]:
    """The PostgREST RPC stand-in on 127.0.0.1, running calls on the test database."""
    standin = PostgrestRpcStandin(conninfo, JWT_SECRET)
    yield standin.start()
    standin.stop()


@pytest.fixture(scope="module")
def rpc_transport(rest_url: str, user_id: uuid.UUID) -> Transport:
    service_role = SupabaseSceneImageStore(rest_url, make_jwt({"role": "service_role"}, JWT_SECRET))
    owner = SupabaseSceneImageStore(rest_url, make_jwt({"role": "postgres"}, JWT_SECRET))
    # A signed-in user: the anon key plus the user's access token, passed as a ready client.
    token = make_jwt({"role": "authenticated", "sub": str(user_id)}, JWT_SECRET)
    options = ClientOptions(headers={"Authorization": f"Bearer {token}"})
    user = SupabaseSceneImageStore(client=create_client(rest_url, make_jwt({"role": "anon"}, JWT_SECRET), options))
    return Transport("rpc", store=service_role, owner=owner, user=user, service_role=service_role)


@pytest.fixture(scope="module", params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Transport:
    """Each transport in turn: the whole client suite runs once per transport."""
    chosen: Transport = request.getfixturevalue(f"{request.param}_transport")
    return chosen
