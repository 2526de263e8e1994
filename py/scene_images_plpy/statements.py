"""Prepared statements, made once per backend process and kept in the function's SD."""

from __future__ import annotations

from typing import Any

Statement = tuple[str, list[str]]


def plan(plpy: Any, cache: dict, statement: Statement) -> Any:
    sql, types = statement
    if sql not in cache:
        cache[sql] = plpy.prepare(sql, types)
    return cache[sql]


# pg_sleep(0) is the cheapest statement that runs CHECK_FOR_INTERRUPTS: while worker threads
# download, the main thread polls it so a cancel or statement timeout is honoured at once.
_INTERRUPTS: Statement = ("SELECT pg_catalog.pg_sleep(0)", [])


def interrupt_poll(plpy: Any, cache: dict) -> Any:
    """A callable that raises (57014) when the query has been cancelled or timed out."""
    interrupts = plan(plpy, cache, _INTERRUPTS)
    return lambda: plpy.execute(interrupts)
