"""The pgTAP privilege tests (db/tests/30_privileges.sql) run with pg_prove, as `make test-db`
runs them on the plain database, against both installs of the Supabase-shaped database, as the
role that deployed each."""

from __future__ import annotations

import re
import subprocess

import pytest

pytest.register_assert_rewrite("supabase_cluster")  # its asserts are imported before the plugin loads

from supabase_cluster import ROOT, SupabaseInstall

pytest_plugins = ["supabase_cluster"]

def test_pgtap_privilege_tests_pass(supabase: SupabaseInstall) -> None:
    done = subprocess.run(
        ["pg_prove", "--verbose", "-U", supabase.owner, "-d", supabase.dbname, "db/tests/30_privileges.sql"],
        cwd=ROOT, env=supabase.cluster.env(), capture_output=True, text=True, check=False,
    )
    output = done.stdout + done.stderr
    assert re.search(r"^Result: PASS$", done.stdout, re.MULTILINE), output
    assert done.returncode == 0, output
    # The hosted install lacks exactly the PL/Python functions: their assertions skip there.
    skipped = len(re.findall(r"# SKIP needs PL/Python", done.stdout))
    assert skipped == (0 if supabase.plpython else 6), output
