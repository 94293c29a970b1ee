#!/usr/bin/env python3
"""The crash test: `dbreg apply` killed with SIGKILL at random points, 20
times on each dialect, the plan holding transaction = false steps (basic's
CREATE INDEX CONCURRENTLY, and a package with two in one migration). After
each kill: no migration is half applied (a transactional one has its
history row and its effect both or neither; a non-transactional one stops
at a statement boundary its progress row names, or the one after, its
statements being idempotent), `status` works, and a re-run completes and
`verify` passes. A kill lands anywhere in the run: the delay is drawn from
the measured length of a whole run.

usage: test_crash.py DBREG TOMLS_DIR     (DBREG_TEST_PG_URL for PostgreSQL; prints TAP)"""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, dbreg_env, expect, main, need_pg, run  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "crash")
DBREG, PG_URL = clitest.DBREG, clitest.PG_URL
RUNS = int(os.environ.get("DBREG_CRASH_RUNS", "20"))

CRASH_PKG = """[package]
name = "@t/crash"
version = "1.0.0"
description = "two indexes built outside a transaction, in one migration"

[tables.ydtb_crash_items]
description = "items"
workspace_scoped = true

[tables.ydtb_crash_items.columns]
id = { type = "text", primary_key = true }
a = { type = "text" }
b = { type = "text" }

[tables.ydtb_crash_items.indexes]
ydtb_crash_items_a_idx = { columns = ["workspace_id", "a"] }
ydtb_crash_items_b_idx = { columns = ["workspace_id", "b"] }

[[migrations]]
id = "0001_items"
version = "1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS ydtb_crash_items (id text PRIMARY KEY NOT NULL,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE, a text, b text);
CREATE INDEX IF NOT EXISTS ydtb_crash_items_workspace_id_idx ON ydtb_crash_items (workspace_id);
\"\"\"
down = "DROP TABLE IF EXISTS ydtb_crash_items;"

[[migrations]]
id = "0002_indexes"
version = "1.0.0"
transaction = false
up_postgres = \"\"\"
CREATE INDEX CONCURRENTLY IF NOT EXISTS ydtb_crash_items_a_idx ON ydtb_crash_items (workspace_id, a);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ydtb_crash_items_b_idx ON ydtb_crash_items (workspace_id, b);
\"\"\"
up_sqlite = \"\"\"
CREATE INDEX IF NOT EXISTS ydtb_crash_items_a_idx ON ydtb_crash_items (workspace_id, a);
CREATE INDEX IF NOT EXISTS ydtb_crash_items_b_idx ON ydtb_crash_items (workspace_id, b);
\"\"\"
down_postgres = "DROP INDEX CONCURRENTLY IF EXISTS ydtb_crash_items_a_idx; DROP INDEX CONCURRENTLY IF EXISTS ydtb_crash_items_b_idx;"
down_sqlite = "DROP INDEX IF EXISTS ydtb_crash_items_a_idx; DROP INDEX IF EXISTS ydtb_crash_items_b_idx;"
""".replace('\\"', '"')

# What each migration leaves, as (kind, table, name): a table, a column,
# an index, or a column that is gone. Non-transactional ones list their
# statements' effects in order.
EFFECTS = {
    ("@ydtb/core", "0001_auth"): [("table", "user", None)],
    ("@ydtb/core", "0002_workspaces"): [("table", "ydtb_workspaces", None)],
    ("@ydtb/core", "0003_tools"): [("table", "ydtb_tools", None)],
    ("@ydtb/core", "0004_account_drop_issuer"): [("no_column", "account", "issuer")],
    ("@ydtb/basic", "0001_create_notes"): [("table", "ydtb_basic_notes", None)],
    ("@ydtb/basic", "0002_create_tasks"): [("table", "ydtb_basic_tasks", None)],
    ("@ydtb/basic", "0003_add_note_pinned"): [("column", "ydtb_basic_notes", "pinned")],
    ("@ydtb/basic", "0004_index_note_pinned"): [("index", "ydtb_basic_notes", "ydtb_basic_notes_pinned_idx")],
    ("@ydtb/basic", "0005_create_note_tags"): [("table", "ydtb_basic_note_tags", None)],
    ("@t/crash", "0001_items"): [("table", "ydtb_crash_items", None)],
    ("@t/crash", "0002_indexes"): [("index", "ydtb_crash_items", "ydtb_crash_items_a_idx"),
                                   ("index", "ydtb_crash_items", "ydtb_crash_items_b_idx")],
}
NOT_TRANSACTIONAL = {("@ydtb/basic", "0004_index_note_pinned"), ("@t/crash", "0002_indexes")}


class SqliteTarget:
    """A SQLite file; each round starts from no file at all."""

    def __init__(self, d):
        self.path = os.path.join(d, "ydtb.db")
        self.url = "sqlite:" + self.path

    def reset(self):
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.unlink(self.path + suffix)

    def state(self):
        """(history, progress, facts): facts holds ("table", t, None),
        ("column", t, c) and ("index", t, i) for what exists."""
        if not os.path.exists(self.path):
            return set(), {}, set()
        con = sqlite3.connect(self.path)
        try:
            facts = set()
            for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                facts.add(("table", t, None))
                for (c,) in con.execute("SELECT name FROM pragma_table_info(?)", (t,)).fetchall():
                    facts.add(("column", t, c))
            for t, i in con.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'").fetchall():
                facts.add(("index", t, i))
            hist, progress = set(), {}
            if ("table", "ydtb_registry_migrations", None) in facts:
                for p, m, n in con.execute("SELECT package, migration, statements_done FROM ydtb_registry_migrations"):
                    if n is None:
                        hist.add((p, m))
                    else:
                        progress[(p, m)] = int(n)
            return hist, progress, facts
        finally:
            con.close()

    def drop(self):
        self.reset()


class PgTarget:
    """One database on the test server; each round starts from an empty schema."""

    def __init__(self, d):
        self.name = "dbreg_crash_%d" % os.getpid()
        self.psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)
        self.psql(PG_URL, "CREATE DATABASE %s" % self.name)
        self.url = PG_URL.rsplit("/", 1)[0] + "/" + self.name

    @staticmethod
    def psql(url, sql):
        p = subprocess.run(["psql", url, "-XtAq", "-F", "\t", "-c", sql], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("psql: %s: %s" % (sql, p.stderr))
        return [tuple(line.split("\t")) for line in p.stdout.splitlines() if line]

    def reset(self):
        self.psql(self.url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    def state(self):
        rows = self.psql(self.url, """
            SELECT 'table', c.relname, '' FROM pg_class c WHERE c.relkind = 'r'
              AND c.relnamespace = 'public'::regnamespace
            UNION ALL SELECT 'column', c.relname, a.attname FROM pg_class c
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
            UNION ALL SELECT 'index', t.relname, c.relname FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
              WHERE i.indisvalid AND c.relnamespace = 'public'::regnamespace""")
        facts = {(k, t, n or None) for k, t, n in rows}
        hist, progress = set(), {}
        if ("table", "ydtb_registry_migrations", None) in facts:
            for p, m, n in self.psql(self.url, "SELECT package, migration, coalesce(statements_done::text, '')"
                                               " FROM ydtb_registry_migrations"):
                if n == "":
                    hist.add((p, m))
                else:
                    progress[(p, m)] = int(n)
        return hist, progress, facts

    def drop(self):
        self.psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)


def has(facts, kind, table, name):
    """An INVALID index is not among the facts: a build that did not finish."""
    if kind == "no_column":
        return ("table", table, None) in facts and ("column", table, name) not in facts
    return (kind, table, name) in facts


def project(url):
    return clitest.project({"tomls/crash.toml": CRASH_PKG,
                            "dbreg.toml": '[targets.dev]\nurl = "%s"\n' % url.replace("\\", "\\\\").replace('"', '\\"')})


def check_consistent(t, where):
    """No migration half applied; returns the number applied."""
    hist, progress, facts = t.state()
    # Migrations added to tomls/ later than this test are only counted.
    for key, effects in EFFECTS.items():
        got = [has(facts, *e) for e in effects]
        if key in NOT_TRANSACTIONAL:
            if key in hist:
                expect(all(got), "%s: %s recorded but its effects are %s" % (where, key, got))
            else:
                done = progress.get(key, 0)
                # Statements before the boundary are done; after the next one, none is.
                expect(all(got[:done]) and not any(got[done + 1:]),
                       "%s: %s stopped after statement %d but its effects are %s" % (where, key, done, got))
        else:
            expect(got == [key in hist] * len(got),
                   "%s: %s: history row %s, effect %s" % (where, key, key in hist, got))
            expect(key not in progress, "%s: progress row for transactional %s" % (where, key))
    return len(hist)


def timed_apply(d):
    start = time.time()
    rc, out, err = run(["apply", "-q"], d)
    return rc, out + err, time.time() - start


def crash_runs(make_target, label):
    d0 = tempfile.mkdtemp(prefix="dbreg-crash-")
    t = make_target(d0)
    d = project(t.url)
    try:
        rc, out, err = run(["validate"], d)
        expect(rc == 0, "validate: " + err)
        rc, out, err = run(["plan", "--json"], d)
        total = len(json.loads(out)["steps"])
        expect(rc == 0 and total >= len(EFFECTS), "plan: " + out + err)
        # How long a whole run takes here and now, and how long one that
        # finds nothing to do: kills are drawn from the part in between,
        # where the migrations run.
        # The first run also validates the registry; the state file then
        # remembers it valid, so the runs below are timed on an empty target
        # after that (else most kills land after a run has ended).
        rc, msg, _ = timed_apply(d)
        expect(rc == 0, "a first run: " + msg)
        expect(check_consistent(t, "first run") == total, "a first run left migrations out")
        idle = None
        for k in range(3):
            rc, msg, took = timed_apply(d)
            expect(rc == 0, "a run with nothing to do: " + msg)
            idle = took if idle is None else min(idle, took)
        # The shortest of three whole runs (and of three idle ones): one
        # slowed by a load spike would move the window past the end of
        # most runs.
        whole = None
        for k in range(3):
            t.reset()
            rc, msg, took = timed_apply(d)
            expect(rc == 0, "a whole run: " + msg)
            expect(check_consistent(t, "whole run") == total, "a whole run left migrations out")
            whole = took if whole is None else min(whole, took)
        rng = random.Random(int(os.environ.get("DBREG_CRASH_SEED", str(os.getpid()))))
        killed = partial = 0
        for i in range(RUNS):
            t.reset()
            delay = rng.uniform(idle * 0.7, whole * 1.05)
            p = subprocess.Popen([DBREG, "apply", "-q"], cwd=d, env=dbreg_env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(delay)
            finished = p.poll() is not None
            if not finished:
                p.send_signal(signal.SIGKILL)
            p.wait()
            where = "%s run %d (killed after %.3f s; a whole run %.3f s)" % (label, i + 1, delay, whole)
            n = check_consistent(t, where)
            killed += not finished
            partial += not finished and 0 < n < total
            rc, out, err = run(["status"], d)
            expect(rc == 0, "%s: status exit %d: %s" % (where, rc, err))
            rc, msg, _ = timed_apply(d)
            expect(rc == 0, "%s: re-run exit %d: %s" % (where, rc, msg))
            expect(check_consistent(t, where + ", re-run") == total, "%s: re-run left migrations out" % where)
            rc, out, err = run(["verify"], d)
            expect(rc == 0, "%s: verify exit %d: %s" % (where, rc, out + err))
        print("# %s: %d runs, a whole run %.3f s (%.3f s with nothing to do): %d killed before the end, "
              "%d of them after a segment had committed" % (label, RUNS, whole, idle, killed, partial))
        expect(killed >= RUNS // 2, "only %d of %d runs were killed before they ended" % (killed, RUNS))
    finally:
        t.drop()
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(d0, ignore_errors=True)


@case
def sqlite_crashes():
    crash_runs(SqliteTarget, "sqlite")


@case
def postgres_crashes():
    need_pg()
    crash_runs(PgTarget, "postgres")


if __name__ == "__main__":
    sys.exit(main())
