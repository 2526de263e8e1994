"""Turn the core's exceptions into PostgreSQL errors with their documented SQLSTATE.

PL/Python prefixes an uncaught exception's message with its type as `module.Name`, or just
`Name` for builtins. The exceptions raised here are plpy.Error subclasses named after the
error class and placed in builtins, so the client reads `SourceNotAnImage: <url>: <reason>`
instead of `plpy.Error: ...`; the same name is the Python client's exception class.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from scene_images_core.errors import IngestError, ItemFailed
from scene_images_core.sql_errors import error_name


@contextlib.contextmanager
def as_sql_errors(plpy: Any, *, for_owner: bool = False) -> Iterator[None]:
    """Re-raise IngestError (and ValueError from validation) as SQL errors.

    An SQL error of ours (from an argument check, say) keeps its SQLSTATE, message and hint
    and gets its name in front; any other SQL error (a cancel, 57014) passes through untouched.
    Client roles read an error's client_message (no storage address or path); the full message
    goes to the server log. Owner-only functions (for_owner) show it in full.
    """
    try:
        yield
    except plpy.SPIError as error:
        sqlstate = sqlstate_of(error)
        name = error_name(sqlstate)
        if sqlstate is None or name is None:
            raise
        spidata = getattr(error, "spidata", None) or (None, None, None)
        raise sql_error(plpy, name, sqlstate, str(error.args[0]), detail=spidata[1], hint=spidata[2]) from None
    except IngestError as error:
        inner = error.error if isinstance(error, ItemFailed) else error
        name = type(inner).__name__ if isinstance(inner, IngestError) else "IngestError"
        message = error.message if for_owner else error.client_message
        if message != error.message:
            plpy.log(f"{name}: {error.message}")
        hint = inner.hint if isinstance(inner, IngestError) else None  # for every caller: no path in it
        raise sql_error(plpy, name, error.sqlstate, message, hint=hint) from None
    except ValueError as error:
        raise sql_error(plpy, "InvalidArgument", "22023", str(error)) from None


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


def sql_error(plpy: Any, name: str, sqlstate: str, message: str, *,
              detail: str | None = None, hint: str | None = None) -> Exception:
    error_class = type(name, (plpy.Error,), {"__module__": "builtins"})
    error = error_class(message)
    error.sqlstate = sqlstate
    if detail:
        error.detail = detail
    if hint:
        error.hint = hint
    return error
