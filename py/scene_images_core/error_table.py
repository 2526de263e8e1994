"""Print the error table (SQLSTATE, name, meaning) as Markdown: `python -m scene_images_core.error_table`.
The README's table is this output; a test keeps the two equal."""

from __future__ import annotations

from .errors import ERRORS
from .sql_errors import SQL_ERRORS


def rows() -> list[tuple[str, str, str]]:
    ours = [(state, name, meaning) for state, (name, meaning) in SQL_ERRORS.items()]
    ingest = [(cls.sqlstate, cls.__name__, cls.meaning) for cls in ERRORS]
    return sorted(ours + ingest)


def markdown() -> str:
    lines = ["| SQLSTATE | error (Python class) | meaning |", "|---|---|---|"]
    lines += [f"| `{state}` | `{name}` | {meaning} |" for state, name, meaning in rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
