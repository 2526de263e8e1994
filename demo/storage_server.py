"""Serve the file backend's storage root on loopback, so every permanent URL opens in a browser.

Standalone: python demo/storage_server.py --root var/storage --port 54380
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo prints its own story."""


class StorageServer:
    """A threaded static file server for one directory, bound to 127.0.0.1 only."""

    def __init__(self, root: Path, port: int, *, verbose: bool = False) -> None:
        handler = SimpleHTTPRequestHandler if verbose else _QuietHandler
        # Raises OSError (EADDRINUSE) at once when the port is taken.
        self._server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(root)))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="storage", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StorageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent / "var" / "storage")
    parser.add_argument("--port", type=int, default=54380)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"storage root {args.root} is not a directory", file=sys.stderr)
        return 2
    try:
        server = StorageServer(args.root, args.port, verbose=True)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror} (choose another --port)", file=sys.stderr)
        return 1
    print(f"serving {args.root.resolve()} at {server.base_url}/  (Ctrl-C to stop)", flush=True)
    server.start()
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
