"""Run the `scene-images` CLI as a user would: as a separate process, its output shown."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any


class CliError(Exception):
    """The CLI exited non-zero; the message carries the command and what it printed."""


class SceneImagesCli:
    def __init__(self, executable: Path) -> None:
        self.executable = executable

    def json(self, *args: str) -> Any:
        """Run with --json and parse its stdout. Its stderr (progress bar, errors) goes to the terminal."""
        print(f"  $ {self._display(args)} --json", flush=True)
        done = subprocess.run([str(self.executable), *args, "--json"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            raise CliError(f"`{self._display(args)}` exited {done.returncode} (its message is above)")
        return json.loads(done.stdout)

    def show(self, *args: str) -> str:
        """Run, print its output indented under the command, and return the output."""
        print(f"  $ {self._display(args)}", flush=True)
        done = subprocess.run([str(self.executable), *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
        for line in (done.stdout + done.stderr).rstrip("\n").splitlines():
            print(f"    {line}", flush=True)
        if done.returncode != 0:
            raise CliError(f"`{self._display(args)}` exited {done.returncode}")
        return done.stdout

    def _display(self, args: tuple[str, ...]) -> str:
        # Long values (URLs, JSON) are shortened on screen only; the process gets them whole.
        return shlex.join([self.executable.name, *(a if len(a) <= 72 else a[:60] + "…" for a in args)])
