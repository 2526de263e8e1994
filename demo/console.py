"""How the demo talks: numbered steps, checks that count, and plain text tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence

BOLD, GREEN, RED, RESET = ("\033[1m", "\033[32m", "\033[31m", "\033[0m") if sys.stdout.isatty() else ("",) * 4


class CheckFailed(Exception):
    """A promise of the product did not hold; the demo stops and exits non-zero."""


class Console:
    def __init__(self) -> None:
        self.checks = 0

    def step(self, number: int, title: str) -> None:
        print(f"\n{BOLD}== Step {number}: {title} =={RESET}", flush=True)

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def check(self, holds: bool, what: str, detail: str = "") -> None:
        """Print one check; raise CheckFailed when it does not hold."""
        if not holds:
            print(f"  {RED}✗ {what}{RESET}" + (f"\n      {detail}" if detail else ""), flush=True)
            raise CheckFailed(what + (f": {detail}" if detail else ""))
        self.checks += 1
        print(f"  {GREEN}✓{RESET} {what}", flush=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        line = "  ".join("-" * w for w in widths)
        for n, row in enumerate(cells):
            print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            if n == 0:
                print("  " + line)
        sys.stdout.flush()
