"""`make demo` end to end: the demo script as a new user runs it, against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Only a hung demo (serving until Ctrl-C, say) reaches this; it takes about 35 s here, and how long
# it takes on a loaded machine is no part of what this test checks.
HANG_S = 600
# The generator's URLs must be downloaded within this long of being made: 10 s for a user, three
# times that here, so a loaded CI machine cannot let one expire before the store (the demo waits
# for the expiry in step 5, so this costs 20 s).
URL_TTL_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_runs_the_whole_story_and_every_check_holds() -> None:
    env = {**os.environ, "STORAGE_PORT": str(_free_port()), "DEMO_URL_TTL_S": str(URL_TTL_S)}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run_demo.py")],
        stdin=subprocess.DEVNULL,  # not a TTY: the demo must exit instead of serving until Ctrl-C
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_S,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    print(f"demo finished in {elapsed:.1f} s with exit code {result.returncode}")

    assert result.returncode == 0, output
    for line in (
        "Step 1:", "Step 2:", "Step 3:", "Step 4:", "Step 5:", "Step 6:",
        "answers 403 (Request has expired)",
        "serves the very bytes the generator made",
        "scene_start_frame of every scene is its current permanent URL",
        "Gallery: http://127.0.0.1:" + env["STORAGE_PORT"] + "/gallery/",
        "ALL CHECKS PASSED",
    ):
        assert line in output, f"missing {line!r} in:\n{output}"
