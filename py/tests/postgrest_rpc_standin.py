"""A stand-in for PostgREST's RPC endpoint, for tests only: it is NOT PostgREST.

It speaks the part of PostgREST's wire format that supabase-py's `client.rpc(fn, args)` uses,
so the Supabase transport can be tested against the real test database without a PostgREST
binary:

- POST /rest/v1/rpc/<fn> with a JSON object of named arguments; `apikey` header required;
  `Authorization: Bearer <JWT>` (HS256, signed with the stand-in's secret) whose `role` claim
  the call runs as (`anon` without one) and whose claims are in `request.jwt.claims`, as
  PostgREST sets them.
- The function is looked up in `public` by name and argument names (unknown: 404 PGRST202),
  the arguments are typed by the function's own signature (json_to_record, like PostgREST),
  and the call uses named notation, in one transaction committed before answering.
- Result: a single composite as a JSON object, setof as an array, a scalar as a JSON scalar.
- Errors: PostgREST's body {"code": SQLSTATE, "message", "details", "hint"}; HTTP 400, except
  42501 (401 for anon, 403 otherwise) and 404 for a missing function.
Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Json

RPC_PATH = re.compile(r"^/rest/v1/rpc/([A-Za-z_][A-Za-z0-9_]*)$")

FIND_FUNCTIONS = """
SELECT p.proname AS name, p.proretset AS returns_set, p.pronargdefaults AS defaulted,
       coalesce(p.proargnames, '{}') AS arg_names,
       ARRAY(SELECT pg_catalog.format_type(t, NULL) FROM unnest(p.proargtypes) WITH ORDINALITY AS a(t, i) ORDER BY i)
           AS arg_types
FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.proname = %s
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_jwt(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWT, what Supabase hands out as anon/service keys and user access tokens."""
    signing_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def _verify_jwt(token: str, secret: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(parts[2])):
        return None
    claims: dict[str, Any] = json.loads(_unb64(parts[1]))
    return claims


@dataclass(frozen=True)
class _Function:
    name: str
    returns_set: bool
    defaulted: int
    arg_names: list[str]
    arg_types: list[str]

    def accepts(self, given: set[str]) -> bool:
        required = set(self.arg_names[: len(self.arg_names) - self.defaulted])
        return required <= given <= set(self.arg_names)


class _ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


class PostgrestRpcStandin:
    """Start with `start()` (returns the base URL to give supabase-py), stop with `stop()`."""

    def __init__(self, conninfo: str, jwt_secret: str) -> None:
        self.conninfo = conninfo
        self.jwt_secret = jwt_secret
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                try:
                    status, payload = 200, standin._call(self.path, self.headers, self._body())
                except _ApiError as exc:
                    status, payload = exc.status, json.dumps(exc.body)
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler

    def _call(self, path: str, headers: Any, body: bytes) -> str:
        match = RPC_PATH.match(path.split("?", 1)[0])
        if match is None:
            raise _ApiError(404, {"code": "PGRST125", "message": f"Invalid path specified in request URL: {path}",
                                  "details": None, "hint": None})
        if not headers.get("apikey"):
            raise _ApiError(401, {"code": None, "message": "No API key found in request", "details": None,
                                  "hint": "No `apikey` request header or url param was found."})
        claims = self._claims(headers.get("Authorization"))
        try:
            args = json.loads(body or b"{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            raise _ApiError(400, {"code": "PGRST102", "message": "Empty or invalid json", "details": None,
                                  "hint": None})
        role = str(claims.get("role", "anon"))
        try:
            with psycopg.connect(self.conninfo, autocommit=False) as conn, conn.transaction():
                function = self._find(conn, match.group(1), set(args))
                conn.execute("SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
                             (role, json.dumps(claims)))
                row = conn.execute(_call_statement(function, sorted(args)), {"args": Json(args)}).fetchone()
        except psycopg.Error as exc:
            raise _ApiError(_http_status(exc.sqlstate, role), {
                "code": exc.sqlstate,
                "message": exc.diag.message_primary or str(exc),
                "details": exc.diag.message_detail,
                "hint": exc.diag.message_hint,
            }) from exc
        assert row is not None
        result: str = row[0]
        return result

    def _claims(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            return {}
        scheme, _, token = authorization.partition(" ")
        claims = _verify_jwt(token, self.jwt_secret) if scheme.lower() == "bearer" else None
        if claims is None:
            raise _ApiError(401, {"code": "PGRST301", "message": "JWSError JWSInvalidSignature", "details": None,
                                  "hint": None})
        return claims

    @staticmethod
    def _find(conn: psycopg.Connection[Any], name: str, given: set[str]) -> _Function:
        for row in conn.execute(FIND_FUNCTIONS, (name,)).fetchall():
            function = _Function(*row)
            if function.accepts(given):
                return function
        raise _ApiError(404, {
            "code": "PGRST202",
            "message": f"Could not find the function public.{name}({', '.join(sorted(given))}) in the schema cache",
            "details": "Searched for the function with the given argument names, but no matches were found.",
            "hint": None,
        })


def _call_statement(function: _Function, given: list[str]) -> sql.Composed:
    types = dict(zip(function.arg_names, function.arg_types, strict=True))
    record = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(types[n])) for n in given)
    call = sql.SQL("public.{}({})").format(
        sql.Identifier(function.name),
        sql.SQL(", ").join(sql.SQL("{} => a.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in given),
    )
    if function.returns_set:
        template = "SELECT coalesce(json_agg(c), '[]')::text FROM json_to_record(%(args)s) AS a({}), LATERAL {} AS c"
    else:
        template = "SELECT coalesce(to_json({1})::text, 'null') FROM json_to_record(%(args)s) AS a({0})"
    return sql.SQL(template).format(record, call)


def _http_status(sqlstate: str | None, role: str) -> int:
    # The part of PostgREST's SQLSTATE -> HTTP table that the scene-images API can produce.
    if sqlstate == "42501":
        return 401 if role == "anon" else 403
    if sqlstate == "42883":
        return 404
    return 400
