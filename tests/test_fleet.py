#!/usr/bin/env python3
"""Fleets (issue 17): apply, plan, status --fleet over 20 PostgreSQL databases
and 20 SQLite files at once, asserted from every target's own history table.

usage: test_fleet.py DBREG TOMLS_DIR
The PostgreSQL databases are created through DBREG_TEST_PG_URL (the test
server's admin URL) and dropped at the end. Prints TAP."""
import hashlib
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, expect, main, need_pg, pg_drop, pg_url, project, run, run_json  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "fleet", timeout=180)
TOMLS, PG_URL = clitest.TOMLS, clitest.PG_URL
ALL_MIGRATIONS = sum(open(os.path.join(TOMLS, f), encoding="utf-8").read().count("\n[[migrations]]\n")
                     for f in os.listdir(TOMLS) if f.endswith(".toml"))
PASSWORD = PG_URL.split("://", 1)[1].split("@", 1)[0].partition(":")[2] if PG_URL and "@" in PG_URL else ""
# A table the fleet's migrations create, pre-created with other columns (and
# a row) on one target: its CREATE TABLE IF NOT EXISTS passes, its index fails.
CONFLICT = "CREATE TABLE ydtb_basic_notes (x integer); INSERT INTO ydtb_basic_notes VALUES (7);"
if PASSWORD:
    clitest.SECRETS.append(PASSWORD)


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-qtA", url, "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True,
                       text=True, check=True)
    return p.stdout.strip()


databases = []
clitest.cleanups.append(lambda: pg_drop(databases))


def pg_databases(prefix, n, suffixes=None):
    """n fresh databases; returns their URLs."""
    names = ["%s_%d_%02d%s" % (prefix, os.getpid(), i, (suffixes or {}).get(i, "")) for i in range(n)]
    sql = "".join("CREATE DATABASE %s;" % name for name in names)
    subprocess.run(["psql", "-X", "-q", PG_URL], input=sql, text=True, check=True, capture_output=True)
    databases.extend(names)
    return [pg_url(name) for name in names]


def redact(url):
    return url.replace(":" + PASSWORD + "@", ":***@") if PASSWORD else url


class Target:
    def __init__(self, url, path=None):
        self.url, self.path = url, path
        self.shown = redact(url) if path is None else url

    def query(self, sql):
        """Rows of a query on the target, or None when the history table is missing."""
        if self.path is None:
            out = psql(self.url, sql)
            return [tuple(line.split("|")) for line in out.splitlines() if line]
        if not os.path.exists(self.path):
            return None
        db = sqlite3.connect(self.path)
        try:
            return [tuple(str(v) for v in r) for r in db.execute(sql).fetchall()]
        finally:
            db.close()

    def has_history(self):
        if self.path is None:
            return psql(self.url, "SELECT to_regclass('ydtb_registry_migrations') IS NOT NULL") == "t"
        rows = self.query("SELECT name FROM sqlite_master WHERE name = 'ydtb_registry_migrations'")
        return bool(rows)

    def history(self):
        """(package, migration, applied_at) of every applied migration."""
        if self.path is None:
            # One psql per look: a missing history table is an empty history.
            p = subprocess.run(["psql", "-X", "-qtA", self.url, "-c",
                                "SELECT package, migration, applied_at FROM ydtb_registry_migrations"
                                " ORDER BY package, migration"], capture_output=True, text=True)
            if p.returncode != 0:
                expect("does not exist" in p.stderr, p.stderr)
                return []
            return [tuple(line.split("|")) for line in p.stdout.splitlines() if line]
        if not self.has_history():
            return []
        return self.query("SELECT package, migration, applied_at FROM ydtb_registry_migrations"
                          " ORDER BY package, migration")

    def exec(self, sql):
        if self.path is None:
            psql(self.url, sql)
        else:
            db = sqlite3.connect(self.path)
            db.executescript(sql)
            db.commit()
            db.close()


def assert_applied_once(t, extra=0):
    h = t.history()
    keys = [(r[0], r[1]) for r in h]
    want = ALL_MIGRATIONS + extra   # extra: the migrations of packages beyond tomls/
    expect(len(keys) == want, "%s: %d history rows, want %d" % (t.shown, len(keys), want))
    expect(len(set(keys)) == len(keys), "%s: a migration applied twice: %s" % (t.shown, keys))


def fleet_project(targets, canary=None, jobs=4, extra_tomls=None):
    d = project({"tomls/" + name: text for name, text in (extra_tomls or {}).items()})
    # SQLite targets by name in dbreg.toml, PostgreSQL ones in the URL file.
    lines = ["[fleets.tenants]", "urls_file = \"tenants.txt\"", "jobs = %d" % jobs]
    named = [t for t in targets if t.path is not None]
    lines.append("targets = [%s]" % ", ".join('"%s"' % t.url for t in named))
    if canary:
        lines.append("canary = [%s]" % ", ".join('"%s"' % c for c in canary))
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(d, "tenants.txt"), "w") as f:
        f.write("# one tenant database per line\n\n")
        for t in targets:
            if t.path is None:
                f.write(t.url + "\n")
    return d


def sqlite_targets(d, n):
    return [Target("sqlite:%s/tenant_%02d.db" % (d, i), "%s/tenant_%02d.db" % (d, i)) for i in range(n)]


def by_target(doc):
    return {t["target"]: t for t in doc["targets"]}


FLEET = {}


def forty():
    """The 40 targets of the first cases: 20 PostgreSQL, 20 SQLite."""
    if not FLEET:
        need_pg()
        files = project(with_tomls=False)
        FLEET["targets"] = [Target(u) for u in pg_databases("dbreg_fleet", 20)] + sqlite_targets(files, 20)
        FLEET["bad"] = FLEET["targets"][7]          # a PostgreSQL one
    return FLEET["targets"], FLEET["bad"]


@case
def a_failing_canary_leaves_every_other_target_untouched():
    targets, bad = forty()
    bad.exec(CONFLICT)
    d = fleet_project(targets, canary=[bad.url])
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 4 and doc["ok"] is False and doc["exit_code"] == 4, "exit %d: %s" % (rc, err))
    t = by_target(doc)
    expect(t[bad.shown]["status"] == "failed" and t[bad.shown]["canary"] is True, t[bad.shown])
    expect("0001_create_notes" in (t[bad.shown]["error"] or ""), t[bad.shown]["error"])
    others = [x for x in targets if x is not bad]
    expect(all(t[x.shown]["status"] == "not_reached" for x in others), [t[x.shown]["status"] for x in others])
    for x in others:
        expect(not x.has_history(), "%s was touched" % x.shown)
        expect(x.path is None or not os.path.exists(x.path), "%s was created" % x.path)
    # The canary was rolled back: its own table and row as they were.
    expect(not bad.has_history(), "the failed canary kept history rows")
    expect(bad.query("SELECT x FROM ydtb_basic_notes") == [("7",)], "the conflicting row changed")


@case
def on_error_continue_applies_the_other_39_then_resume_runs_the_failed_one_alone():
    targets, bad = forty()
    d = fleet_project(targets)
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--on-error", "continue", "--jobs", "4"], d)
    expect(rc == 4 and doc["exit_code"] == 4 and doc["ok"] is False, "exit %d: %s" % (rc, err))
    t = by_target(doc)
    expect(len(t) == 40, "targets: %d" % len(t))
    failed = [k for k, v in t.items() if not v["ok"]]
    expect(failed == [bad.shown], "failed: %s" % failed)
    expect(t[bad.shown]["failed"]["package"] == "@ydtb/basic", t[bad.shown])
    for x in targets:
        if x is bad:
            continue
        expect(t[x.shown]["status"] == "ok" and t[x.shown]["applied"] == ALL_MIGRATIONS, t[x.shown])
        assert_applied_once(x)
    expect(not bad.has_history(), "the failed target was not rolled back")
    expect(bad.query("SELECT x FROM ydtb_basic_notes") == [("7",)], "the failed target's row changed")
    with open(os.path.join(d, ".dbreg", "state.db"), "rb") as f:
        expect(PASSWORD.encode() not in f.read() if PASSWORD else True, "the password is in the state file")

    # The human status from the state file names the failed one.
    rc, out, err = run(["status", "--fleet", "tenants"], d)
    line = [l for l in out.splitlines() if bad.shown in l]
    expect(len(line) == 1 and "failed" in line[0], out)

    before = {x.shown: x.history() for x in targets if x is not bad}
    bad.exec("DROP TABLE ydtb_basic_notes;")
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume"], d)
    expect(rc == 0 and doc["ok"] is True, "exit %d: %s" % (rc, err))
    t = by_target(doc)
    ran = [k for k, v in t.items() if v["status"] != "done_before"]
    expect(ran == [bad.shown], "resume ran %s" % ran)
    expect(t[bad.shown]["applied"] == ALL_MIGRATIONS, t[bad.shown])
    assert_applied_once(bad)
    for x in targets:
        if x is not bad:
            expect(x.history() == before[x.shown], "%s changed on resume" % x.shown)

    # Nothing pending: every target answers with one read and nothing is
    # written (the SQLite files keep their bytes).
    sums = {x.path: hashlib.sha256(open(x.path, "rb").read()).hexdigest() for x in targets if x.path}
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["applied"] == 0 and v["ok"] for v in doc["targets"]), err)
    for p, s in sums.items():
        expect(hashlib.sha256(open(p, "rb").read()).hexdigest() == s, "%s was written by a no-op run" % p)
    rc, doc, err = run_json(["status", "--fleet", "tenants", "--refresh"], d)
    expect(rc == 0 and all(v["pending"] == 0 and v["installed"] == ALL_MIGRATIONS for v in doc["targets"]),
           json.dumps(doc)[:2000])


def server_counts(names):
    """Per database: its transactions, those of them rolled back (a failed
    statement), and the reads and writes of the registry's two tables, once no session is left on any of them (a
    backend hands its counts over before it leaves pg_stat_activity)."""
    listed = ", ".join("'%s'" % n for n in names)
    deadline = time.time() + 30
    while psql(PG_URL, "SELECT count(*) FROM pg_stat_activity WHERE datname IN (%s)" % listed) != "0":
        expect(time.time() < deadline, "sessions left on %s" % listed)
        time.sleep(0.01)
    return {n: tuple(int(v) for v in psql(pg_url(n), "SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database"
                                              " WHERE datname = current_database()),"
                                              " (SELECT xact_rollback FROM pg_stat_database"
                                              " WHERE datname = current_database()),"
                                              " sum(seq_scan + coalesce(idx_scan, 0)), sum(n_tup_ins + n_tup_upd + n_tup_del)"
                                              " FROM pg_stat_user_tables WHERE relname LIKE 'ydtb\\_registry\\_%'").split("|"))
            for n in names}


def minus(a, b):
    return {n: tuple(x - y for x, y in zip(a[n], b[n])) for n in a}


def noop_visit_counts(names, d, installed=None):
    """A no-op fleet apply's cost on each database: (transactions,
    rollbacks, table reads, writes), with what one look at the counters
    costs taken off. Autovacuum visits each database about once a minute
    and its transactions and reads count in the same figures: a
    measurement it disturbed is taken again, up to 8 times (under the
    suite's load 3 were seen to be too few: one look's cost came out
    negative, a read counted twice). installed: every target must say so
    many migrations are installed."""
    for attempt in range(8):
        a = server_counts(names)
        b = server_counts(names)
        rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
        expect(rc == 0 and all(v["applied"] == 0 and v["ok"] and (installed is None or v["installed"] == installed)
                               for v in doc["targets"]), json.dumps(doc)[:2000] + err)
        visit = minus(minus(server_counts(names), b), minus(b, a))
        if all(v == (2, 0, 2, 0) for v in visit.values()):
            break
    expect(all(v == (2, 0, 2, 0) for v in visit.values()),
           "transactions, rollbacks, reads, writes per target: %s" % visit)


def applied_sqlite_fleet(n):
    """n SQLite targets, one at a time, with every migration applied: (targets, project)."""
    targets = sqlite_targets(project(with_tomls=False), n)
    d = fleet_project(targets, jobs=1)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], err)
    return targets, d


@case
def targets_that_differ_by_an_undeclared_package_share_one_plan():
    # A package no manifest declares (installed by another tool, or one
    # since removed from the registry) changes neither the plan nor what it
    # records: such targets get the one plan of their history ("plan_shared"
    # on all but the first), also on a no-op visit (the digest of the
    # second target like another is found).
    targets, d = applied_sqlite_fleet(4)
    for t, extra in zip(targets[1:], ("@other/p0", "@other/p1", "@other/p1")):
        t.exec("INSERT INTO ydtb_registry_packages (name, version, installed_at)"
               " VALUES ('%s', '1.0.0', '2026-01-01T00:00:00Z')" % extra)
    with open(os.path.join(d, "tomls", "zlate.toml"), "w") as f:
        f.write(LATE)
    for action in (["plan"], ["apply"], ["apply"]):
        rc, doc, err = run_json(action + ["--fleet", "tenants"], d)
        expect(rc == 0 and doc["ok"], json.dumps(doc)[:2000] + err)
        built = [t["target"] for t in doc["targets"] if not t["plan_shared"]]
        expect(len(built) == 1, "%s: %d plans built for 4 targets of one history: %s"
               % (action[0], len(built), built))
    for t in targets:
        expect(("@ydtb/zlate", "001_late") in [(r[0], r[1]) for r in t.history()], t.shown)
    expect([r[0] for r in targets[1].query("SELECT name FROM ydtb_registry_packages ORDER BY name")]
           == ["@other/p0", "@ydtb/basic", "@ydtb/core", "@ydtb/zlate"], "the undeclared package stays installed")


@case
def a_noop_visit_is_one_query_on_each_postgresql_target():
    need_pg()
    targets = [Target(u) for u in pg_databases("dbreg_fleet_rt", 4)]
    names = [t.url.rsplit("/", 1)[1] for t in targets]
    d = fleet_project(targets, jobs=2)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], err)
    # A visit to a target with nothing to do: the session's start and one
    # query (the state file says the target has history, so no question
    # comes first), one read of each of the two tables, no write; it was
    # 1 + 4 transactions.
    noop_visit_counts(names, d)


OLD_HISTORY = """BEGIN;
CREATE TEMP TABLE rows AS SELECT package, migration, version, checksum, applied_at, duration_ms
  FROM ydtb_registry_migrations;
DROP TABLE ydtb_registry_migrations;
CREATE TABLE ydtb_registry_migrations (package text NOT NULL, migration text NOT NULL, version text NOT NULL,
  checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (package, migration));
INSERT INTO ydtb_registry_migrations SELECT * FROM rows ORDER BY applied_at;
COMMIT;"""


@case
def a_noop_visit_reads_a_history_table_from_before_statements_done_in_one_query():
    # A history table made by a dbreg from before statements_done (the
    # column a migration stopped part way records), with every row in it:
    # the no-op visit reads it in the same one query as any other, no
    # statement fails (the server would log an ERROR and count a rollback;
    # it did on every visit, then asked and read again), and nothing adds
    # the column (a no-op writes nothing).
    need_pg()
    targets = [Target(u) for u in pg_databases("dbreg_fleet_old", 2)]
    names = [t.url.rsplit("/", 1)[1] for t in targets]
    d = fleet_project(targets, jobs=2)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], err)
    old = targets[0]
    want = old.history()
    old.exec(OLD_HISTORY)
    column = "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ydtb_registry_migrations'::regclass" \
             " AND attname = 'statements_done'"
    expect(old.query(column) == [("0",)] and old.history() == want and len(want) == ALL_MIGRATIONS,
           "the old table was not made")
    noop_visit_counts(names, d, installed=ALL_MIGRATIONS)
    expect(old.query(column) == [("0",)] and old.history() == want, "the no-op visit changed the old table")
    # What was read is the history, row for row: the plan the state file
    # holds now (offline) and the target's own say nothing is pending.
    for flag in ([], ["--refresh"]):
        rc, doc, err = run_json(["status", "--fleet", "tenants"] + flag, d)
        expect(rc == 0 and all(v["pending"] == 0 and v["installed"] == ALL_MIGRATIONS for v in doc["targets"]),
               json.dumps(doc)[:2000])


LATE = """[package]
name = "@ydtb/zlate"
version = "1.0.0"
description = "A package added after the first run"

[dependencies]
"@ydtb/core" = "^1.0.0"

[[migrations]]
id = "001_late"
version = "1.0.0"
up_postgres = "SELECT 1;"
up_sqlite = "SELECT 1;"
"""


def state_copies(d):
    """The state file's copy of each target's history: {key: [(package,
    migration, applied_at)]} in its order, and the rowids of its rows."""
    db = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    try:
        rows = db.execute("SELECT target, package, migration, applied_at, rowid FROM history ORDER BY rowid").fetchall()
        digests = db.execute("SELECT count(*) FROM history_digests").fetchone()[0]
    finally:
        db.close()
    copies = {}
    for key, pkg, mig, at, _ in rows:
        copies.setdefault(key, []).append((pkg, mig, at))
    return copies, [r[4] for r in rows], digests


def copy_of(copies, t):
    keys = [k for k in copies if k.endswith(t.path if t.path else "/" + t.url.rsplit("/", 1)[1])]
    expect(len(keys) == 1, "no one copy of %s among %s" % (t.shown, list(copies)))
    return copies[keys[0]]


def late(copy):
    """applied_at of @ydtb/zlate's migration in a copy."""
    return {r[:2]: r[2] for r in copy}.get(("@ydtb/zlate", "001_late"))


@case
def the_state_files_copy_follows_each_target_and_a_no_op_visit_leaves_it_alone():
    # What offline planning works from (cli.md): the copy of each target's
    # history. A no-op visit whose history equals it writes nothing (a
    # digest per target tells, not a read of every row); a new migration
    # applied, or a history changed on the target by another hand, is
    # copied, row for row.
    need_pg()
    files = project(with_tomls=False)
    targets = [Target(pg_databases("dbreg_fleet_copy", 1)[0])] + sqlite_targets(files, 1)
    d = fleet_project(targets, jobs=2)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], err)
    copies, rowids, digests = state_copies(d)
    for t in targets:
        expect(len(copy_of(copies, t)) == ALL_MIGRATIONS, copy_of(copies, t))
    expect(digests == 2, "%d digests" % digests)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["applied"] == 0 for v in doc["targets"]), err)
    expect(state_copies(d) == (copies, rowids, digests), "a no-op visit rewrote the copy")

    # A real change: one more migration, planned offline from the copy,
    # applied, then in the copy.
    with open(os.path.join(d, "tomls", "zlate.toml"), "w") as f:
        f.write(LATE)
    rc, doc, err = run_json(["plan", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["pending"] == 1 for v in doc["targets"]), json.dumps(doc)[:1500] + err)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["applied"] == 1 for v in doc["targets"]), json.dumps(doc)[:1500] + err)
    copies, rowids, digests = state_copies(d)
    for t in targets:
        c = copy_of(copies, t)
        expect(len(c) == ALL_MIGRATIONS + 1 and c[-1][:2] == ("@ydtb/zlate", "001_late") and
               sorted(r[:2] for r in c) == sorted(r[:2] for r in t.history()), c[-3:])
    rc, doc, err = run_json(["plan", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["pending"] == 0 for v in doc["targets"]), json.dumps(doc)[:1500] + err)

    # The target's history changed by another hand, nothing pending: the
    # no-op visit copies it.
    when = "UPDATE ydtb_registry_migrations SET applied_at = '2099-02-03T04:05:06.789Z' WHERE package = '@ydtb/zlate'"
    for t in targets:
        t.exec(when)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["applied"] == 0 for v in doc["targets"]), err)
    copies, rowids, digests = state_copies(d)
    for t in targets:
        c = copy_of(copies, t)
        expect(late(c) == "2099-02-03T04:05:06.789Z" and len(c) == ALL_MIGRATIONS + 1, "%s: %s" % (t.shown, c))

    # A state file from before the digests (schema 7): a no-op visit
    # compares row by row, writes the digest and leaves the rows; a change
    # made meanwhile is copied. Schema 7 had no content stamps either: one
    # kept (when the run's write was over 100 ms before its record, as
    # under load) lets the SQLite target go unopened, and undigested.
    db = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    db.execute("DELETE FROM history_digests")
    db.execute("UPDATE cache_noop SET stamp = NULL")
    db.commit()
    db.close()
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["applied"] == 0 for v in doc["targets"]), err)
    expect(state_copies(d) == (copies, rowids, 2), "the copy changed, or no digest was written: %s" %
           (state_copies(d)[2],))
    db = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    db.execute("DELETE FROM history_digests")
    db.execute("UPDATE cache_noop SET stamp = NULL")
    db.commit()
    db.close()
    targets[1].exec(when.replace("2099", "2098"))
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0, err)
    copies, rowids, digests = state_copies(d)
    expect(late(copy_of(copies, targets[1])) == "2098-02-03T04:05:06.789Z" and
           late(copy_of(copies, targets[0])) == "2099-02-03T04:05:06.789Z" and digests == 2,
           "%s %s %d" % (late(copy_of(copies, targets[1])), late(copy_of(copies, targets[0])), digests))


@case
def a_state_file_with_digests_of_an_older_format_rewrites_no_copy_of_the_same_rows():
    # An older build wrote its digests in other bytes: every stored digest
    # differs from today's. A no-op visit compares the rows before it
    # rewrites a copy: the digest is written again, the rows are left.
    targets, d = applied_sqlite_fleet(3)
    state = os.path.join(d, ".dbreg", "state.db")
    db = sqlite3.connect(state)
    want = db.execute("SELECT target, digest FROM history_digests ORDER BY target").fetchall()
    db.executescript("UPDATE history_digests SET digest = 'sha256:' || lower(hex(randomblob(32)));"
                     "CREATE TABLE written (op TEXT);"
                     "CREATE TRIGGER history_del AFTER DELETE ON history BEGIN INSERT INTO written VALUES ('delete'); END;"
                     "CREATE TRIGGER history_ins AFTER INSERT ON history BEGIN INSERT INTO written VALUES ('insert'); END;")
    db.commit()
    db.close()
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["applied"] == 0 for v in doc["targets"]), json.dumps(doc)[:1500] + err)
    db = sqlite3.connect(state)
    written = db.execute("SELECT op, count(*) FROM written GROUP BY op ORDER BY op").fetchall()
    got = db.execute("SELECT target, digest FROM history_digests ORDER BY target").fetchall()
    db.close()
    expect(written == [], "rows of the copies rewritten: %s" % written)
    expect(got == want and len(got) == 3, "the digests were not written anew: %s" % got)
    # A copy that does differ is still rewritten.
    targets[1].exec("UPDATE ydtb_registry_migrations SET applied_at = '2099-02-03T04:05:06.789Z'"
                    " WHERE migration = (SELECT max(migration) FROM ydtb_registry_migrations)")
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0, err)
    db = sqlite3.connect(state)
    written = db.execute("SELECT op, count(*) FROM written GROUP BY op ORDER BY op").fetchall()
    db.close()
    expect(written == [("delete", ALL_MIGRATIONS), ("insert", ALL_MIGRATIONS)], "one copy rewritten: %s" % written)


def long_history(n=1000):
    """A package of n migrations (with core's and basic's, a history past
    fprint.c's FPRINT_MIN_ROWS): the first makes its table, the others
    change nothing."""
    lines = ['[package]', 'name = "@ydtb/longhist"', 'version = "1.0.0"', 'description = "A long history"', '',
             '[dependencies]', '"@ydtb/core" = "^1.0.0"', '',
             '[tables.ydtb_longhist_items]', 'description = "An item"', 'workspace_scoped = true', '',
             '[tables.ydtb_longhist_items.columns]', 'id = { type = "text", primary_key = true }', '',
             '[[migrations]]', 'id = "0000"', 'version = "1.0.0"',
             'up = "CREATE TABLE IF NOT EXISTS ydtb_longhist_items (id text PRIMARY KEY, workspace_id text NOT NULL'
             ' REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); CREATE INDEX IF NOT EXISTS'
             ' ydtb_longhist_items_workspace_id_idx ON ydtb_longhist_items (workspace_id);"', '']
    for i in range(1, n):
        lines += ['[[migrations]]', 'id = "%04d"' % i, 'version = "1.0.0"',
                  "up = \"UPDATE ydtb_longhist_items SET id = id WHERE id = 'none %d';\"" % i, '']
    return "\n".join(lines)


def trap_digest(t):
    """A textsend before pg_catalog's in t's search_path, counting the
    digest's evaluations in trap_log."""
    t.exec("CREATE TABLE trap_log (n integer); CREATE SCHEMA trap;"
           " CREATE FUNCTION trap.textsend(text) RETURNS bytea VOLATILE LANGUAGE sql"
           " AS $$ INSERT INTO public.trap_log VALUES (1); SELECT pg_catalog.textsend($1) $$;"
           " DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = public, trap, pg_catalog',"
           " current_database()); END$$;")


def untrap_digest(t):
    t.exec("DO $$BEGIN EXECUTE format('ALTER DATABASE %I RESET search_path', current_database()); END$$;")


def digest_evaluations(t):
    return int(t.query("SELECT count(*) FROM trap_log")[0][0])


@case
def a_short_history_is_digested_plainly_not_fingerprinted():
    # Below fprint.c's FPRINT_MIN_ROWS the fingerprint's statement costs a
    # visit more than the digest it saves: the state file keeps a short
    # history as such (no fingerprint), and each no-op visit digests.
    need_pg()
    pg = [Target(u) for u in pg_databases("dbreg_fleet_short", 2)]
    d = fleet_project(pg, jobs=1)
    for _ in range(3):
        rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
        expect(rc == 0 and doc["ok"], json.dumps(doc)[:1500] + err)
    db = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    rows = db.execute("SELECT fingerprint, n_rows FROM cache_fingerprints").fetchall()
    db.close()
    expect(len(rows) == 1 and rows[0][0] == "" and 0 < rows[0][1] < 1000, "kept: %s" % rows)
    trap_digest(pg[1])
    try:
        for k in range(1, 3):
            rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
            expect(rc == 0 and doc["ok"] and all(v["applied"] == 0 for v in doc["targets"]),
                   json.dumps(doc)[:1500] + err)
            expect(digest_evaluations(pg[1]) > 0, "visit %d digested nothing" % k)
    finally:
        untrap_digest(pg[1])


@case
def a_no_op_visit_whose_fingerprint_holds_digests_nothing():
    # Driver v12 registry_digest_since: a PostgreSQL target whose registry
    # tables' fingerprint is the one the state file kept with its digests
    # gets them without the server digesting a row. A textsend put before
    # pg_catalog's counts the digest's evaluations: none while nothing
    # changed, and a row changed by another hand is digested (and seen)
    # on its target alone. jobs 1: the first target reads its rows.
    need_pg()
    pg = [Target(u) for u in pg_databases("dbreg_fleet_fp", 3)]
    d = fleet_project(pg, jobs=1, extra_tomls={"longhist.toml": long_history()})
    for _ in range(3):
        rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
        expect(rc == 0 and doc["ok"], json.dumps(doc)[:1500] + err)
    state = os.path.join(d, ".dbreg", "state.db")
    db = sqlite3.connect(state)
    kept = db.execute("SELECT count(*) FROM cache_fingerprints WHERE fingerprint LIKE 'pgfp1:%'").fetchone()[0]
    db.close()
    expect(kept == 2, "fingerprints kept: %d" % kept)
    for t in pg[1:]:
        trap_digest(t)
    evaluated = digest_evaluations
    for _ in range(2):
        rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
        expect(rc == 0 and doc["ok"] and all(v["applied"] == 0 for v in doc["targets"]),
               json.dumps(doc)[:1500] + err)
        expect([evaluated(t) for t in pg[1:]] == [0, 0], "digested: %s" % [evaluated(t) for t in pg[1:]])
    last = ("SELECT migration FROM ydtb_registry_migrations WHERE package = '@ydtb/basic'"
            " ORDER BY migration DESC LIMIT 1")
    gone = pg[2].query(last)[0][0]
    pg[2].exec("DELETE FROM ydtb_registry_migrations WHERE package = '@ydtb/basic' AND migration = '%s'" % gone)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    got = by_target(doc)
    expect(rc == 0 and doc["ok"], json.dumps(doc)[:1500] + err)
    expect(got[pg[1].shown]["applied"] == 0 and got[pg[2].shown]["applied"] == 1, json.dumps(doc)[:1500])
    expect(evaluated(pg[1]) == 0 and evaluated(pg[2]) > 0,
           "digested: %s" % [evaluated(t) for t in pg[1:]])
    for t in pg:
        untrap_digest(t)
        assert_applied_once(t, extra=1000)


@case
def a_no_op_visit_by_digest_still_sees_a_history_changed_on_its_target():
    # A target seen before is read as one row of digests when the plan for
    # its history is cached (driver v10 registry_digest: the server, or
    # SQLite's driver without copying a row, digests the rows). A history
    # changed by another hand on one target must still be seen there as a
    # read of every row sees it: a removed row's migration runs again on
    # that target alone, a changed checksum fails that target (DBR045) and
    # writes nothing; the other targets stay no-ops. jobs 1: the first
    # target of each database reads its rows, the later ones take the
    # digest.
    need_pg()
    files = project(with_tomls=False)
    pg = [Target(u) for u in pg_databases("dbreg_fleet_drift", 3)]
    sq = sqlite_targets(files, 3)
    d = fleet_project(pg + sq, jobs=1)
    for _ in range(2):
        rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
        expect(rc == 0 and doc["ok"], json.dumps(doc)[:1500] + err)
    expect(all(v["applied"] == 0 and v["installed"] == ALL_MIGRATIONS for v in doc["targets"]),
           json.dumps(doc)[:1500])
    last = ("SELECT migration FROM ydtb_registry_migrations WHERE package = '@ydtb/basic'"
            " ORDER BY migration DESC LIMIT 1")
    gone = pg[1].query(last)[0][0]
    for t in (pg[1], sq[1]):
        t.exec("DELETE FROM ydtb_registry_migrations WHERE package = '@ydtb/basic' AND migration = '%s'" % gone)
    for t in (pg[2], sq[2]):
        t.exec("UPDATE ydtb_registry_migrations SET checksum = 'sha256:%s'"
               " WHERE package = '@ydtb/basic' AND migration = '%s'" % ("0" * 64, gone))
    before = {t.shown: t.history() for t in (pg[2], sq[2])}
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--on-error", "continue"], d)
    got = by_target(doc)
    expect(rc != 0 and not doc["ok"], "exit %d: %s" % (rc, json.dumps(doc)[:1500]))
    for t in (pg[0], sq[0]):
        expect(got[t.shown]["ok"] and got[t.shown]["applied"] == 0, json.dumps(got[t.shown]))
    for t in (pg[1], sq[1]):
        expect(got[t.shown]["ok"] and got[t.shown]["applied"] == 1, json.dumps(got[t.shown]))
        assert_applied_once(t)
    for t in (pg[2], sq[2]):
        expect(not got[t.shown]["ok"] and "DBR045" in (got[t.shown]["error"] or ""), json.dumps(got[t.shown]))
        expect(t.history() == before[t.shown], "%s: the failed target was written" % t.shown)
    # Put back, every target is a no-op again.
    for t in (pg[2], sq[2]):
        t.exec("DELETE FROM ydtb_registry_migrations WHERE package = '@ydtb/basic' AND migration = '%s'" % gone)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], json.dumps(doc)[:1500] + err)
    for t in pg + sq:
        assert_applied_once(t)
    # Only when a migration ran moved (nothing to plan differently): the
    # state file's copy still follows the target (its digest differs).
    for t in (pg[2], sq[2]):
        t.exec("UPDATE ydtb_registry_migrations SET applied_at = '2097-02-03T04:05:06.789Z'"
               " WHERE package = '@ydtb/basic' AND migration = '%s'" % gone)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["applied"] == 0 for v in doc["targets"]), json.dumps(doc)[:1500] + err)
    copies = state_copies(d)[0]
    for t in pg + sq:
        at = {r[:2]: r[2] for r in copy_of(copies, t)}[("@ydtb/basic", gone)]
        expect((at == "2097-02-03T04:05:06.789Z") == (t in (pg[2], sq[2])), "%s: the copy says %s" % (t.shown, at))


@case
def a_noop_single_apply_is_one_query_on_postgresql():
    # The same visit without a fleet: an apply whose state file knows the
    # registry and the target (its no-op memo) reads the history and the
    # packages in one query, no lock taken and nothing written; it was 4
    # queries, each a transaction of its own.
    need_pg()
    url = pg_databases("dbreg_noop_rt", 1)[0]
    name = url.rsplit("/", 1)[1]
    d = project({"dbreg.toml": '[targets.dev]\nurl = "%s"\n' % url})
    # Files changed in the last 100 ms are not trusted (cache.c): the memo
    # the measured run uses is stored by a run made after that.
    time.sleep(0.2)
    for _ in range(2):   # the second run stores the memo the third one uses
        rc, out, err = run(["apply", "-q"], d)
        expect(rc == 0, out + err)
    for attempt in range(3):
        a = server_counts([name])
        b = server_counts([name])
        rc, out, err = run(["apply", "-v"], d)
        expect(rc == 0 and "nothing to re-read" in err, out + err)
        visit = minus(minus(server_counts([name]), b), minus(b, a))
        if visit[name] == (2, 0, 2, 0):
            break
    expect(visit[name] == (2, 0, 2, 0), "transactions, rollbacks, reads, writes: %s" % (visit,))


@case
def on_error_stop_leaves_the_targets_not_started_alone():
    need_pg()
    files = project(with_tomls=False)
    pg = [Target(u) for u in pg_databases("dbreg_fleet_stop", 2)]
    targets = pg + sqlite_targets(files, 4)
    pg[0].exec(CONFLICT)
    d = fleet_project(targets, jobs=1)
    rc, out, err = run(["apply", "--fleet", "tenants"], d)
    expect(rc == 4, "exit %d: %s" % (rc, err))
    # urls_file targets come after the named ones: the 4 SQLite files ran first.
    for x in targets[2:]:
        assert_applied_once(x)
    expect("not reached" in out and "--resume" in out, out)
    expect(not pg[1].has_history(), "a target after the failure was started")
    expect(not pg[0].has_history(), "the failed target was not rolled back")
    expect("[5/6] FAILED" in out, out)
    # --max-failures 2 with --on-error continue: both PostgreSQL ones run.
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume", "--on-error", "continue"], d)
    expect(rc == 4 and [v["status"] for v in doc["targets"]][4:] == ["failed", "ok"], json.dumps(doc)[:1500])
    assert_applied_once(pg[1])


# Planned right after core (ties go by name), so it shares the first
# transaction with core's and basic's first migrations.
FAULT = """[package]
name = "@ydtb/afault"
version = "1.0.0"
description = "Faults on demand, by database name"

[dependencies]
"@ydtb/core" = "^1.0.0"

[[migrations]]
id = "001_fault"
version = "1.0.0"
up_postgres = \"\"\"
DO $$ BEGIN
  IF current_database() LIKE '%_gone' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
  IF current_database() LIKE '%_slow' THEN PERFORM pg_sleep(0.6); END IF;
END $$;
\"\"\"
up_sqlite = "SELECT 1;"
"""


@case
def a_target_that_goes_away_mid_run_fails_alone_and_rolls_back():
    need_pg()
    urls = pg_databases("dbreg_fleet_gone", 4, {2: "_gone"})
    targets = [Target(u) for u in urls]
    d = fleet_project(targets, extra_tomls={"afault.toml": FAULT})
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--on-error", "continue"], d)
    expect(rc in (3, 4), "exit %d: %s" % (rc, err))
    t = by_target(doc)
    gone = targets[2]
    expect(not t[gone.shown]["ok"] and t[gone.shown]["error"], t[gone.shown])
    expect("001_fault" in t[gone.shown]["error"], t[gone.shown]["error"])
    expect(not gone.has_history(), "the target that went away kept a partial run: %s" % gone.history())
    expect(t[gone.shown]["installed"] == 0, t[gone.shown])
    for x in targets:
        if x is not gone:
            expect(t[x.shown]["ok"] and len(x.history()) == ALL_MIGRATIONS + 1, t[x.shown])


# PostgreSQL's own advice for a failure: "out of shared memory" comes with
# the hint to raise max_locks_per_transaction (a very large plan). An event
# trigger makes one target refuse every CREATE INDEX with a detail and a
# hint of its own, the way the server gives them.
REFUSE_INDEXES = """CREATE FUNCTION refuse_indexes() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'no index may be built here'
    USING DETAIL = 'the tenant is read by a replica', HINT = 'raise max_indexes_per_tenant';
END $$;
CREATE EVENT TRIGGER refuse_indexes ON ddl_command_start WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION refuse_indexes();"""


@case
def a_failed_target_says_the_servers_detail_and_hint():
    need_pg()
    targets = [Target(u) for u in pg_databases("dbreg_fleet_hint", 2)]
    bad = targets[1]
    bad.exec(REFUSE_INDEXES)
    d = fleet_project(targets)
    said = "no index may be built here (SQLSTATE P0001); detail: the tenant is read by a replica; " \
           "hint: raise max_indexes_per_tenant"
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--on-error", "continue"], d)
    expect(rc == 4, "exit %d: %s" % (rc, err))
    t = by_target(doc)
    expect(t[targets[0].shown]["ok"], t[targets[0].shown])
    expect(not t[bad.shown]["ok"] and t[bad.shown]["failed"], t[bad.shown])
    expect((t[bad.shown]["error"] or "").endswith("failed: " + said), t[bad.shown]["error"])
    expect(not bad.has_history(), "the refused target kept history rows")
    # The human report gives the same line.
    rc, out, err = run(["apply", "--fleet", "tenants"], d)
    expect(rc == 4 and ("failed: " + said) in out + err, out + err)


@case
def a_failed_target_is_named_once_whatever_failed():
    # audit aeng 10 / asurf 8: a connect failure's error began with the URL,
    # which the per-target line and the summary give before it, so they said
    # it twice; a migration failure's did not. The error names no target, the
    # report names it once, for every kind of failure.
    need_pg()
    ok, bad = [Target(u) for u in pg_databases("dbreg_fleet_once", 2)]
    bad.exec(REFUSE_INDEXES)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()   # nothing listens there now: refused
    gone = Target("postgres://u:pw@127.0.0.1:%d/x" % port)
    gone.shown = "postgres://u:***@127.0.0.1:%d/x" % port
    d = fleet_project([ok, bad, gone], jobs=1)
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--on-error", "continue"], d)
    t = by_target(doc)
    expect(rc in (3, 4) and t[ok.shown]["ok"], "exit %d: %s" % (rc, json.dumps(doc)[:1500]))
    for x, words in ((bad, "migration "), (gone, "cannot connect to PostgreSQL at 127.0.0.1")):
        e = t[x.shown]["error"] or ""
        expect(e.startswith(words) and x.shown not in e, "%s: %r" % (x.shown, e))
    rc, out, err = run(["apply", "--fleet", "tenants", "--resume", "--on-error", "continue"], d)
    expect(rc in (3, 4), "exit %d: %s" % (rc, out + err))
    for x in (bad, gone):
        lines = [l for l in out.splitlines() if x.shown in l]
        # the per-target line and the summary's "failed:" line
        expect(len(lines) == 2 and all(l.count(x.shown) == 1 for l in lines), "%s:\n%s" % (x.shown, out))
        expect(any(l.strip().startswith("failed: %s: " % x.shown) for l in lines), out)
    rc, out, err = run(["status", "--fleet", "tenants"], d)
    for x in (bad, gone):
        lines = [l for l in out.splitlines() if x.shown in l]
        expect(len(lines) == 1 and lines[0].count(x.shown) == 1, "%s:\n%s" % (x.shown, out))


@case
def sigint_stops_starting_targets_and_the_record_says_what_happened():
    need_pg()
    urls = pg_databases("dbreg_fleet_int", 5, {i: "_slow" for i in range(5)})
    targets = [Target(u) for u in urls]
    d = fleet_project(targets, jobs=1, extra_tomls={"afault.toml": FAULT})
    e = clitest.dbreg_env()
    p = subprocess.Popen([clitest.DBREG, "apply", "--fleet", "tenants"], cwd=d, env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()          # the header
    first = p.stdout.readline()          # the first target done
    time.sleep(0.25)
    p.send_signal(signal.SIGINT)         # while the second one runs its 0.6 s step
    out, err = p.communicate(timeout=60)
    expect(p.returncode == 130, "exit %d: %s %s" % (p.returncode, out, err))
    expect("INTERRUPTED" in out, out)
    done = [x for x in targets if x.has_history()]
    expect(2 <= len(done) < 5, "%d targets ran" % len(done))
    for x in done:
        expect(len(x.history()) == ALL_MIGRATIONS + 1, "%s: a partial run" % x.shown)
    rc, doc, err = run_json(["status", "--fleet", "tenants"], d)
    expect(doc["interrupted"] is True, doc)
    statuses = [v["last_run"] for v in doc["targets"]]
    expect(statuses == ["ok"] * len(done) + ["not_reached"] * (5 - len(done)), statuses)
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume"], d)
    expect(rc == 0, err)
    ran = [v["target"] for v in doc["targets"] if v["status"] == "ok"]
    expect(ran == [x.shown for x in targets[len(done):]], ran)


@case
def init_fleet_verifies_each_target_and_plan_fleet_changes_nothing():
    files = project(with_tomls=False)
    targets = sqlite_targets(files, 3)
    d = fleet_project(targets, jobs=2)
    rc, doc, err = run_json(["plan", "--fleet", "tenants", "--refresh"], d)
    expect(rc == 0 and all(v["pending"] == ALL_MIGRATIONS and len(v["steps"]) == ALL_MIGRATIONS
                           for v in doc["targets"]), json.dumps(doc)[:1500])
    expect(not any(os.path.exists(t.path) for t in targets), "plan --fleet created a database")
    rc, doc, err = run_json(["init", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], err)
    for t in targets:
        assert_applied_once(t)
    # A column dropped by hand on one target: init verifies and names it (exit 6).
    targets[1].exec("ALTER TABLE ydtb_basic_notes DROP COLUMN body;")
    rc, doc, err = run_json(["init", "--fleet", "tenants", "--on-error", "continue"], d)
    t = by_target(doc)
    expect(rc == 6 and not t[targets[1].shown]["ok"] and "body" in t[targets[1].shown]["error"], json.dumps(doc)[:1500])
    expect(t[targets[0].shown]["ok"] and t[targets[2].shown]["ok"], doc)


@case
def a_fleet_apply_is_not_answered_by_the_default_targets_no_op_cache():
    # apply's shortcut knows the default target only: with --fleet it
    # answered "applied 0 migrations" for sqlite:ydtb.db and left the fleet.
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.f]\ntargets = ["sqlite:t1.db", "sqlite:t2.db"]\n')
    time.sleep(0.2)   # files changed in the last 100 ms are not trusted (cache.c)
    for _ in range(2):
        rc, out, err = run(["apply", "-q"], d)
        expect(rc == 0, out + err)
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 0 and "nothing to re-read" in err, "the shortcut is not armed, the case proves nothing: " + err)
    # Without --json, which the shortcut leaves to the long way anyway.
    rc, out, err = run(["apply", "--fleet", "f"], d)
    expect(rc == 0 and "fleet f: apply on 2 targets" in out, "%d %s" % (rc, out + err))
    rc, doc, err = run_json(["status", "--fleet", "f", "--refresh"], d)
    expect(rc == 0 and [(t["installed"], t["pending"]) for t in doc["targets"]] == [(ALL_MIGRATIONS, 0)] * 2, json.dumps(doc)[:1500])
    expect(os.path.exists(os.path.join(d, "t1.db")) and os.path.exists(os.path.join(d, "t2.db")), os.listdir(d))
    # A fleet's options without --fleet are refused, not ignored (an
    # --resume that runs the one target), the shortcut armed or not.
    for opt in (["--resume"], ["--on-error", "stop"], ["--max-failures", "1"], ["--jobs", "2"]):
        rc, out, err = run(["apply"] + opt, d)
        expect(rc == 2 and "add --fleet NAME" in err and opt[0] in err, "%s: %d %s" % (opt, rc, out + err))


@case
def init_fleet_waits_for_a_refused_target_as_init_does():
    # cli.md: init retries a refused connection for --wait SECONDS before
    # exit 3; with --fleet too (each target was tried once).
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()   # nothing listens there now: refused
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.g]\ntargets = ["sqlite:g1.db", "postgres://u:pw@127.0.0.1:%d/x"]\n' % port)
    took = {}
    for wait in ("0", "2"):
        t = time.time()
        rc, doc, err = run_json(["init", "--fleet", "g", "--on-error", "continue", "--wait", wait], d)
        took[wait] = time.time() - t
        if "cannot load libpq" in json.dumps(doc):
            raise clitest.Skip("no libpq")
        t = by_target(doc)
        bad = t["postgres://u:***@127.0.0.1:%d/x" % port]
        expect(rc == 3 and bad["exit_code"] == 3 and "cannot connect" in bad["error"] and t["sqlite:g1.db"]["ok"],
               "--wait %s: %d %s" % (wait, rc, json.dumps(doc)[:1500]))
    expect(took["0"] < 1.5 and took["2"] >= 1.9, "init --fleet did not wait: %s" % took)


@case
def init_fleet_stops_waiting_for_a_refused_target_at_sigint():
    # review-7 #5: the wait (--wait 20) ends at SIGINT; the target is told
    # as not reached, not failed with "cannot connect" twice.
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.g]\ntargets = ["postgres://u:pw@127.0.0.1:%d/x"]\n' % port)
    t = time.time()
    p = subprocess.Popen([clitest.DBREG, "init", "--json", "--fleet", "g", "--wait", "20"], cwd=d,
                         env=clitest.dbreg_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    took = time.time() - t
    if "cannot load libpq" in out:
        raise clitest.Skip("no libpq")
    doc = json.loads(out)
    bad = doc["targets"][0]
    expect(p.returncode == 130 and doc["exit_code"] == 130 and doc["interrupted"] is True, "%d %s" % (p.returncode, out))
    expect(bad["status"] == "not_reached" and "interrupted" in bad["error"]
           and bad["error"].count("cannot connect") == 1, bad)
    expect(took < 4, "the wait went on after SIGINT: %.1f s" % took)


@case
def a_first_sigint_records_the_run_and_resume_runs_what_it_left():
    # What --resume reads after the first SIGINT of a --json run: the target
    # that finished is left alone; the one stopped in its wait to connect
    # and the one never started run again.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()   # nothing listens there now: refused
    refused = "postgres://u:***@127.0.0.1:%d/x" % port
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.g]\njobs = 1\ntargets = ["sqlite:g1.db", "%s", "sqlite:g2.db"]\n'
                % refused.replace("***", "pw"))
    p = subprocess.Popen([clitest.DBREG, "init", "--json", "--fleet", "g", "--wait", "20"], cwd=d,
                         env=clitest.dbreg_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline and p.poll() is None and not os.path.exists(os.path.join(d, "g1.db")):
        time.sleep(0.02)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    if "cannot load libpq" in out:
        raise clitest.Skip("no libpq")
    doc = json.loads(out)
    got = [(v["target"], v["status"]) for v in doc["targets"]]
    expect(p.returncode == 130 and doc["interrupted"] is True and
           got == [("sqlite:g1.db", "ok"), (refused, "not_reached"), ("sqlite:g2.db", "not_reached")],
           "%d %s" % (p.returncode, out))
    rc, doc, err = run_json(["status", "--fleet", "g"], d)
    expect(doc["interrupted"] is True and [v["last_run"] for v in doc["targets"]] == ["ok", "not_reached", "not_reached"],
           json.dumps(doc)[:1500])
    rc, doc, err = run_json(["init", "--fleet", "g", "--resume", "--wait", "0", "--on-error", "continue"], d)
    t = by_target(doc)
    expect(rc == 3 and t["sqlite:g1.db"]["status"] == "done_before" and t[refused]["status"] == "failed"
           and "cannot connect" in t[refused]["error"] and t["sqlite:g2.db"]["status"] == "ok"
           and t["sqlite:g2.db"]["applied"] == ALL_MIGRATIONS, "%d %s" % (rc, json.dumps(doc)[:1500]))


@case
def a_second_sigint_during_a_json_fleet_still_prints_one_document():
    # review-7 #1: the second SIGINT went to SIG_DFL (SA_RESETHAND), not to
    # the --json handler: exit by the signal and no document.
    need_pg()
    urls = pg_databases("dbreg_fleet_int2", 2, {0: "_slow", 1: "_slow"})
    d = fleet_project([Target(u) for u in urls], jobs=1, extra_tomls={"afault.toml": FAULT})
    p = subprocess.Popen([clitest.DBREG, "apply", "--json", "--fleet", "tenants"], cwd=d, env=clitest.dbreg_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The first target's 0.6 s step is running: the fleet's handler is in place.
    first = databases[-2]
    deadline = time.time() + 60
    while time.time() < deadline and p.poll() is None and psql(
            PG_URL, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND state = 'active'"
            " AND query LIKE '%%pg_sleep%%'" % first) == "0":
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    doc = json.loads(out) if out.strip() else {}
    expect(p.returncode == 130 and doc.get("exit_code") == 130 and doc.get("ok") is False,
           "exit %d, stdout %r" % (p.returncode, out[:500]))


def pg_active(db, words):
    """Whether a statement holding words runs on database db now."""
    return psql(PG_URL, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND state = 'active'"
                " AND query LIKE '%%%s%%'" % (db, words)) != "0"


@case
def a_signal_that_ends_a_json_fleet_run_still_writes_the_fleet_document():
    # The handler's document held main's keys only: no "fleet", no
    # "targets". It says each target as far as it got: the first finished,
    # the second running (its transaction rolled back), the third never
    # started; the state file's record lets --resume run the two.
    need_pg()
    for how, signals, code in (("SIGINT", [signal.SIGINT, signal.SIGINT], 130), ("SIGTERM", [signal.SIGTERM], 143)):
        urls = pg_databases("dbreg_fleet_sig%d" % code, 3, {1: "_slow", 2: "_slow"})
        targets = [Target(u) for u in urls]
        d = fleet_project(targets, jobs=1, extra_tomls={"afault.toml": FAULT})
        p = subprocess.Popen([clitest.DBREG, "apply", "--json", "--fleet", "tenants"], cwd=d,
                             env=clitest.dbreg_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None and not pg_active(databases[-2], "pg_sleep"):
            time.sleep(0.02)
        for k, sig in enumerate(signals):
            time.sleep(0.1 if k else 0)
            p.send_signal(sig)
        out, err = p.communicate(timeout=60)
        try:
            doc = json.loads(out)
        except ValueError:
            doc = {}
        expect(p.returncode == code and doc.get("exit_code") == code and doc.get("ok") is False
               and ("interrupted by " + how) in doc["error"]["message"], "%s: exit %d, %r" % (how, p.returncode, out))
        expect(doc.get("fleet") == "tenants" and doc.get("command") == "apply" and doc.get("interrupted") is True
               and isinstance(doc.get("ms"), int), "%s: %r" % (how, out))
        got = [(v["target"], v["status"], v["ok"], v["exit_code"]) for v in doc.get("targets", [])]
        expect(got == [(targets[0].shown, "ok", True, 0), (targets[1].shown, "interrupted", False, None),
                       (targets[2].shown, "not_reached", False, None)], "%s: %s" % (how, got))
        first, running, never = doc["targets"]
        expect(first["applied"] == ALL_MIGRATIONS + 1 and first["repaired"] == [] and first["error"] is None, first)
        expect(running["applied"] is None and "interrupted before it finished" in running["error"], running)
        expect(never["applied"] == 0 and never["error"] == "not reached: interrupted", never)
        expect(len(targets[0].history()) == ALL_MIGRATIONS + 1, "%s: the first target lost rows" % how)
        expect(targets[1].history() == [] and targets[2].history() == [], "%s: a partial run stayed" % how)
        # --resume: the interrupted and the unstarted target (and the first
        # again, a no-op, when its record was lost with the open batch).
        rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume"], d)
        t = by_target(doc)
        expect(rc == 0 and all(t[x.shown]["status"] == "ok" and t[x.shown]["applied"] == ALL_MIGRATIONS + 1
                               for x in targets[1:]), "%s: resume: %d %s" % (how, rc, json.dumps(doc)[:1500]))
        expect(t[targets[0].shown]["status"] in ("ok", "done_before") and t[targets[0].shown]["applied"] == 0,
               t[targets[0].shown])
        for x in targets:
            assert_applied_once(x, extra=1)


def rls_owner_fleet(n):
    """n databases owned by a login role that is not a superuser (FORCE
    binds it), a fleet of them as that role, and [isolation]
    row_level_security: (project, URLs, shown URLs)."""
    need_pg()
    owner = "dbreg_fleet_rls_%d" % os.getpid()
    names = ["%s_%d" % (owner, i) for i in range(n)]
    psql(PG_URL, "CREATE ROLE %s LOGIN PASSWORD 'secret-%s' NOSUPERUSER NOBYPASSRLS" % (owner, owner))
    for name in names:
        psql(PG_URL, "CREATE DATABASE %s OWNER %s" % (name, owner))

    def drop():
        pg_drop(names)
        subprocess.run(["psql", "-X", "-q", PG_URL, "-c", "DROP ROLE IF EXISTS %s" % owner], capture_output=True)
    clitest.cleanups.append(drop)
    clitest.SECRETS.append("secret-" + owner)
    host = PG_URL.split("@", 1)[1].rsplit("/", 1)[0]
    urls = ["postgresql://%s:secret-%s@%s/%s" % (owner, owner, host, name) for name in names]
    d = fleet_project([Target(u) for u in urls])
    with open(os.path.join(d, "dbreg.toml"), "a") as f:
        f.write("\n[isolation]\nrow_level_security = true\n")
    return d, urls, [u.replace(":secret-%s@" % owner, ":***@") for u in urls]


def notes_seen(url, workspace):
    """The workspaces of the notes the owner sees with the workspace set."""
    p = subprocess.run(["psql", "-X", "-qtA", "-v", "ON_ERROR_STOP=1", url], capture_output=True, text=True,
                       check=True, input="BEGIN;\nSELECT set_config('app.workspace_id', '%s', true) \\g /dev/null\n"
                       "SELECT coalesce(string_agg(workspace_id, ',' ORDER BY workspace_id), '') FROM ydtb_basic_notes;\n"
                       "COMMIT;\n" % workspace)
    return p.stdout.strip()


@case
def a_fleet_says_per_target_which_row_level_security_it_made_again():
    # apply and init --fleet dropped the result's repaired lines, and a
    # target with nothing pending was not even repaired: the visit was one
    # read. Now each target's object lists them and stderr warns per target.
    d, urls, shown = rls_owner_fleet(2)
    rc, doc, err = run_json(["init", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], "init: %d %s %s" % (rc, doc, err))
    for u in urls:
        psql(pg_url(u.rsplit("/", 1)[1]),   # the superuser: the policies do not bind it
             "INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'One', 'one'), ('w2', 'Two', 'two');"
             " INSERT INTO ydtb_basic_notes (id, workspace_id, title) VALUES ('n1', 'w1', 'one'), ('n2', 'w2', 'two')")
        expect(notes_seen(u, "w1") == "w1", "the policy does not bind the owner")
    off = "ALTER TABLE ydtb_basic_notes DISABLE ROW LEVEL SECURITY"
    said = "ydtb_basic_notes: row-level security was off: enabled"
    psql(urls[1], off)
    expect(notes_seen(urls[1], "w1") == "w1,w2", "DISABLE did not open the table")
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0, "apply: %d %s" % (rc, err))
    expect(notes_seen(urls[1], "w1") == "w1" and notes_seen(urls[0], "w1") == "w1", "apply did not close the table")
    t = by_target(doc)
    expect(t[shown[1]].get("repaired") == [said] and t[shown[0]].get("repaired") == [],
           "apply: %s" % json.dumps(doc)[:2000])
    # Without --json: a warning line per table, prefixed by its target.
    psql(urls[0], off)
    rc, out, err = run(["init", "--fleet", "tenants"], d)
    expect(rc == 0 and ("warning: %s: %s\n" % (shown[0], said)) in err and shown[1] not in err,
           "init: %d %s %s" % (rc, out, err))
    expect(notes_seen(urls[0], "w1") == "w1", "init did not close the table")
    # Nothing left to make again: nothing said.
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and [v["repaired"] for v in doc["targets"]] == [[], []] and "row-level" not in err,
           "%d %s %s" % (rc, json.dumps(doc)[:1500], err))
    rc, out, err = run(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and "warning" not in err, err)


def urls_file_fleet(text):
    """A project whose fleet t is the urls_file t.txt holding text."""
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.t]\nurls_file = "t.txt"\n')
    with open(os.path.join(d, "t.txt"), "w") as f:
        f.write(text)
    return d


@case
def urls_file_comments_start_at_a_hash_after_a_blank():
    # cli.md: urls_file is one URL per line, ${NAME} expanded, # comments:
    # a comment after a URL too; a # inside a word belongs to the URL.
    d = urls_file_fleet("# tenants\nsqlite:${FLEET_DIR}/a.db   # tenant a\n\t# indented comment\n"
                        "sqlite:${FLEET_DIR}/b#1.db\n")
    rc, out, err = run(["apply", "--fleet", "t", "--json"], d, env={"FLEET_DIR": d})
    expect(rc == 0, err)
    doc = json.loads(out)
    got = sorted(t["target"] for t in doc["targets"])
    expect(got == ["sqlite:%s/a.db" % d, "sqlite:%s/b#1.db" % d], got)
    # The keys of cli.md's apply --fleet document.
    expect(doc["fleet"] == "t" and doc["ok"] is True, doc)
    for t in doc["targets"]:
        expect({"target", "ok", "exit_code", "applied", "ms", "error"} <= set(t) and t["ok"] is True and
               t["exit_code"] == 0 and t["applied"] > 0 and isinstance(t["ms"], int) and t["error"] is None, t)
    expect(sorted(n for n in os.listdir(d) if n.endswith(".db")) == ["a.db", "b#1.db"], os.listdir(d))


@case
def a_urls_file_line_that_is_only_a_variable_is_expanded():
    # cli.md: urls_file has one URL per line, ${NAME} expanded; a line that
    # is only ${TENANT_URL} (the way dbreg.toml's url = "${DATABASE_URL}"
    # is written) was read as the name of an undefined target (exit 2).
    d = urls_file_fleet("${TENANT_URL}   # from the environment\nsqlite:${FLEET_DIR}/b.db\n")
    rc, out, err = run(["apply", "--fleet", "t", "--json"], d,
                       env={"FLEET_DIR": d, "TENANT_URL": "sqlite:%s/a.db" % d})
    expect(rc == 0, "exit %d: %s" % (rc, err))
    got = sorted(t["target"] for t in json.loads(out)["targets"])
    expect(got == ["sqlite:%s/a.db" % d, "sqlite:%s/b.db" % d], got)
    rc, out, err = run(["apply", "--fleet", "t", "--json"], d, env={"FLEET_DIR": d})
    expect(rc == 2 and "TENANT_URL" in json.loads(out)["error"]["message"], "unset: %d %s" % (rc, out))


@case
def the_state_file_keeps_the_last_10_runs_of_each_fleet():
    # Each run adds a row per target to fleet_targets; older runs of the
    # fleet are dropped when a new one starts (57k rows were seen before).
    # A file that grew before that (200 runs seeded here, and 30 of a
    # fleet that does not run) and 25 real runs: 10 runs of this fleet
    # left, the other fleet's untouched; --resume and status still answer
    # from the last run.
    files = project(with_tomls=False)
    targets = sqlite_targets(files, 3)
    d = fleet_project(targets, jobs=2)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and doc["ok"], err)
    state = os.path.join(d, ".dbreg", "state.db")

    def counts():
        db = sqlite3.connect(state)
        try:
            return db.execute("SELECT (SELECT count(*) FROM fleet_runs WHERE fleet = 'tenants'),"
                              " (SELECT count(*) FROM fleet_targets WHERE run IN"
                              "  (SELECT id FROM fleet_runs WHERE fleet = 'tenants')),"
                              " (SELECT count(*) FROM fleet_runs WHERE fleet = 'gone'),"
                              " (SELECT count(*) FROM fleet_targets WHERE run IN"
                              "  (SELECT id FROM fleet_runs WHERE fleet = 'gone')),"
                              " (SELECT count(*) FROM fleet_targets WHERE run NOT IN (SELECT id FROM fleet_runs))"
                              ).fetchone()
        finally:
            db.close()

    db = sqlite3.connect(state)
    for fleet, runs in (("tenants", 200), ("gone", 30)):
        for _ in range(runs):
            run_id = db.execute("INSERT INTO fleet_runs (fleet, command, started_at, finished_at, outcome)"
                                " VALUES (?, 'apply', '2020-01-01T00:00:00Z', '2020-01-01T00:00:01Z', 'ok')",
                                (fleet,)).lastrowid
            db.executemany("INSERT INTO fleet_targets (run, target, status) VALUES (?, ?, 'ok')",
                           [(run_id, t.url) for t in targets])
    db.commit()
    db.close()
    expect(counts() == (201, 603, 30, 90, 0), counts())

    def run_ids():
        db = sqlite3.connect(state)
        try:
            return [r[0] for r in db.execute("SELECT id FROM fleet_runs WHERE fleet = 'tenants' ORDER BY id")]
        finally:
            db.close()

    seen = run_ids()
    for i in range(25):
        rc, out, err = run(["-q", "apply", "--fleet", "tenants"], d)
        expect(rc == 0, err)
        expect(counts() == (10, 30, 30, 90, 0), "after run %d: %s" % (i + 1, counts()))
        # The newest 10 are the ones kept, the run just made among them.
        kept = run_ids()
        seen += [k for k in kept if k not in seen]
        expect(kept == seen[-10:] and len(seen) == 202 + i, "after run %d: kept %s of %s" % (i + 1, kept, seen[-12:]))
    # The last run, a failure, is what --resume and status answer from.
    bad = targets[1]
    with open(bad.path, "wb") as f:
        f.write(b"not a database, " * 64)
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--on-error", "continue"], d)
    expect(rc == 3 and [t["target"] for t in doc["targets"] if not t["ok"]] == [bad.shown], "%d %s %s" % (rc, err, json.dumps(doc)[:1500]))
    expect(counts() == (10, 30, 30, 90, 0), counts())
    rc, doc, err = run_json(["status", "--fleet", "tenants"], d)
    t = by_target(doc)
    expect(rc == 0 and [t[x.shown]["last_run"] for x in targets] == ["ok", "failed", "ok"],
           json.dumps(doc)[:2000])
    rc, out, err = run(["status", "--fleet", "tenants"], d)
    line = [l for l in out.splitlines() if bad.shown in l]
    expect(len(line) == 1 and "failed" in line[0], out)
    os.remove(bad.path)
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume"], d)
    expect(rc == 0 and doc["ok"], err)
    t = by_target(doc)
    ran = [k for k, v in t.items() if v["status"] != "done_before"]
    expect(ran == [bad.shown] and t[bad.shown]["applied"] == ALL_MIGRATIONS, "resume ran %s" % ran)
    assert_applied_once(bad)
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume"], d)
    expect(rc == 0 and all(v["status"] == "done_before" for v in doc["targets"]), json.dumps(doc)[:1500])
    expect(counts() == (10, 30, 30, 90, 0), counts())


@case
def status_fleet_after_a_resume_says_what_the_run_that_did_each_target_got_and_when():
    # audit aeng 11: a resume leaves the targets done before alone and
    # recorded them as done_before, so after one with nothing left every
    # target's last run was "done_before" and when it was applied was lost.
    d = project()
    targets = sqlite_targets(d, 2)
    d = fleet_project(targets)
    bad = targets[1]
    with open(bad.path, "wb") as f:
        f.write(b"not a database, " * 64)
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--on-error", "continue"], d)
    expect(rc == 3, "%d %s" % (rc, err))

    def status():
        rc, doc, err = run_json(["status", "--fleet", "tenants"], d)
        t = by_target(doc)
        return [(t[x.shown]["last_run"], t[x.shown]["at"]) for x in targets]

    (s0, at0), (s1, _) = status()
    expect(s0 == "ok" and at0 and s1 == "failed", status())
    os.remove(bad.path)
    time.sleep(1.1)   # the records are to the second
    rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume"], d)
    t = by_target(doc)
    expect(rc == 0 and t[targets[0].shown]["status"] == "done_before" and t[bad.shown]["status"] == "ok",
           json.dumps(doc)[:1500])
    after = status()
    expect(after[0] == ("ok", at0) and after[1][0] == "ok" and after[1][1] > at0, after)
    for _ in range(2):
        time.sleep(1.1)
        rc, doc, err = run_json(["apply", "--fleet", "tenants", "--resume"], d)
        expect(rc == 0 and all(v["status"] == "done_before" for v in doc["targets"]), json.dumps(doc)[:1500])
        expect(status() == after, "%s, want %s" % (status(), after))
    rc, out, err = run(["status", "--fleet", "tenants"], d)
    for x, (_, at) in zip(targets, after):
        line = [l for l in out.splitlines() if x.shown in l]
        expect(len(line) == 1 and line[0].split()[1:3] == ["ok", at], out)
    # A run that runs them again records them anew.
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(v["status"] == "ok" for v in doc["targets"]), json.dumps(doc)[:1500])
    expect(all(s == "ok" and at > after[1][1] for s, at in status()), status())


@case
def a_quoted_keyword_value_in_urls_file_keeps_its_hash():
    # A libpq keyword string whose quoted value holds " #" (review 6,
    # finding 4: the line was cut there, silently): read as libpq reads
    # it, a quoted value ends at its unescaped closing quote and a
    # backslash escapes a blank; the comment after the string still goes.
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.k]\nurls_file = "k.txt"\n')
    lines = ["host=127.0.0.1 port=1 dbname='x #y' password='sec #r\\'et'   # tenant x",
             "host=127.0.0.1 port=1 dbname=a\\ #b application_name = 'n #1'",
             "sqlite:${FLEET_DIR}/o'brien.db # a quote in a URL is a character"]
    with open(os.path.join(d, "k.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    rc, out, err = run(["status", "--fleet", "k", "--json"], d, env={"FLEET_DIR": d})
    doc = json.loads(out)
    got = [t["target"] for t in doc["targets"]]
    expect(got == ["host=127.0.0.1 port=1 dbname='x #y' password='***'",
                   "host=127.0.0.1 port=1 dbname=a\\ #b application_name = 'n #1'",
                   "sqlite:%s/o'brien.db" % d], "%d %s %s" % (rc, got, err))
    expect("sec" not in out + err and "et'" not in out + err, out + err)


@case
def targets_not_reached_are_not_ok_and_the_summary_says_why():
    files = project(with_tomls=False)
    targets = sqlite_targets(files, 4)
    with open(targets[1].path, "w") as f:
        f.write("not a database, " * 512)
    d = fleet_project(targets, canary=[targets[0].url], jobs=1)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    t = by_target(doc)
    expect(rc == 3 and t[targets[1].shown]["status"] == "failed", "exit %d: %s" % (rc, json.dumps(doc)[:1500]))
    for x in targets[2:]:
        # Never started: not a success, and no exit code of its own.
        got = t[x.shown]
        expect(got["status"] == "not_reached" and got["ok"] is False and got["exit_code"] is None
               and got["error"] == "not reached: the run stopped at the failure limit", got)
    expect(t[targets[0].shown]["ok"] is True and t[targets[0].shown]["exit_code"] == 0, t[targets[0].shown])
    # Resumed, the canary is done before; the same failure stops the rest
    # again, and no canary failed.
    rc, out, err = run(["apply", "--fleet", "tenants", "--resume"], d)
    expect(rc == 3 and "2 targets not reached (the run stopped at the failure limit)" in out
           and "canary" not in out, "exit %d: %s" % (rc, out + err))


class TlsCounter:
    """A TCP proxy in front of the test server that counts the connections
    opening with an SSLRequest (8 bytes: length 8, code 80877103) while
    forwarding every byte both ways."""
    SSL_REQUEST = struct.pack("!II", 8, 80877103)

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.upstream = (u.hostname, u.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url_netloc, self.netloc = u.netloc, u.netloc.rsplit("@", 1)[0] + "@127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.connections = self.tls_requests = 0
        threading.Thread(target=self.accept, daemon=True).start()
        clitest.cleanups.append(self.listener.close)

    def via(self, url):
        return url.replace(self.url_netloc, self.netloc, 1)

    def counts(self):
        """(connections, SSLRequests) since the last call."""
        with self.lock:
            got = (self.connections, self.tls_requests)
            self.connections = self.tls_requests = 0
        return got

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        server = socket.create_connection(self.upstream)
        first = b""
        while len(first) < 8:
            chunk = client.recv(8 - len(first))
            if not chunk:
                break
            first += chunk
        with self.lock:
            self.connections += 1
            self.tls_requests += first == self.SSL_REQUEST
        server.sendall(first)
        clitest.splice(client, server)


@case
def a_server_that_refuses_tls_is_asked_once_a_run_unless_sslmode_is_named():
    need_pg()
    # The test server has no TLS: libpq's sslmode=prefer asks, gets 'N' and
    # goes on in plaintext, a round trip each connection.
    expect(psql(PG_URL, "SHOW ssl") == "off", "the test server has TLS")
    proxy = TlsCounter(PG_URL)
    urls = [proxy.via(u) for u in pg_databases("dbreg_tls", 3)]
    d = fleet_project([Target(u) for u in urls], jobs=1)
    named = fleet_project([Target(u + "?sslmode=prefer") for u in urls], jobs=1)
    rc, doc, err = run_json(["apply", "--fleet", "tenants"], d)
    expect(rc == 0 and all(t["applied"] == ALL_MIGRATIONS for t in doc["targets"]), "exit %d: %s" % (rc, err))
    conns, tls = proxy.counts()
    expect(conns >= 3 and tls == 1, "cold: %d connections, %d asked for TLS, want 1" % (conns, tls))
    # A no-op run, a connection a target: the first asks, for the run.
    for cwd, env, want in [(d, None, 1), (named, None, 3), (d, {"PGSSLMODE": "prefer"}, 3)]:
        rc, doc, err = run_json(["apply", "--fleet", "tenants"], cwd, env=env)
        expect(rc == 0 and all(t["applied"] == 0 for t in doc["targets"]), "exit %d: %s" % (rc, err))
        got = proxy.counts()
        expect(got == (3, want), "no-op %s: (connections, TLS requests) %s, want %s"
               % ("sslmode named" if want == 3 else "run", got, (3, want)))


@case
def a_refusal_of_tls_is_forgotten_after_10_seconds_in_a_process_that_stays():
    need_pg()
    # watch outlives a run: a refusal it learnt is kept 10 s, then the next
    # connection asks again (a server may have turned TLS on since).
    proxy = TlsCounter(PG_URL)
    url = proxy.via(pg_databases("dbreg_tlsw", 1)[0])
    d = project({"dbreg.toml": '[targets.dev]\nurl = "%s"\ndev = true\n' % url})
    proc = subprocess.Popen([clitest.DBREG, "watch", "--json"], cwd=d, env=clitest.dbreg_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    clitest.cleanups.append(lambda: proc.poll() is None and (proc.kill(), proc.wait()))

    def round_after(edit):
        """The counts of a round: the first, or one after a new package
        (something to apply)."""
        t = time.monotonic()
        if edit:
            rc, out, err = run(["new", "package", "tlsw%d" % edit], d)
            expect(rc == 0, "new package: %s" % err)
        doc = json.loads(proc.stdout.readline())
        expect(doc["ok"] and (not edit or doc["applied"] > 0), "round %d: %s" % (edit, doc))
        return proxy.counts(), t

    (conns, tls), learnt = round_after(0)
    expect(conns >= 1 and tls == 1, "first round: %d connections, %d asked for TLS, want 1" % (conns, tls))
    # watch keeps its connection across rounds; it connects again when the
    # server ended the session.
    db = url.rsplit("/", 1)[1]
    kick = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s' "
            "AND application_name = 'dbreg'" % db)
    expect(psql(PG_URL, kick) == "1", "no session of watch's")
    (conns, tls), t = round_after(1)
    expect(t - learnt < 10 and conns >= 1 and tls == 0,
           "within 10 s: %d connections, %d asked for TLS, want 0" % (conns, tls))
    time.sleep(max(0.0, learnt + 10.5 - time.monotonic()))
    expect(psql(PG_URL, kick) == "1", "no session of watch's")
    (conns, tls), _ = round_after(2)
    expect(conns >= 1 and tls == 1, "after 10 s: %d connections, %d asked for TLS, want 1" % (conns, tls))
    proc.send_signal(signal.SIGTERM)
    expect(proc.wait(timeout=20) == 0, "watch exit")


@case
def fleet_usage_errors_and_bad_fleets():
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.a]\ntargets = ["sqlite:x.db", "sqlite:x.db"]\n'
                '[fleets.b]\nurls_file = "missing.txt"\n'
                '[fleets.c]\ntargets = ["sqlite:y.db"]\ncanary = ["sqlite:z.db"]\n'
                '[fleets.d]\ntargets = ["nosuch"]\n')
    for fleet, words in [("a", "listed twice"), ("b", "missing.txt"), ("c", "canary"), ("d", "unknown target"),
                         ("zz", "unknown fleet")]:
        rc, out, err = run(["apply", "--fleet", fleet], d)
        expect(rc == 2 and words in err, "%s: exit %d: %s" % (fleet, rc, err))
    rc, out, err = run(["apply", "--fleet", "a", "--target", "sqlite:q.db"], d)
    expect(rc == 2, err)
    rc, out, err = run(["apply", "--fleet", "a", "--on-error", "maybe"], d)
    expect(rc == 2, err)
    # plan --sql prints one target's script: not ignored with --fleet.
    rc, out, err = run(["plan", "--fleet", "a", "--sql"], d)
    expect(rc == 2 and "--sql" in err and out == "", "%d %s" % (rc, out + err))
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.a]\ntargetz = ["sqlite:x.db"]\njobs = 0\n')
    rc, out, err = run(["validate"], d)
    expect(rc == 1 and "DBR013" in err + out and "jobs" in err + out, err + out)


if __name__ == "__main__":
    # Extra arguments name the cases to run (all when none).
    sys.exit(main(timed=True, only=tuple(sys.argv[3:])))
