"""The README states the error table and the two commands; keep them true."""

from __future__ import annotations

import pathlib

from scene_images_core import error_table

README = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_error_table_is_the_generated_one():
    assert error_table.markdown() in README


def test_readme_names_the_two_commands():
    assert "`make demo`" in README
    assert "`make test`" in README


def test_ci_runs_the_readme_test_command():
    ci = (pathlib.Path(__file__).resolve().parents[2] / ".ci/run").read_text()
    assert ci.strip().splitlines()[-1] == "exec make test"
