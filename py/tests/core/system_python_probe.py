"""Run by test_core_system_python.py under /usr/bin/python3 (Debian's requests/urllib3 1.26).

argv[1] is a JSON object: source/other/tls base URLs and ports, the CA file, a storage root.
Prints one JSON object with what each scenario produced; the test asserts on it.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any

import requests
import urllib3
from network_guard import guard_loopback_only

from scene_images_core.backends import make_backend
from scene_images_core.errors import IngestError
from scene_images_core.fetch import fetch
from scene_images_core.pipeline import prepare, store, store_many
from scene_images_core.policy import FetchPolicy


class _Patch:
    """Just enough of pytest's monkeypatch for guard_loopback_only."""

    def setattr(self, target: Any, name: str, value: Any) -> None:
        setattr(target, name, value)


def outcome(action: Any) -> dict[str, Any]:
    began = time.monotonic()
    try:
        value = action()
    except IngestError as exc:
        return {
            "error": type(exc).__name__,
            "message": exc.message,
            "seconds": time.monotonic() - began,
        }
    return {"value": value, "seconds": time.monotonic() - began}


def main() -> None:
    unguarded = socket.socket.connect
    guard_loopback_only(_Patch())
    config = json.loads(sys.argv[1])
    policy = FetchPolicy(
        allow_private_networks=("127.0.0.1/32",), max_bytes=1024 * 1024, timeout_s=1.0
    )
    backend = make_backend(
        "file", {"root": config["root"], "public_base_url": "http://cdn.test/media"}
    )
    backend.ensure_ready()
    source = config["source"]

    def trusting() -> requests.Session:
        session = requests.Session()
        session.verify = config["ca_file"]
        return session

    def pinned_https() -> int:
        fetched = fetch(
            f"https://{config['tls_host']}:{config['tls_port']}/img.png",
            policy,
            resolver=lambda host, port: ["127.0.0.1"],
            session_factory=trusting,
        )
        return len(fetched.data)

    def ingest_one() -> dict[str, Any]:
        stored = store(prepare(source + "/img.webp", policy), backend, "p1", "scene-1")
        return {
            "content_type": stored.content_type,
            "width": stored.width,
            "exists": backend.exists(stored.storage_path),
        }

    def many() -> int:
        requests_ = [
            {"scene_id": f"s{i}", "source_url": f"{source}/img.{ext}"}
            for i, ext in enumerate(["jpg", "png", "gif", "avif"])
        ]
        return len(store_many(requests_, policy, backend, "p2"))

    def s3_round_trip() -> list[str]:
        s3 = make_backend("s3", config["s3"])
        s3.ensure_ready()
        stored = store(prepare(source + "/img.gif", policy), s3, "p3", "scene-3")
        listed = [o.path for o in s3.list("projects/p3/")]
        s3.delete(stored.storage_path)
        return listed + [str(s3.exists(stored.storage_path))]

    cancel_set_at: list[float] = []

    def cancelled() -> None:
        cancel = threading.Event()

        def fire() -> None:
            cancel_set_at.append(time.monotonic())
            cancel.set()

        threading.Timer(0.2, fire).start()
        fetch(  # only the cancel ends this early: the deadline is a minute away
            source + "/silent",
            FetchPolicy(allow_private_networks=True, timeout_s=60),
            cancel=cancel,
        )

    def after_cancel(result: dict[str, Any]) -> dict[str, Any]:
        """`result` with the seconds from setting the cancel to the end of the call."""
        return {**result, "after_cancel_seconds": time.monotonic() - cancel_set_at[0]}

    results = {
        "versions": {
            "python": sys.version.split()[0],
            "requests": requests.__version__,
            "urllib3": urllib3.__version__,
        },
        "socket_guarded": socket.socket.connect is not unguarded,
        "ingest": outcome(ingest_one),
        "store_many": outcome(many),
        "https_pinned": outcome(pinned_https),
        "s3": outcome(s3_round_trip),
        "https_wrong_name": outcome(
            lambda: fetch(
                f"https://other.generator.test:{config['tls_port']}/img.png",
                policy,
                resolver=lambda host, port: ["127.0.0.1"],
                session_factory=trusting,
            )
        ),
        "trickle": outcome(lambda: fetch(source + "/trickle", policy)),
        "silent": outcome(lambda: fetch(source + "/silent", policy)),
        "cancelled": after_cancel(outcome(cancelled)),
        "lying_length": outcome(lambda: fetch(source + "/lying-length", policy)),
        "big_no_length": outcome(lambda: fetch(source + "/big-no-length", policy)),
        "redirect_to_other_loopback": outcome(
            lambda: fetch(config["source"] + "/to-other", policy)
        ),
        "redirects": outcome(
            lambda: len(fetch(source + "/redirect/3", policy).redirects)
        ),
        "not_an_image": outcome(lambda: prepare(source + "/html", policy)),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
