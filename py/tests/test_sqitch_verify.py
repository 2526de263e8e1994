"""Every verify script fails by raising an error, so `plpgsql.check_asserts = off` cannot silence it.

The whole plan is deployed once, on a throwaway cluster of this module's own: roles are
cluster-wide, and only where no other database uses the client roles can their change's revert
drop them. Then, for each change of sqitch.plan, in one psql session with asserts off and in one
transaction that is rolled back:

1. the revert scripts of every later change run, last first: the state `deploy --to <change>`
   leaves. The change's verify must pass there;
2. the change's own revert runs, and its verify must now fail (raise).

The revert scripts are the map from a change to its objects: nothing here names an object, so a
new change is covered as soon as it is in the plan. The scripts run as sqitch runs them (psql,
ON_ERROR_STOP), with their own top-level BEGIN;/COMMIT;/ROLLBACK; lines removed so that they
join the enclosing transaction; each script is checked to hold exactly that pair.

A third test changes grants instead of dropping objects: for every function, relation and schema
a change's revert removes, and every client role, a privilege the role lacks is granted (and one
granted to it directly is revoked) in a savepoint; the change's verify must fail each time. So
every verify checks the access table both ways, not just that its objects exist.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DB = ROOT / "db"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SCRATCH = "scene_images_verify"
ROLES = ("anon", "authenticated", "service_role", "scene_images_worker")
ASSERTS_OFF = "-c plpgsql.check_asserts=off"

# One top-level transaction-control line, as the Sqitch templates write them.
TRANSACTION_LINE = re.compile(r"^(BEGIN|COMMIT|ROLLBACK);[ \t]*$", re.MULTILINE)


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One line of sqitch.plan that deploys a change."""

    change: str
    script: str  # file name without .sql: the change, or change@tag for a reworked change's older instance


def plan_steps(plan: Path = ROOT / "sqitch.plan") -> list[Step]:
    """The plan's changes in order, each with the scripts sqitch runs for it (reworks included)."""
    entries: list[tuple[str, str]] = []  # ("change", name) or ("tag", name)
    for raw in plan.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("%", "#")):
            continue
        name = line.split()[0]
        entries.append(("tag", name[1:]) if name.startswith("@") else ("change", name))
    steps = []
    for i, (kind, name) in enumerate(entries):
        if kind != "change":
            continue
        later = [j for j in range(i + 1, len(entries)) if entries[j] == ("change", name)]
        script = name
        if later:
            # As App::Sqitch::Plan::Change does: the first tag between this instance and the
            # next whose file exists names the older instance's scripts.
            tags = [tag for kind_, tag in entries[i + 1 : later[0]] if kind_ == "tag"]
            found = [tag for tag in tags if (DB / "revert" / f"{name}@{tag}.sql").exists()]
            assert found, f"reworked change {name}: no db/revert/{name}@<tag>.sql for any of {tags}"
            script = f"{name}@{found[0]}"
        steps.append(Step(name, script))
    return steps


STEPS = plan_steps()
CHANGES = list(dict.fromkeys(step.change for step in STEPS))


def body(kind: str, script: str) -> str:
    """A revert or verify script without its top-level BEGIN; and COMMIT;/ROLLBACK; lines."""
    path = DB / kind / f"{script}.sql"
    text = path.read_text()
    closing = "COMMIT" if kind == "revert" else "ROLLBACK"
    assert TRANSACTION_LINE.findall(text) == ["BEGIN", closing], (
        f"{path.relative_to(ROOT)} must hold exactly one top-level 'BEGIN;' and one '{closing};'")
    # Blank lines keep psql's line numbers those of the file.
    return TRANSACTION_LINE.sub("", text)


# --- the cluster -------------------------------------------------------------------------------


@dataclass
class Deployed:
    """The whole plan deployed on a cluster of our own; scripts run through psql in one transaction."""

    env: dict[str, str]
    scripts: Path  # the stripped copies, named like the originals so psql's errors name them
    _objects: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def include(self, kind: str, script: str) -> str:
        target = self.scripts / kind / f"{script}.sql"
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            target.write_text(body(kind, script))
        return f"\\i {target}\n"

    def psql(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", SCRATCH, "-f", "-"],
            input=script, env=self.env, capture_output=True, text=True, check=False, timeout=120,
        )

    def revert_after(self, change: str) -> str:
        """Revert every step after the change's last instance, last first (stays in the transaction)."""
        last = max(i for i, step in enumerate(STEPS) if step.change == change)
        return "".join(self.include("revert", step.script) for step in reversed(STEPS[last + 1 :]))

    def revert_change(self, change: str) -> str:
        """Revert every instance of the change (only it is left above them: later ones are gone)."""
        return "".join(self.include("revert", step.script) for step in reversed(STEPS) if step.change == change)

    def objects_of(self, change: str) -> list[tuple[str, str]]:
        """(kind, name) of every object the change's revert removes once the later changes are reverted."""
        if change not in self._objects:
            done = self.psql(
                "BEGIN;\n" + self.revert_after(change)
                + f"\\echo @@before\n{OBJECTS}\\echo @@after\n"
                + self.revert_change(change)
                + f"{OBJECTS}ROLLBACK;\n")
            assert done.returncode == 0, done.stdout + done.stderr
            before, _, after = done.stdout.partition("@@before\n")[2].partition("@@after\n")
            gone = set(before.splitlines()) - set(after.splitlines())
            self._objects[change] = sorted((kind, name) for kind, _, name in (line.partition("|") for line in gone))
        return self._objects[change]


# Everything a change may create, one "kind|name" line each, names schema-qualified whatever
# search_path says. Extension members are the extension's.
OBJECTS = r"""
\pset format unaligned
\pset tuples_only on
SELECT kind || '|' || name FROM (
    SELECT 'schema', quote_ident(n.nspname) FROM pg_namespace AS n
    WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'sqitch')
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
           format('%I.%I(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes))
    FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqitch')
      AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END, format('%I.%I', n.nspname, c.relname)
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqitch')
      AND n.nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT 'type', format('%I.%I', n.nspname, t.typname)
    FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
    WHERE t.typtype IN ('c', 'd', 'e') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqitch')
      AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
    UNION ALL
    SELECT 'column', format('%s.%I', c.oid::regclass, a.attname)
    FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'c')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqitch') AND n.nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT 'trigger', format('%I on %s', t.tgname, t.tgrelid::regclass) FROM pg_trigger AS t WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'policy', format('%I on %s', p.polname, p.polrelid::regclass) FROM pg_policy AS p
    UNION ALL
    SELECT 'row level security', c.oid::regclass::text FROM pg_class AS c WHERE c.relrowsecurity
    UNION ALL
    SELECT 'extension', quote_ident(extname) FROM pg_extension WHERE extname <> 'plpgsql'
    UNION ALL
    SELECT 'role', quote_ident(rolname) FROM pg_roles WHERE rolname NOT LIKE 'pg\_%' AND rolname <> current_user
) AS o(kind, name);
\pset format aligned
\pset tuples_only off
"""


def _postgres_owned_dir(prefix: str) -> Path:
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=var))
    shutil.chown(path, "postgres", "postgres")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    base = _postgres_owned_dir("verify-cluster-")
    data, run, port = base / "data", base / "run", _free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    try:
        run.mkdir()
        shutil.chown(run, "postgres", "postgres")
        subprocess.run([*as_postgres, PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
        # No TCP listener: the socket directory is ours alone.
        subprocess.run([*as_postgres, "env", f"PYTHONPATH={ROOT / 'py'}", PG_BIN / "pg_ctl", "-D", data,
                        "-l", base / "postgres.log", "-w", "-t", "60", "start", "-o",
                        f"-p {port} -k {run} -c listen_addresses='' -c fsync=off -c full_page_writes=off"],
                       check=True, capture_output=True)
        env = {**os.environ, "PGHOST": str(run), "PGPORT": str(port), "PGUSER": "postgres", "PGDATABASE": SCRATCH}
        env.pop("PGOPTIONS", None)
        subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f"CREATE DATABASE {SCRATCH}"], env=env, check=True,
                       capture_output=True)
        done = subprocess.run([ROOT / "scripts/sqitch.sh", SCRATCH, "deploy"], env=env, capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        # From here on every psql, sqitch's included, runs with asserts off.
        yield Deployed({**env, "PGOPTIONS": ASSERTS_OFF}, tmp_path_factory.mktemp("verify-scripts"))
    finally:
        subprocess.run([*as_postgres, PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], check=False,
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# --- the tests ---------------------------------------------------------------------------------


def test_sqitch_verify_passes_on_the_whole_plan_with_asserts_off(deployed: Deployed) -> None:
    # PGOPTIONS (in deployed.env) reaches every psql sqitch starts; prove it switches asserts off.
    done = deployed.psql("DO $$ BEGIN ASSERT false, 'plpgsql.check_asserts is on'; END $$;")
    assert done.returncode == 0, done.stderr
    done = subprocess.run([ROOT / "scripts/sqitch.sh", SCRATCH, "verify"], env=deployed.env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "Verify successful" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("change", CHANGES)
def test_verify_fails_once_its_change_is_reverted(deployed: Deployed, change: str) -> None:
    removed = deployed.objects_of(change)
    assert removed, f"the revert of {change} removes nothing: this test cannot show its verify fails"
    done = deployed.psql(
        "DO $$ BEGIN ASSERT false, 'plpgsql.check_asserts is on'; END $$;\n"
        "BEGIN;\n" + deployed.revert_after(change)
        + "\\echo @@verify-deployed\n" + deployed.include("verify", change)
        + "\\echo @@revert\n" + deployed.revert_change(change)
        + "\\echo @@verify-reverted\n" + deployed.include("verify", change)
        + "\\echo @@verify-reverted-passed\nROLLBACK;\n")
    out = done.stdout.split()
    assert "@@verify-deployed" in out, "reverting the later changes failed:\n" + done.stderr
    assert "@@revert" in out, f"verify {change} fails with the plan deployed up to it:\n" + done.stderr
    assert "@@verify-reverted" in out, f"the revert of {change} failed:\n" + done.stderr
    assert "@@verify-reverted-passed" not in out, (
        f"verify {change} passes with plpgsql.check_asserts = off after its revert removed:\n"
        + "\n".join(f"  {kind} {name}" for kind, name in removed))
    assert done.returncode == 3 and f"/verify/{change}.sql:" in done.stderr and "ERROR:" in done.stderr, done.stderr


PRIVILEGES = {
    "function": ("EXECUTE",),
    "procedure": ("EXECUTE",),
    "table": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
    "view": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
    "schema": ("USAGE", "CREATE"),
}
GRANT_TARGET = {"function": "ROUTINE", "procedure": "ROUTINE", "table": "TABLE", "view": "TABLE", "schema": "SCHEMA"}
HAS_PRIVILEGE = {"function": "has_function_privilege", "procedure": "has_function_privilege",
                 "table": "has_table_privilege", "view": "has_table_privilege", "schema": "has_schema_privilege"}


def grant_mutations(deployed: Deployed, change: str) -> list[str]:
    """For each object of the change, role and privilege: the GRANT (role lacks it) or REVOKE
    (granted to the role itself) that makes the grants differ from what the change deployed."""
    objects = [(kind, name) for kind, name in deployed.objects_of(change) if kind in PRIVILEGES]
    if not objects:
        return []
    rows = []
    for kind, name in objects:
        for privilege in PRIVILEGES[kind]:
            for role in ROLES:
                rows.append(f"({literal(kind)}, {literal(name)}, {literal(privilege)}, {literal(role)})")
    query = (
        "BEGIN;\n" + deployed.revert_after(change)
        + "\\pset format unaligned\n\\pset tuples_only on\n"
        "SELECT kind || '|' || name || '|' || privilege || '|' || role || '|' || CASE kind\n"
        + "".join(f"    WHEN '{kind}' THEN {HAS_PRIVILEGE[kind]}(role, name, privilege)::text"
                  f" || '|' || EXISTS (SELECT 1 FROM aclexplode({acl_of(kind, 'name')}) AS a"
                  " WHERE a.grantee = role::regrole AND a.privilege_type = privilege)::text\n"
                  for kind in HAS_PRIVILEGE)
        + "END\nFROM (VALUES " + ",\n    ".join(rows) + ") AS m(kind, name, privilege, role)\n"
        "WHERE to_regrole(role) IS NOT NULL;\nROLLBACK;\n")
    done = deployed.psql(query)
    assert done.returncode == 0, done.stdout + done.stderr
    statements = []
    for line in done.stdout.splitlines():
        kind, name, privilege, role, held, direct = line.split("|")
        target = f"{GRANT_TARGET[kind]} {name}"
        if held == "false":
            statements.append(f"GRANT {privilege} ON {target} TO {role};")
        elif direct == "true":
            statements.append(f"REVOKE {privilege} ON {target} FROM {role};")
    return statements


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def acl_of(kind: str, name: str) -> str:
    if kind in ("function", "procedure"):
        return f"(SELECT proacl FROM pg_proc WHERE oid = {name}::regprocedure)"
    if kind == "schema":
        return f"(SELECT nspacl FROM pg_namespace WHERE oid = {name}::regnamespace)"
    return f"(SELECT relacl FROM pg_class WHERE oid = {name}::regclass)"


@pytest.mark.parametrize("change", CHANGES)
def test_verify_fails_when_a_grant_differs(deployed: Deployed, change: str) -> None:
    mutations = grant_mutations(deployed, change)
    if not mutations:
        pytest.skip(f"{change} creates no function, relation or schema")
    script = ["BEGIN;\n", deployed.revert_after(change), "\\set ON_ERROR_STOP 0\n"]
    for number, statement in enumerate(mutations):
        script.append(
            "SAVEPOINT mutation;\n\\set ON_ERROR_STOP 1\n" + statement + "\n\\set ON_ERROR_STOP 0\n"
            + deployed.include("verify", change)
            + f"\\if :ERROR\n\\echo @@caught {number}\n\\else\n\\echo @@missed {number}\n\\endif\n"
            "ROLLBACK TO SAVEPOINT mutation;\n")
    script.append("ROLLBACK;\n")
    done = deployed.psql("".join(script))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    caught = set(re.findall(r"^@@caught (\d+)$", done.stdout, re.MULTILINE))
    missed = [mutations[n] for n in range(len(mutations)) if str(n) not in caught]
    assert not missed, f"verify {change} passes after:\n" + "\n".join(f"  {m}" for m in missed)


def test_no_verify_script_relies_on_assert() -> None:
    for path in sorted((DB / "verify").glob("*.sql")):
        code = re.sub(r"--[^\n]*", "", path.read_text())
        assert not re.search(r"\bASSERT\b", code, re.IGNORECASE), (
            f"{path.relative_to(ROOT)}: ASSERT is skipped when plpgsql.check_asserts is off; raise instead")
