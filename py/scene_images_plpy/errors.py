"""Refusals as results: the PL/Python functions answer with an error instead of raising it.

Why not raise: an exception that leaves a PL/Python function reaches the client with a Python
traceback as its CONTEXT (`PL/Python function "store_scene_image", line 37, in ...`), whatever
the exception, because PostgreSQL's PL/Python adds one whenever the traceback has a frame, and
the function body's own frame is always there. So each PL/Python function (an internal
`scene_images_internal.try_*`, owner-only) returns its result together with four fields,
`sqlstate, message, detail, hint`, all NULL on success; its caller, a PL/pgSQL function (the
SECURITY DEFINER entry point), raises them with `RAISE EXCEPTION USING ERRCODE, MESSAGE, DETAIL,
HINT`, and the client reads an error like any of PostgreSQL's: the CONTEXT names that RAISE line
(and the public SQL wrapper), nothing of Python.

Returning instead of raising is safe because the caller always raises a refusal at once: the
statement then rolls back whatever the attempt wrote (rows of a bulk before the failing item,
a job row) exactly as if the PL/Python function had raised. Objects already uploaded are
deleted by the attempt itself before it returns (the pipeline and jobs modules do that on any
exception), as before. No PL/pgSQL EXCEPTION block is involved: no subtransaction per call,
and a query cancel is never swallowed (see PASSED_ON).

The message format is unchanged: an error class of ours reads `<Name>: <message>`, the name
being the error table's class (and the Python client's exception) for its SQLSTATE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from scene_images_core.errors import IngestError, ItemFailed
from scene_images_core.sql_errors import error_name

T = TypeVar("T")

# A cancelled statement (pg_cancel_backend, statement_timeout) that the attempt saw as an SPIError
# from one of its queries: handed on as the same standard 57014 with PostgreSQL's own message.
# The cancel is not lost: the caller raises it before anything else runs.
PASSED_ON = frozenset({"57014"})

SUCCEEDED: dict[str, None] = {"sqlstate": None, "message": None, "detail": None, "hint": None}


def attempt(plpy: Any, work: Callable[[], T], *, result: str, for_owner: bool = False) -> dict[str, Any]:
    """`{result: work(), sqlstate: None, message: None, detail: None, hint: None}`, or, when
    work raised a refusal (see refusal), `{result: None, **the refusal}`. Any other exception
    (a bug, an unexpected SQL error) propagates with its traceback: that is what it is for.

    Client roles read an IngestError's client_message (no storage address or path); the full
    message goes to the server log. Owner-only functions (for_owner) answer with it in full.
    """
    try:
        value = work()
    except Exception as error:  # plpy.SPIError is an Exception; KeyboardInterrupt is not ours
        refused = refusal(plpy, error, for_owner=for_owner)
        if refused is None:
            raise
        return {result: None, **refused}
    return {result: value, **SUCCEEDED}


def refusal(plpy: Any, error: Exception, *, for_owner: bool = False) -> dict[str, Any] | None:
    """The SQL error an exception stands for, as `sqlstate, message, detail, hint`, or None.

    - an SQL error (plpy.SPIError) with a documented SQLSTATE keeps its message, detail and hint
      and gets its name in front; a cancel (57014) keeps everything as it is;
    - an IngestError (ItemFailed: the failing item's error, named after the item) has its
      SQLSTATE and message, with the hint it carries if any;
    - a ValueError (a validation in the core) is 22023 InvalidArgument.
    """
    if isinstance(error, plpy.SPIError):
        sqlstate = sqlstate_of(error)
        name = error_name(sqlstate)
        if sqlstate is None or (name is None and sqlstate not in PASSED_ON):
            return None
        spidata = getattr(error, "spidata", None) or (None, None, None)
        message = str(error.args[0]) if error.args else sqlstate
        return _refusal(sqlstate, f"{name}: {message}" if name else message, spidata[1], spidata[2])
    if isinstance(error, IngestError):
        inner = error.error if isinstance(error, ItemFailed) else error
        name = type(inner).__name__ if isinstance(inner, IngestError) else "IngestError"
        message = error.message if for_owner else error.client_message
        if message != error.message:
            plpy.log(f"{name}: {error.message}")
        hint = inner.hint if isinstance(inner, IngestError) else None  # for every caller: no path in it
        return _refusal(error.sqlstate, f"{name}: {message}", None, hint)
    if isinstance(error, ValueError):
        return _refusal("22023", f"InvalidArgument: {error}", None, None)
    return None


def refused(sqlstate: str, name: str, message: str) -> dict[str, Any]:
    """A refusal of the PL/Python layer's own (an argument it checks itself)."""
    return _refusal(sqlstate, f"{name}: {message}", None, None)


def _refusal(sqlstate: str, message: str, detail: str | None, hint: str | None) -> dict[str, Any]:
    # RAISE ... USING refuses NULL options, so the caller passes DETAIL and HINT only when set;
    # an empty one counts as none (PostgreSQL would send an empty field).
    return {"sqlstate": sqlstate, "message": message, "detail": detail or None, "hint": hint or None}


def sqlstate_of(error: Exception) -> str | None:
    """An SPIError's SQLSTATE. Only codes PostgreSQL knows get a `sqlstate` attribute; for
    ours (SIP01...) it is packed in spidata[0], six bits a character, as MAKE_SQLSTATE does."""
    known = getattr(error, "sqlstate", None)
    if known is not None:
        return str(known)
    spidata = getattr(error, "spidata", None)
    if not spidata:
        return None
    packed = spidata[0]
    return "".join(chr(((packed >> (6 * i)) & 0x3F) + ord("0")) for i in range(5))
