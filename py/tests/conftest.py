"""Shared fixtures: the private test database (address from the PG* environment the Makefile sets)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row


@pytest.fixture(scope="session")
def conninfo() -> str:
    # libpq reads PGHOST/PGPORT/PGUSER/PGDATABASE; an empty conninfo means "the environment".
    return ""


@pytest.fixture
def db(conninfo: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def project_id(db: psycopg.Connection[dict[str, Any]]) -> uuid.UUID:
    """A fresh project; tests never share one, so they cannot see each other's rows."""
    row = db.execute(
        "INSERT INTO projects (name, master_json) VALUES (%s, %s) RETURNING id",
        ("pytest", '{"scenes": {}}'),
    ).fetchone()
    assert row is not None
    return row["id"]
