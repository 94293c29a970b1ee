#!/usr/bin/env python3
"""Golden and end-to-end tests of the dbreg command, as a user runs it.

usage: test_cli.py DBREG TOMLS_DIR
Each case copies a project into a fresh temporary folder, runs build/dbreg
there and asserts its exit code, whole output lines and JSON documents.
PostgreSQL cases use DBREG_TEST_PG_URL (a fresh database per case); they fail
without it unless DBREG_TEST_NO_PG=1. Prints TAP."""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import Skip, case, expect, main, made, pg_database, project, run, run_json  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "cli")
DBREG, TOMLS, PG_URL = clitest.DBREG, clitest.TOMLS, clitest.PG_URL
# Every migration of the real manifests, so a new one changes no figure here.
ALL_MIGRATIONS = sum(open(os.path.join(TOMLS, f), encoding="utf-8").read().count("\n[[migrations]]\n")
                     for f in os.listdir(TOMLS) if f.endswith(".toml"))


def sha(path):
    with open(path, "rb") as fp:
        return hashlib.sha256(fp.read()).hexdigest()


BASIC_BAD = """[package]
name = "@ydtb/bad"
version = "1.0.0"

[tables.notes]
description = "no prefix"
workspace_scoped = true

[tables.notes.columns]
id = { type = "text", primary_key = true }
"""


@case
def validate_real_manifests_exit_0():
    d = project()
    rc, out, err = run(["validate"], d)
    expect(rc == 0, "exit %d: %s" % (rc, err))
    expect(re.search(r"^2 packages, 0 errors, \d+ warnings?$", err, re.M), err)


@case
def output_that_cannot_be_written_is_no_success():
    # A plan --sql to a full disk, a --json document to a closed
    # descriptor: exit 0 with a truncated or empty file made a CI step
    # "succeed" (audit asurf 5). Said on stderr, and not 0.
    d = project()
    for args, where in ((["plan", "--sql"], "/dev/full"), (["validate", "--json"], "/dev/full"),
                        (["status"], "/dev/full"), (["--version"], None), (["history", "--json"], None)):
        if where:
            with open(where, "w") as out:
                p = subprocess.run([clitest.DBREG] + args, cwd=d, stdout=out, stderr=subprocess.PIPE, text=True,
                                   env=clitest.dbreg_env(None), timeout=60)
        else:
            p = subprocess.run([clitest.DBREG] + args, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=clitest.dbreg_env(None), timeout=60, pass_fds=(),
                               preexec_fn=lambda: os.close(1))
        expect(p.returncode != 0 and "cannot write to standard output" in p.stderr,
               "%s > %s: exit %d, %s" % (args, where or "closed", p.returncode, p.stderr))
    # Output that fits is as before.
    rc, out, err = run(["plan", "--sql"], d)
    expect(rc == 0 and "COMMIT;" in out and "cannot write" not in err, (rc, err))


TX_BODY = """

[[migrations]]
id = "0099_tx"
version = "1.1.0"
up = '''
DELETE FROM ydtb_basic_notes;
COMMIT;
BEGIN;
SELECT no_such_function();
'''
"""


@case
def a_body_with_transaction_statements_of_its_own_is_refused_and_changes_nothing():
    # A COMMIT in a body committed the run so far (rows deleted, history
    # written) though the run then said "nothing was changed": validate
    # did not flag it, and apply ran the body before the checks beside it
    # answered (audit aman 1-2). Now DBR048 at the statement, and neither
    # a PostgreSQL nor a SQLite target is touched.
    d = project()
    with open(os.path.join(d, "tomls", "basic.toml"), "a") as fp:
        fp.write(TX_BODY)
    rc, doc, err = run_json(["validate"], d)
    found = [(x["code"], x["line"]) for x in doc["diagnostics"] if x["code"] == "DBR048"]
    lines = open(os.path.join(d, "tomls", "basic.toml")).read().split("\n")
    at = [i + 1 for i, l in enumerate(lines) if l in ("COMMIT;", "BEGIN;")]
    expect(rc == 1 and found == [("DBR048", at[0]), ("DBR048", at[1])], (rc, found, at))
    # Statements PostgreSQL also refuses in a transaction, and words that
    # are no transaction statement (a DO block's BEGIN ... END, CASE ... END).
    with open(os.path.join(d, "tomls", "basic.toml"), "w") as fp:
        fp.write("\n".join(lines).replace(TX_BODY.strip("\n"), ""))
    with open(os.path.join(d, "tomls", "basic.toml"), "a") as fp:
        fp.write('\n[[migrations]]\nid = "0098"\nversion = "1.1.0"\nup_sqlite = "SELECT 1;"\nup_postgres = \'\'\'\n'
                 'CLUSTER;\nREINDEX DATABASE postgres;\nREINDEX TABLE ydtb_basic_notes;\n'
                 'ALTER DATABASE postgres SET TABLESPACE pg_default;\n'
                 'DO $$ BEGIN PERFORM 1; END $$;\nSELECT CASE WHEN true THEN 1 END;\n\'\'\'\n')
    rc, doc, err = run_json(["validate"], d)
    msgs = sorted(x["message"].split(" cannot")[0] for x in doc["diagnostics"] if x["code"] == "DBR048")
    expect(msgs == ["ALTER DATABASE ... SET TABLESPACE", "CLUSTER without a table", "REINDEX DATABASE"], msgs)
    for url in (None, "pg"):
        d = project()
        target = []
        if url:
            pg, drop = pg_database()
            clitest.cleanups.append(drop)
            target = ["--target", pg]
        rc, out, err = run(["apply", "-q"] + target, d)
        expect(rc == 0, err)
        seed = ("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w');"
                "INSERT INTO ydtb_basic_notes (id, workspace_id, title) VALUES ('n1', 'w1', 't');")
        count = "SELECT count(*) FROM ydtb_basic_notes"
        if url:
            subprocess.run(["psql", "-X", "-q", pg, "-c", seed], check=True, capture_output=True)
            rows = lambda: subprocess.run(["psql", "-X", "-At", pg, "-c", count], capture_output=True,
                                          text=True).stdout.strip()
        else:
            db = os.path.join(d, "ydtb.db")
            with sqlite3.connect(db) as c:
                c.executescript(seed)
            rows = lambda: str(sqlite3.connect(db).execute(count).fetchone()[0])
        with open(os.path.join(d, "tomls", "basic.toml"), "a") as fp:
            fp.write(TX_BODY)
        # A fresh state file: the checks run beside the apply.
        shutil.rmtree(os.path.join(d, ".dbreg"))
        rc, out, err = run(["apply"] + target, d)
        expect(rc == 1 and "DBR048" in err and "nothing was changed" in err, (url, rc, err))
        expect(rows() == "1", "%s: the body's COMMIT kept its DELETE" % (url or "sqlite"))
        if not url:
            # With the checks bypassed (a development target), SQLite's
            # driver refuses the statement itself: rolled back, exit 4.
            rc, out, err = run(["apply", "--allow", "DBR047,DBR048"], d)
            expect(rc == 4 and "transaction statement of the body's own" in err, (rc, err))
            expect(rows() == "1", "sqlite: the body's COMMIT kept its DELETE under --allow")


@case
def validate_json_has_contract_keys():
    d = project({"tomls/bad.toml": BASIC_BAD})
    rc, out, err = run(["validate", "--json"], d)
    expect(rc == 1, "exit %d" % rc)
    doc = json.loads(out)
    expect(doc["ok"] is False, doc)
    keys = {"code", "severity", "message", "file", "line", "column", "package", "table", "migration", "hint"}
    for diag in doc["diagnostics"]:
        expect(keys <= set(diag), "missing keys in %s" % diag)
    dbr020 = [x for x in doc["diagnostics"] if x["code"] == "DBR020"]
    expect(len(dbr020) == 1, doc)
    x = dbr020[0]
    expect((x["file"], x["line"], x["column"], x["table"]) == ("tomls/bad.toml", 5, 9, "notes"), x)
    expect(x["hint"] == 'rename it "ydtb_notes"', x)


@case
def validate_human_line_format():
    d = project({"tomls/bad.toml": BASIC_BAD})
    rc, out, err = run(["validate"], d)
    expect(rc == 1, "exit %d" % rc)
    expect('tomls/bad.toml:5:9: error[DBR020]: table "notes" must start with "ydtb_" (hint: rename it "ydtb_notes")'
           in err.splitlines(), err)


@case
def a_finding_stays_on_one_line_whatever_a_name_holds():
    # A TOML key or value may hold a newline or an escape sequence; the
    # human line shows them escaped (JSON keeps the value as it is).
    bad = ('[package]\nname = "@ydtb/nl"\nversion = "1.0.0"\n'
           '[tables."ydtb_nl\\nx"]\ndescription = "x"\nworkspace_scoped = true\n'
           '[tables."ydtb_nl\\nx".columns]\nid = { type = "text", primary_key = true }\n'
           '"c\\u001b[31m" = { type = "te\\nxt" }\n')
    d = project({"tomls/nl.toml": bad})
    rc, out, err = run(["validate"], d)
    expect(rc == 1 and "\x1b" not in err, "exit %d: %r" % (rc, err))
    lines = err.splitlines()
    expect('tomls/nl.toml:4:9: error[DBR025]: table name "ydtb_nl\\nx" is not a valid SQL identifier: it may hold '
           "only lowercase letters, digits and '_' (hint: rename it \"ydtb_nl_x\")" in lines, err)
    expect('tomls/nl.toml:9:1: error[DBR025]: column name "c\\x1b[31m" is not a valid SQL identifier: it may hold '
           "only lowercase letters, digits and '_' (hint: rename it \"c__31m\")" in lines, err)
    expect(all(re.match(r"^(tomls/\w+\.toml:\d+:\d+: (error|warning)\[DBR\d+\]: |\d+ packages?, )", l) for l in lines),
           err)
    rc, out, err = run(["validate", "--json"], d)
    tables = {g["table"] for g in json.loads(out)["diagnostics"]}
    expect("ydtb_nl\nx" in tables, out)


@case
def validate_toml_syntax_error_is_dbr001():
    d = project({"tomls/broken.toml": "[package]\nname = \"@ydtb/x\"\nversion = 1.0.0\n"})
    rc, out, err = run(["validate"], d)
    expect(rc == 1, "exit %d" % rc)
    expect(re.search(r"^tomls/broken\.toml:3:\d+: error\[DBR001\]", err, re.M), err)


@case
def json_is_one_document_on_every_failure():
    d = project({"tomls/bad.toml": BASIC_BAD})
    for cmd in (["plan"], ["apply"], ["init"], ["status"], ["verify"], ["down", "@ydtb/basic", "--to", "1.0.0"]):
        rc, out, err = run(cmd + ["--json"], d)
        expect(rc == 1, "%s: exit %d" % (cmd, rc))
        doc = json.loads(out)
        expect(doc["ok"] is False, doc)
        if cmd[0] in ("plan", "apply", "init", "down"):
            expect(any(x["code"] == "DBR020" for x in doc["diagnostics"]), doc)
    d = project({"dbreg.toml": '[targets.dev]\nurl = "postgres://u:pw@127.0.0.1:1/db"\n'})
    for cmd in (["apply"], ["verify"], ["init", "--wait", "0"], ["plan", "--refresh"]):
        rc, out, err = run(cmd + ["--json"], d)
        doc = json.loads(out)
        expect(rc == 3 and doc["ok"] is False and doc["exit_code"] == 3, "%s: %d %s" % (cmd, rc, out))
    rc, out, err = run(["plan", "--json", "extra"], d)
    expect(rc == 2 and json.loads(out)["ok"] is False, out)


@case
def apply_refuses_what_validate_refuses():
    bad = open(os.path.join(TOMLS, "basic.toml")).read()
    bad = bad.replace('CREATE TABLE IF NOT EXISTS "ydtb_basic_notes"', 'CREATE TABLE "ydtb_basic_notes"', 1)
    d = project()
    with open(os.path.join(d, "tomls", "basic.toml"), "w") as fp:
        fp.write(bad)
    rc, out, err = run(["validate"], d)
    expect(rc == 1 and "DBR043" in err, err)
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "DBR043" in err, "exit %d: %s" % (rc, err))
    expect(not os.path.exists(os.path.join(d, "ydtb.db")), "apply touched the target")


LATE_PKG = """[package]
name = "@t/late"
version = "1.0.0"

[dependencies]
"@ydtb/core" = "^1.0.0"

[tables.ydtb_late_items]
description = "items"
workspace_scoped = true

[tables.ydtb_late_items.columns]
id = { type = "text", primary_key = true }
title = { type = "text", not_null = true }
%s
[[migrations]]
id = "0001_items"
version = "1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS ydtb_late_items (
  id text PRIMARY KEY NOT NULL,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  title text NOT NULL
);
\"\"\"
down = "DROP TABLE IF EXISTS ydtb_late_items;"

[[migrations]]
id = "0002_index"
version = "1.0.0"
transaction = false
up = "CREATE INDEX IF NOT EXISTS ydtb_late_items_workspace_id_idx ON ydtb_late_items (workspace_id);"
down = "DROP INDEX IF EXISTS ydtb_late_items_workspace_id_idx;"
""".replace('\\"', '"')
# What only the replay (DBR047) finds: a declared column no migration makes.
LATE_BAD = LATE_PKG % 'never = { type = "text" }\n'


def diag_lines(err):
    return [line for line in err.splitlines() if re.match(r"^\S+:\d+:\d+: (error|warning)\[DBR\d+\]", line)]


def sqlite_dump(path):
    import sqlite3
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


@case
def a_cold_apply_refused_by_the_replay_reports_as_validate_and_creates_no_file():
    # Issue 18: from a fresh checkout the SQL checks run beside the apply
    # and must pass before its first commit (here the split before a
    # transaction = false step): the report is validate's, the target none.
    d = project({"tomls/late.toml": LATE_BAD})
    rc, out, err = run(["validate"], d)
    want = diag_lines(err)
    expect(rc == 1 and any("error[DBR047]" in line and "never" in line for line in want), err)
    shutil.rmtree(os.path.join(d, ".dbreg"), ignore_errors=True)
    rc, out, err = run(["apply"], d)
    expect(rc == 1, "exit %d: %s" % (rc, out + err))
    expect(diag_lines(err) == want, "apply said:\n%s\nvalidate said:\n%s" % (err, "\n".join(want)))
    expect(err.splitlines()[-1] == "dbreg: the manifests have 1 error; nothing was changed", err)
    expect(out == "", out)
    expect(not os.path.exists(os.path.join(d, "ydtb.db")), "the refused run left a database file")
    # The same registry made valid applies, split at that step.
    with open(os.path.join(d, "tomls", "late.toml"), "w") as fp:
        fp.write(LATE_PKG % "")
    shutil.rmtree(os.path.join(d, ".dbreg"), ignore_errors=True)
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "in 3 transactions (a migration with transaction = false or foreign_keys = false ran on its own)"
           in out, out + err)
    expect(any("CREATE TABLE ydtb_late_items" in line for line in sqlite_dump(os.path.join(d, "ydtb.db"))), out + err)


def applied_with_data(command):
    """A project whose SQLite target `command` (apply, init) built, with a
    row in ydtb_workspaces; returns the folder and the database's path."""
    import sqlite3
    d = project()
    rc, out, err = run([command, "-q"], d)
    expect(rc == 0, out + err)
    db = os.path.join(d, "ydtb.db")
    con = sqlite3.connect(db)
    con.execute("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'one', 'one')")
    con.commit()
    con.close()
    return d, db


@case
def a_cold_apply_refused_by_the_replay_leaves_a_target_with_data_as_it_was():
    d, db = applied_with_data("apply")
    before = sqlite_dump(db)
    with open(os.path.join(d, "tomls", "late.toml"), "w") as fp:
        fp.write(LATE_BAD)
    rc, out, err = run(["validate"], d)
    want = diag_lines(err)
    expect(rc == 1 and want, err)
    shutil.rmtree(os.path.join(d, ".dbreg"))
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and diag_lines(err) == want, "exit %d:\n%s\nwant:\n%s" % (rc, err, "\n".join(want)))
    expect(sqlite_dump(db) == before, "the refused run changed the target")


@case
def a_cold_apply_that_fails_on_the_target_reports_as_a_warm_one_and_refused_checks_come_first():
    # The target holds a view where @ydtb/basic creates a table: the apply
    # fails at run time. From a fresh checkout (SQL checks beside the
    # apply) it says exactly what a run with the registry known valid says;
    # with a replay finding as well, the finding is the report (exit 1).
    import sqlite3
    d = project()
    db = os.path.join(d, "ydtb.db")
    con = sqlite3.connect(db)
    con.execute("CREATE VIEW ydtb_basic_notes AS SELECT 1 AS id")
    con.commit()
    con.close()
    before = sqlite_dump(db)
    rc, cold_out, cold_err = run(["apply"], d)
    expect(rc == 4 and "nothing was changed" in cold_err, "exit %d: %s" % (rc, cold_out + cold_err))
    rc, warm_out, warm_err = run(["apply"], d)
    expect(rc == 4 and (warm_out, warm_err) == (cold_out, cold_err),
           "cold:\n%s%s\nwarm:\n%s%s" % (cold_out, cold_err, warm_out, warm_err))
    expect(sqlite_dump(db) == before, "the failed run changed the target")
    with open(os.path.join(d, "tomls", "late.toml"), "w") as fp:
        fp.write(LATE_BAD)
    rc, out, err = run(["validate"], d)
    want = diag_lines(err)
    shutil.rmtree(os.path.join(d, ".dbreg"))
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and diag_lines(err) == want and "views may not be indexed" not in err,
           "exit %d:\n%s\nwant:\n%s" % (rc, err, "\n".join(want)))
    expect(sqlite_dump(db) == before, "the refused run changed the target")


@case
def a_registry_validated_once_is_checked_again_when_it_changes():
    # The state file remembers registries that passed the SQL checks; an
    # edit must bring the checks back.
    d = project()
    rc, out, err = run(["init", "-q", "--to", "@ydtb/basic@1.0.0"], d)
    expect(rc == 0, out + err)
    path = os.path.join(d, "tomls", "basic.toml")
    text = open(path).read()
    text = text.replace('CREATE TABLE IF NOT EXISTS "ydtb_basic_note_tags"', 'CREATE TABLE "ydtb_basic_note_tags"', 1)
    open(path, "w").write(text)
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "DBR043" in err, "exit %d: %s" % (rc, err))


def stderr_on_a_terminal(args, cwd, env):
    """dbreg ARGS with its standard error on a pseudo-terminal: what it wrote there."""
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.run([DBREG] + args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=slave, timeout=60)
        os.close(slave)
        slave = None
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the other end is closed and drained
                break
            if not chunk:
                break
            got += chunk
        return p.returncode, got.decode("utf-8", "replace")
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


@case
def colour_on_a_terminal_and_neither_with_no_color_nor_the_option():
    # cli.md: --no-color, also the NO_COLOR environment variable.
    d = project({"tomls/bad.toml": BASIC_BAD})
    plain = dict(os.environ)
    plain.pop("NO_COLOR", None)
    rc, err = stderr_on_a_terminal(["validate"], d, plain)
    expect(rc == 1 and "\x1b[" in err and "error" in err, "no colour on a terminal: %r" % err[:300])
    rc, err = stderr_on_a_terminal(["validate", "--no-color"], d, plain)
    expect(rc == 1 and "\x1b" not in err and "error" in err, "--no-color: %r" % err[:300])
    rc, err = stderr_on_a_terminal(["validate"], d, dict(plain, NO_COLOR="1"))
    expect(rc == 1 and "\x1b" not in err and "error" in err, "NO_COLOR: %r" % err[:300])


@case
def isolation_workspace_keys_in_dbreg_toml_turns_on_dbr106():
    # cli.md: [isolation] workspace_keys = true gives DBR106 warnings.
    codes = {}
    for keys in ("false", "true"):
        d = project({"dbreg.toml": "[isolation]\nworkspace_keys = %s\n" % keys})
        rc, out, err = run(["validate", "--json"], d)
        codes[keys] = [x["severity"] for x in json.loads(out)["diagnostics"] if x["code"] == "DBR106"]
        expect(rc == 0, out + err)
    expect(codes["false"] == [] and codes["true"] and set(codes["true"]) == {"warning"}, codes)


@case
def two_runs_creating_the_state_file_at_once_both_succeed():
    # The state file's switch to WAL needs the file alone; the second run
    # must wait for it, not fail with "database is locked".
    e = dict(os.environ, NO_COLOR="1")
    for _ in range(30):
        d = project()
        procs = [subprocess.Popen([DBREG, "plan", "-q"], cwd=d, env=e, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for p in procs:
            err = p.communicate(timeout=60)[1]
            expect(p.returncode == 0, "exit %d: %s" % (p.returncode, err))


@case
def usage_errors_exit_2():
    d = project()
    expect(run(["frobnicate"], d)[0] == 2, "unknown command")
    expect(run(["--bogus"], d)[0] == 2, "unknown option")
    expect(run(["down", "@ydtb/basic"], d)[0] == 2, "down without --to")
    expect(run(["validate", "extra"], d)[0] == 2, "an extra argument")
    expect(run(["-C", "/nonexistent-dbreg", "validate"], d)[0] == 2, "-C to a missing folder")
    rc, out, err = run(["--version"], d)
    expect(rc == 0 and out.startswith("dbreg "), out)
    rc, out, err = run(["--help"], d)
    expect(rc == 0 and "validate" in out and "init" in out, out)


@case
def plan_offline_lists_core_first():
    d = project()
    rc, out, err = run(["plan", "--json"], d)
    expect(rc == 0, err)
    doc = json.loads(out)
    expect(doc["dialect"] == "sqlite", doc)
    pk = [s["package"] for s in doc["steps"]]
    expect(pk and pk[0] == "@ydtb/core" and pk[-1] == "@ydtb/basic", pk)
    expect(pk.index("@ydtb/basic") > max(i for i, p in enumerate(pk) if p == "@ydtb/core"), pk)
    for s in doc["steps"]:
        expect(set(s) >= {"package", "migration", "version", "direction", "transaction", "checksum"}, s)
        expect(s["checksum"].startswith("sha256:"), s)
    expect(not os.path.exists(os.path.join(d, "ydtb.db")), "plan must not touch the target")
    st = os.stat(os.path.join(d, ".dbreg", "state.db"))
    expect(st.st_mode & 0o777 == 0o600, oct(st.st_mode))


@case
def init_sqlite_reaches_declared_state_then_noop():
    d = project()
    rc, out, err = run(["init", "-v"], d)
    expect(rc == 0, out + err)
    expect(re.search(r'^    1\. CREATE TABLE IF NOT EXISTS "user" \( \.\.\.  \d+\.\d\d ms$', err, re.M), err)
    expect(re.search(r"^applied @ydtb/basic 0005_create_note_tags \(1\.1\.0\): \d+ ms$", err, re.M), err)
    expect("[5/5] done" in out, out)
    rc, out, err = run(["verify", "--json"], d)
    expect(rc == 0 and json.loads(out)["ok"] is True, out + err)
    before = sha(os.path.join(d, "ydtb.db"))
    rc, out, err = run(["init", "--json"], d)
    expect(rc == 0, err)
    doc = json.loads(out)
    expect(doc["applied"] == 0 and doc["steps"] == [] and doc["ok"] is True, doc)
    rc, out, err = run(["status", "--json"], d)
    doc = json.loads(out)
    for p in doc["packages"]:
        expect(p["installed_version"] == p["declared_version"] and p["pending"] == 0, p)
    rc, out, err = run(["history", "--json"], d)
    expect(len(json.loads(out)["migrations"]) == ALL_MIGRATIONS, out)
    expect(before == sha(os.path.join(d, "ydtb.db")), "a no-op init changed the database file")


@case
def init_dry_run_changes_nothing():
    d = project()
    db = os.path.join(d, "ydtb.db")
    rc, out, err = run(["init", "--to", "@ydtb/basic@1.0.0"], d)
    expect(rc == 0, out + err)
    before = sha(db)
    rc, out, err = run(["init", "--dry-run", "--json"], d)
    doc = json.loads(out)
    expect(rc == 0 and doc["dry_run"] is True and doc["applied"] == 0 and doc["pending"] == 3, doc)
    rc, out, err = run(["init", "--dry-run"], d)
    expect(rc == 0, out + err)
    expect("0003_add_note_pinned" in out and "dry run: nothing was changed" in out, out)
    expect(sha(db) == before, "the database changed under --dry-run")


@case
def read_only_commands_create_no_sqlite_file():
    # A dry run "changes nothing, connects only to read": on a fresh machine
    # it shows every migration pending and leaves no empty database behind.
    d = project()
    other = os.path.join(d, "other.db")
    rc, out, err = run(["apply", "--dry-run", "--json", "--target", "sqlite:other.db"], d)
    doc = json.loads(out)
    expect(rc == 0 and doc["dry_run"] is True and doc["pending"] == ALL_MIGRATIONS, "exit %d: %s %s" % (rc, out, err))
    expect(not os.path.exists(other), "apply --dry-run created the target file")
    for cmd in (["status"], ["history"], ["verify"], ["plan", "--refresh"], ["init", "--dry-run"]):
        rc, out, err = run(cmd + ["--target", "sqlite:other.db"], d)
        expect(rc in (0, 6), "%s: exit %d: %s" % (cmd, rc, out + err))
        expect(not os.path.exists(other), "%s created the target file" % cmd)
    rc, out, err = run(["status", "--json", "--target", "sqlite:other.db"], d)
    expect(rc == 0 and all(p["installed_version"] is None for p in json.loads(out)["packages"]), out + err)


@case
def failing_package_migration_rolls_back_core_too():
    # A failure validate cannot foresee: the target already holds a view
    # where @ydtb/basic creates a table, so indexing it fails at run time.
    import sqlite3
    d = project()
    db = os.path.join(d, "ydtb.db")
    con = sqlite3.connect(db)
    con.execute("CREATE VIEW ydtb_basic_notes AS SELECT 1 AS id")
    con.commit()
    con.close()
    rc, out, err = run(["validate"], d)
    expect(rc == 0, err)
    rc, out, err = run(["init"], d)
    expect(rc == 4, "exit %d: %s" % (rc, out + err))
    expect("views may not be indexed" in err and "nothing was changed" in err, err)
    expect(re.search(r"tomls/basic\.toml:\d+:\d+: error: migration up 0001_create_notes", err), err)
    con = sqlite3.connect(db)
    objects = sorted(r[0] for r in con.execute("select name from sqlite_master"))
    con.close()
    expect(objects == ["ydtb_basic_notes"], "left behind: %s" % objects)


@case
def down_then_up_again_through_the_cli():
    d = project()
    rc, out, err = run(["init", "-q"], d)
    expect(rc == 0, out + err)
    rc, out, err = run(["down", "@ydtb/basic", "--to", "1.0.0", "--json"], d)
    expect(rc == 0, out + err)
    doc = json.loads(out)
    got = [(s["migration"], s["direction"]) for s in doc["steps"]]
    expect(got == [("0005_create_note_tags", "down"), ("0004_index_note_pinned", "down"),
                   ("0003_add_note_pinned", "down")], got)
    # What the downs drop, rows with it, is said as an up's drop is (DBR103).
    drops = sorted((w["migration"], w["table"]) for w in doc["diagnostics"]
                   if w["code"] == "DBR103" and w["package"] == "@ydtb/basic")
    expect(drops == [("0003_add_note_pinned", "ydtb_basic_notes"), ("0005_create_note_tags", "ydtb_basic_note_tags")]
           and all(w["message"].startswith("down: ") and "back the rows up first" in w["hint"]
                   for w in doc["diagnostics"] if w["code"] == "DBR103"), doc["diagnostics"])
    # At the body that runs on the target's dialect: down_sqlite's line.
    lines = open(os.path.join(d, "tomls", "basic.toml")).read().splitlines()
    at = [w["line"] for w in doc["diagnostics"] if w["code"] == "DBR103" and w["migration"] == "0003_add_note_pinned"]
    expect(len(at) == 1 and lines[at[0] - 2].startswith("down_sqlite") and "DROP COLUMN" in lines[at[0] - 1], at)
    rc, out, err = run(["status", "--json"], d)
    basic = [p for p in json.loads(out)["packages"] if p["name"] == "@ydtb/basic"][0]
    expect(basic["installed_version"] == "1.0.0" and basic["pending"] == 3, basic)
    rc, out, err = run(["down", "@ydtb/core", "--to", "0.1.0"], d)
    expect(rc != 0 and "@ydtb/basic" in err, "downgrading core below what basic needs: %d %s" % (rc, err))
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 3 migrations" in out, out + err)
    rc, out, err = run(["verify"], d)
    expect(rc == 0, out + err)
    # reset on a development target drops everything on purpose: no DBR103.
    rc, out, err = run(["reset"], d)
    expect(rc == 0 and "warning[DBR103]" not in err, out + err)


@case
def a_pin_below_what_is_installed_is_refused_and_down_never_goes_up():
    # --to stops a package on its way up; only `down` takes it back (what
    # Flyway's -target and Sqitch's deploy --to do), and down never applies.
    d = project({"dbreg.toml": '[fleets.both]\ntargets = ["sqlite:a.db", "sqlite:b.db"]\n'})
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, out + err)
    db = os.path.join(d, "ydtb.db")
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w')")
    con.execute("insert into ydtb_basic_notes (id, workspace_id, title) values ('n1', 'w1', 'kept')")
    con.commit()
    con.close()
    before = open(db, "rb").read()
    refusal = ("--to @ydtb/basic@1.0.0 is below what the target has installed (migration 0005_create_note_tags, "
               "version 1.1.0, is applied): plan, apply and init never revert a migration; to take the package "
               "back, run: dbreg down @ydtb/basic --to 1.0.0")
    for cmd in (["plan"], ["apply"], ["apply", "--dry-run"], ["init"]):
        rc, out, err = run(cmd + ["--to", "@ydtb/basic@1.0.0"], d)
        expect(rc == 2 and refusal in err, "%s: %d %s" % (cmd, rc, out + err))
        expect(open(db, "rb").read() == before, "%s changed the database" % cmd)
    rc, out, err = run(["apply", "-q", "--fleet", "both"], d)
    expect(rc == 0, out + err)
    rc, doc, err = run_json(["apply", "--fleet", "both", "--to", "@ydtb/basic@1.0.0", "--on-error", "continue"], d)
    expect(rc == 2 and [t["exit_code"] for t in doc["targets"]] == [2, 2] and
           all(refusal in t["error"] for t in doc["targets"]), "fleet: %d %s" % (rc, doc))
    for name in ("a.db", "b.db"):
        con = sqlite3.connect(os.path.join(d, name))
        expect(con.execute("select count(*) from sqlite_master where name = 'ydtb_basic_note_tags'").fetchone()[0]
               == 1, "fleet: %s lost a table" % name)
        con.close()
    rc, out, err = run(["down", "@ydtb/basic", "--to", "1.0.0"], d)
    expect(rc == 0 and "reverted 3 migrations" in out, out + err)
    con = sqlite3.connect(db)
    expect(con.execute("select title from ydtb_basic_notes").fetchall() == [("kept",)], "the row")
    n = con.execute("select count(*) from ydtb_registry_migrations").fetchone()[0]
    con.close()
    rc, out, err = run(["down", "@ydtb/basic", "--to", "1.1.0"], d)
    expect(rc == 2 and "--to @ydtb/basic@1.1.0 is above what the target has installed (migration "
           "0003_add_note_pinned, version 1.1.0, is not applied): down never applies a migration; to take the "
           "package up, run: dbreg apply --to @ydtb/basic@1.1.0" in err, "%d %s" % (rc, err))
    con = sqlite3.connect(db)
    expect(con.execute("select count(*) from ydtb_registry_migrations").fetchone()[0] == n, "down applied")
    con.close()
    rc, out, err = run(["apply", "--to", "@ydtb/basic@1.1.0"], d)
    expect(rc == 0 and "applied 3 migrations" in out, out + err)


@case
def init_does_not_wait_for_a_wrong_password_and_says_how_long_it_took():
    # A refusal that waiting cannot mend is not retried: the message says
    # one attempt in the time it took, not --wait's 30 s.
    clitest.need_pg()
    url = clitest.PG_URL
    pw = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    wrong = url.replace(":" + pw + "@", ":Wrong" + pw[:3] + "@", 1)
    d = project()
    t = time.time()
    rc, out, err = run(["init", "--target", wrong], d)
    took = time.time() - t
    m = re.search(r"after 1 attempt in (\d+\.\d) s: ", err)
    expect(rc == 3 and took < 5 and m and float(m.group(1)) < 5, "exit %d after %.1f s: %s" % (rc, took, err))
    expect("password authentication failed" in err and "Wrong" not in err, err)


@case
def init_unreachable_exits_3_quickly_without_password():
    d = project({"dbreg.toml": '[targets.dev]\nurl = "postgres://app:s3cretpw@127.0.0.1:1/db"\n'})
    t = time.time()
    rc, out, err = run(["init", "--wait", "2"], d)
    took = time.time() - t
    expect(rc == 3, "exit %d: %s" % (rc, out + err))
    expect(took < 10, "took %.1fs" % took)
    expect("s3cretpw" not in out + err, "password leaked: " + out + err)
    expect("127.0.0.1" in err and "1" in err, err)
    expect("app:***@127.0.0.1" in out + err, out + err)
    # It says the time it took: retried through the 2 s of --wait.
    m = re.search(r"after (\d+) attempts in (\d+\.\d) s: ", err)
    expect(m and int(m.group(1)) > 1 and 1.5 <= float(m.group(2)) < 10, err)
    state = os.path.join(d, ".dbreg", "state.db")
    import sqlite3
    con = sqlite3.connect(state)
    events = con.execute("select event, target, outcome from events").fetchall()
    con.close()
    expect(("init", "postgres://app:***@127.0.0.1:1/db", "failed") in events, events)
    for name in os.listdir(os.path.join(d, ".dbreg")):
        expect(b"s3cretpw" not in open(os.path.join(d, ".dbreg", name), "rb").read(),
               "password stored in " + name)


@case
def init_wait_bounds_a_server_that_accepts_but_never_answers():
    # libpq's connect_timeout (10 s) is cut to what is left of --wait, so a
    # listener that never speaks does not hold init past its budget.
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    port = s.getsockname()[1]
    d = project()
    try:
        for target in ("postgres://app:s3cretpw@127.0.0.1:%d/db" % port,
                       "host=127.0.0.1 port=%d user=app password=s3cretpw dbname=db" % port):
            t = time.time()
            rc, out, err = run(["init", "--wait", "3", "--target", target], d)
            took = time.time() - t
            expect(rc == 3 and took < 6, "exit %d after %.1f s: %s" % (rc, took, err))
            expect("s3cretpw" not in out + err and "connect_timeout" not in out + err, out + err)
    finally:
        s.close()


@case
def libpq_is_loaded_only_when_a_postgresql_target_is_reached():
    # The driver loads libpq at its first use (drivers/postgres/pq.h): a run
    # on SQLite does not pay for it and the libraries it brings, a run that
    # reaches PostgreSQL finds it. The dynamic loader says what it loads.
    d = project()
    env = {"LD_DEBUG": "libs"}
    rc, out, err = run(["apply", "--target", "sqlite:dev.db"], d, env=env)
    expect(rc == 0, "exit %d: %s" % (rc, err[-2000:]))
    expect("libsqlite3.so" in err, "LD_DEBUG said nothing: " + err[-500:])
    expect("libpq.so" not in err and "libkrb5" not in err, "a SQLite apply loaded libpq")
    rc, out, err = run(["status", "--target", "postgres://app@127.0.0.1:1/db"], d, env=env)
    expect(rc == 3, "exit %d: %s" % (rc, err[-2000:]))
    # libpq's own refusal: only a loaded libpq can have tried the port.
    expect("cannot connect to PostgreSQL at 127.0.0.1 port 1" in err and "Connection refused" in err,
           "libpq did not try the server: " + err[-500:])
    expect("cannot load" not in err, err[-500:])


def no_libpq(work):
    """A folder whose libpq.so.5 the dynamic loader finds first and cannot
    load (it needs a library that is not there), as on a machine without
    the Debian package libpq5."""
    stub = os.path.join(work, "no-libpq")
    os.makedirs(stub)
    for name, text, libs in (("libnothere.so", "int nothere(void) { return 0; }\n", []),
                             ("libpq.so.5", "int nothere(void);\nint stub(void) { return nothere(); }\n",
                              ["-L" + stub, "-lnothere"])):
        src = os.path.join(stub, name + ".c")
        with open(src, "w") as fp:
            fp.write(text)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", os.path.join(stub, name), src] + libs, check=True)
    os.remove(os.path.join(stub, "libnothere.so"))
    return stub


@case
def without_libpq_postgresql_fails_at_once_and_offline_reads_say_so():
    # Validation and SQLite need no libpq; a PostgreSQL target fails with
    # what to install, init does not wait for a server to come up, and the
    # state file's copy of a target's history is not read under another
    # key (which would say that nothing is applied).
    url, drop = pg_database()
    try:
        d = project({"dbreg.toml": '[targets.dev]\nurl = "${DBREG_PG}"\n'})
        env = {"DBREG_PG": url}
        rc, out, err = run(["apply"], d, env)
        expect(rc == 0, out + err)
        rc, online, err = run(["status", "--offline"], d, env)
        rows = [l.split() for l in online.splitlines() if l.startswith("  @")]
        expect(rc == 0 and rows and all(r[-1] == "0" for r in rows), "not all applied: " + online + err)
        env["LD_LIBRARY_PATH"] = no_libpq(d)
        rc, out, err = run(["validate", "-q"], d, env)
        expect(rc == 0, "validate needs no libpq: " + out + err)
        rc, out, err = run(["apply", "--target", "sqlite:dev.db", "-q"], d, env)
        expect(rc == 0, "SQLite needs no libpq: " + out + err)
        t = time.time()
        rc, out, err = run(["init", "--wait", "20"], d, env)
        took = time.time() - t
        expect(rc == 3, "exit %d: %s" % (rc, out + err))
        expect(took < 10, "init waited %.1f s for a library that will not come" % took)
        expect("cannot load libpq.so.5" in err and "apt-get install libpq5" in err, err)
        for cmd in (["status", "--offline"], ["history", "--offline"]):
            rc, out, err = run(cmd, d, env)
            expect(rc == 3, "%s exit %d: %s" % (cmd, rc, out + err))
            expect("stored history cannot be found" in err and "libpq5" in err, err)
            # In the driver's words, the dynamic loader's reason included.
            expect("cannot load libpq.so.5" in err and "libnothere.so" in err, err)
            expect("no migration applied" not in out + err, out + err)
    finally:
        drop()


@case
def status_and_history_offline_use_the_state_file():
    d = project()
    rc, out, err = run(["init", "-q"], d)
    expect(rc == 0, out + err)
    os.rename(os.path.join(d, "ydtb.db"), os.path.join(d, "moved.db"))
    os.makedirs(os.path.join(d, "ydtb.db"))   # a folder: the target cannot be opened
    rc, out, err = run(["history", "--json"], d)
    doc = json.loads(out)
    expect(rc == 3 and doc["ok"] is False and doc["exit_code"] == 3, "unreachable target: %d %s" % (rc, out))
    expect("--offline" in err, err)
    rc, out, err = run(["history", "--json", "--offline"], d)
    doc = json.loads(out)
    expect(rc == 0 and doc["online"] is False and len(doc["migrations"]) == ALL_MIGRATIONS, out + err)
    rc, out, err = run(["status", "--json", "--offline"], d)
    doc = json.loads(out)
    expect(rc == 0 and doc["online"] is False, doc)
    expect(all(p["pending"] == 0 for p in doc["packages"]), doc)


@case
def target_env_expansion_and_unset_variable():
    d = project({"dbreg.toml": '[targets.dev]\nurl = "${DBREG_CLI_TEST_URL}"\n'})
    rc, out, err = run(["plan"], d)
    expect(rc == 2 and "DBREG_CLI_TEST_URL" in err, "exit %d: %s" % (rc, err))
    rc, out, err = run(["plan"], d, env={"DBREG_CLI_TEST_URL": "sqlite:other.db"})
    expect(rc == 0 and "sqlite:other.db" in out, out + err)


@case
def init_postgres_reaches_declared_state_then_noop():
    url, drop = pg_database()
    try:
        d = project({"dbreg.toml": '[targets.dev]\nurl = "${DBREG_PG}"\n'})
        env = {"DBREG_PG": url}
        rc, out, err = run(["init", "-v"], d, env)
        expect(rc == 0, out + err)
        # -v: every statement with its time, as the server ran it.
        expect(re.search(r'^    1\. CREATE TABLE IF NOT EXISTS "user" \( \.\.\.  \d+\.\d\d ms$', err, re.M), err)
        from urllib.parse import urlsplit
        password = urlsplit(url).password
        expect(not password or password not in out + err, "password leaked")
        rc, out, err = run(["verify"], d, env)
        expect(rc == 0, out + err)
        rc, out, err = run(["init", "--json"], d, env)
        doc = json.loads(out)
        expect(rc == 0 and doc["applied"] == 0, doc)
        expect(doc["dialect"] == "postgres", doc)
        subprocess.run(["psql", url, "-qc", "ALTER TABLE ydtb_basic_notes DROP COLUMN body"], check=True,
                       capture_output=True)
        rc, out, err = run(["verify", "--json"], d, env)
        doc = json.loads(out)
        expect(rc == 6 and not doc["ok"], doc)
        expect(any(p["table"] == "ydtb_basic_notes" and p["column"] == "body" for p in doc["problems"]), doc)
    finally:
        drop()


@case
def two_concurrent_applies_on_postgres_apply_each_migration_once():
    url, drop = pg_database()
    try:
        d = project({"dbreg.toml": '[targets.dev]\nurl = "${DBREG_PG}"\n'})
        e = dict(os.environ, DBREG_PG=url, NO_COLOR="1")
        e.pop("DBREG_TEST_PG_URL", None)
        procs = [subprocess.Popen([DBREG, "apply", "--json"], cwd=d, env=e, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
        for out, err, rc in results:
            expect(rc == 0, "exit %d: %s" % (rc, err))
        applied = sorted(json.loads(out)["applied"] for out, err, rc in results)
        expect(applied == [0, ALL_MIGRATIONS], "applied counts %s" % applied)
        rows = subprocess.run(["psql", url, "-tAc",
                               "select package, migration, count(*) from ydtb_registry_migrations "
                               "group by 1, 2 having count(*) > 1"], capture_output=True, text=True, check=True)
        expect(rows.stdout.strip() == "", "applied twice: " + rows.stdout)
        total = subprocess.run(["psql", url, "-tAc", "select count(*) from ydtb_registry_migrations"],
                               capture_output=True, text=True, check=True)
        expect(total.stdout.strip() == str(ALL_MIGRATIONS), total.stdout)
    finally:
        drop()


COMMANDS = ["validate", "plan", "apply", "init", "down", "status", "history", "verify", "reset", "watch", "new",
            "generate", "test", "docs", "baseline", "accept", "help"]


@case
def the_command_list_is_the_table():
    # Every listed command is tested below; a new command must join COMMANDS.
    d = project()
    rc, out, err = run(["--help"], d)
    rows = out.split("commands:\n")[1].split("\n\n")[0].splitlines()
    expect([l.split()[0] for l in rows if l[2] != " "] == COMMANDS, out)


@case
def each_command_has_its_own_help():
    d = project()
    for cmd in COMMANDS:
        rc, out, err = run([cmd, "--help"], d)
        expect(rc == 0 and err == "", "%s --help: %d %s" % (cmd, rc, err))
        expect(out.splitlines()[0].startswith("usage: dbreg %s [options]" % cmd), out)
        rc2, out2, _ = run(["help", cmd], d)
        expect(rc2 == 0 and out2 == out, "dbreg help %s differs from %s --help" % (cmd, cmd))
    # The words of new's usage: help new package is new's help too.
    rc, out, err = run(["help", "new", "package"], d)
    rc2, out2, _ = run(["new", "--help"], d)
    expect(rc == 0 and out == out2, "help new package: %d %s" % (rc, out + err))
    for words in (["new", "packages"], ["apply", "x"]):
        rc, out, err = run(["help"] + words, d)
        expect(rc == 2 and "'%s'" % words[1] in err, "help %s: %d %s" % (words, rc, err))
    rc, out, err = run(["down", "--help"], d)
    expect(out.splitlines()[0] == "usage: dbreg down [options] PKG --to VERSION", out)
    # down PKG --to VERSION: the row says so, as the synopsis does.
    expect("  --to PKG@VERSION          stop a package at a version (repeatable; down PKG takes --to VERSION)"
           in out.splitlines(), out)
    rc, out, err = run(["--help"], d)
    # The command column is aligned: every summary starts at the same column.
    rows = [l for l in out.splitlines() if l.startswith("  ") and not l.startswith("   ")]
    cols = {len(l) - len(l[2:].split("  ", 1)[1].lstrip()) for l in rows if "  " in l[2:]}
    expect(len(cols) == 1, "misaligned help columns %s:\n%s" % (cols, out))


def commands_taking(d, option):
    """The commands whose own --help lists the option (as the table says)."""
    rc, out, err = run(["--help"], d)
    names = [l.split()[0] for l in out.split("commands:\n")[1].split("\n\n")[0].splitlines() if l[2] != " "]
    return [c for c in names if any(l.startswith("  --%s" % option) for l in
                                    run([c, "--help"], d)[1].split("options of every command:")[0].splitlines())]


@case
def an_option_a_command_does_not_take_is_exit_2_naming_who_takes_it():
    d = project()
    wrong = {
        "validate": ["--dry-run"], "plan": ["--dry-run"], "apply": ["--sql"], "init": ["--refresh"],
        "down": ["@ydtb/basic", "--wait", "3"], "status": ["--dry-run"], "history": ["--to", "@ydtb/basic@1.0.0"],
        "verify": ["--sql"], "reset": ["--sql"], "watch": ["--check"], "new": ["package", "@a/b", "--check"],
        "generate": ["@ydtb/basic", "--sql"], "test": ["--dry-run"], "docs": ["--dir", "x"],
        "baseline": ["@ydtb/basic@1.0.0", "--dry-run"], "accept": ["@ydtb/basic", "0001", "--to", "@a/b@1.0.0"],
        "help": ["--offline"],
    }
    expect(commands_taking(d, "sql") == ["plan"], commands_taking(d, "sql"))
    expect({"apply", "init", "down"} <= set(commands_taking(d, "dry-run")), commands_taking(d, "dry-run"))
    for cmd in COMMANDS:
        extra = wrong[cmd]
        opt = [a for a in extra if a.startswith("--")][0][2:]
        who = commands_taking(d, opt)
        line = "dbreg: %s does not take --%s (%s %s it)" % (cmd, opt, ", ".join(who), "takes" if len(who) == 1 else "take")
        rc, out, err = run([cmd] + extra, d)
        expect(rc == 2, "%s %s: exit %d" % (cmd, extra, rc))
        expect(err.splitlines()[0] == line, "%s: %r, want %r" % (cmd, err, line))
        expect(err.splitlines()[1] == "  hint: see 'dbreg %s --help'" % cmd, err)
    expect(not os.path.exists(os.path.join(d, "ydtb.db")), "a refused command touched the target")


@case
def a_package_argument_that_names_no_package_is_a_usage_error():
    # cli.md: exit 2 is a usage error, 1 an error in the manifests. A PKG
    # argument naming no package of the project is the former, for every
    # command that takes one (generate, test and new migration said 1).
    d = project()
    for args in (["generate", "@ydtb/basik"], ["test", "@ydtb/basik"], ["new", "migration", "@ydtb/basik", "0009"],
                 ["baseline", "@ydtb/basik@1.0.0"], ["down", "@ydtb/basik", "--to", "1.0.0"],
                 ["accept", "@ydtb/basik", "0001"]):
        rc, out, err = run(args + ["--json"], d)
        doc = json.loads(out)
        expect(rc == 2 and doc["exit_code"] == 2 and "@ydtb/basik" in doc["error"]["message"],
               "%s: %d %s" % (args, rc, out))
        if args[0] in ("generate", "test", "new", "baseline", "down", "accept"):
            expect(doc["error"]["hint"] == "did you mean @ydtb/basic?", doc["error"])
    # The words the user typed, and the name without its scope (review-11 #7).
    rc, out, err = run(["new", "migration", "@ydtb/basik", "0009"], d)
    expect(rc == 2 and "dbreg: new migration: no package @ydtb/basik in this project" in err, err)
    for args in (["generate", "basic"], ["test", "basic"], ["new", "migration", "basic", "0009"]):
        rc, out, err = run(args, d)
        expect(rc == 2 and "hint: did you mean @ydtb/basic?" in err, "%s: %d %s" % (args, rc, err))


@case
def a_package_argument_in_a_manifest_that_does_not_parse_shows_its_error():
    # cli.md: exit 1 = the manifests have errors. @ydtb/basic exists, its
    # file does not parse: the DBR001, not "no package" (exit 2; review-11 #3).
    d = project()
    path = os.path.join(d, "tomls", "basic.toml")
    with open(path, "a") as fp:
        fp.write("x = = 1\n")
    with open(path, "rb") as fp:
        before = fp.read()
    for args in (["new", "migration", "@ydtb/basic", "0099_x"], ["generate", "@ydtb/basic"], ["test", "@ydtb/basic"]):
        rc, out, err = run(args, d)
        expect(rc == 1 and "error[DBR001]" in err and "tomls/basic.toml:" in err and "no package" not in err
               and "the manifests have 1 error; nothing was changed" in err, "%s: %d %s" % (args, rc, err))
        rc, out, err = run(args + ["--json"], d)
        doc = json.loads(out)
        expect(rc == 1 and doc["exit_code"] == 1 and any(x["code"] == "DBR001" for x in doc["diagnostics"]),
               "%s: %d %s" % (args, rc, out))
    with open(path, "rb") as fp:
        expect(fp.read() == before, "the manifest was changed")


@case
def did_you_mean_for_commands_and_options_without_the_binary_path():
    d = project()
    for args, line in ((["aply"], "dbreg: unknown command 'aply'; did you mean 'apply'?"),
                       (["stauts"], "dbreg: unknown command 'stauts'; did you mean 'status'?"),
                       (["frobnicate"], "dbreg: unknown command 'frobnicate'"),
                       (["plan", "--sqll"], "dbreg: unknown option '--sqll'; did you mean '--sql'?"),
                       (["apply", "--dryrun"], "dbreg: unknown option '--dryrun'; did you mean '--dry-run'?"),
                       (["plan", "--bogus"], "dbreg: unknown option '--bogus'"),
                       (["plan", "-x"], "dbreg: unknown option '-x'"),
                       (["init", "--wait"], "dbreg: --wait needs an argument SECONDS"),
                       (["down", "@ydtb/basic", "--to"], "dbreg: --to needs an argument VERSION"),
                       (["apply", "--to"], "dbreg: --to needs an argument PKG@VERSION"),
                       (["init", "--wait", "soon"], "dbreg: --wait takes a number of seconds (0 to 86400), not 'soon'"),
                       (["plan", "--json=yes"], "dbreg: --json takes no argument"),
                       (["help", "aply"], "dbreg: no command 'aply'; did you mean 'apply'?")):
        rc, out, err = run(args, d)
        expect(rc == 2, "%s: exit %d" % (args, rc))
        expect(err.splitlines()[0] == line, "%s: %r" % (args, err))
        expect(DBREG not in err, err)


@case
def json_usage_errors_are_one_document():
    d = project()
    for args in (["--json", "aply"], ["--json", "--bogus"], ["plan", "--json", "--dry-run"], ["--json"],
                 ["down", "--json", "@ydtb/basic"], ["validate", "--json", "extra"]):
        rc, out, err = run(args, d)
        doc = json.loads(out)
        expect(rc == 2 and doc["ok"] is False and doc["exit_code"] == 2, "%s: %d %s" % (args, rc, out))
        expect(set(doc["error"]) == {"message", "detail", "hint", "sqlstate", "file", "line", "column",
                                     "package", "migration", "statement"}, doc)
        expect(doc["error"]["message"] and isinstance(doc["diagnostics"], list), doc)
        expect(not any(x["severity"] == "error" for x in doc["diagnostics"]), doc)


@case
def positions_are_relative_to_the_current_folder_whatever_C_says():
    d = project({"tomls/bad.toml": BASIC_BAD})
    want = 'error[DBR020]: table "notes" must start with "ydtb_" (hint: rename it "ydtb_notes")'
    parent, base = os.path.split(d)
    for cwd, args, prefix in ((d, [], ""), (parent, ["-C", base], base + "/"), (parent, ["-C", d], base + "/"),
                              (os.path.join(d, "tomls"), ["-C", ".."], "../")):
        rc, out, err = run(args + ["validate"], cwd)
        expect(rc == 1 and ("%stomls/bad.toml:5:9: %s" % (prefix, want)) in err.splitlines(), "%s: %s" % (args, err))
        rc, out, err = run(args + ["validate", "--json"], cwd)
        x = [x for x in json.loads(out)["diagnostics"] if x["code"] == "DBR020"][0]
        expect(x["file"] == prefix + "tomls/bad.toml", x)


@case
def state_option_and_environment_name_another_state_file():
    d = project()
    other = os.path.join(d, "elsewhere", "state.db")
    rc, out, err = run(["apply", "-q", "--state", "elsewhere/state.db"], d)
    expect(rc == 0 and os.path.exists(other), out + err)
    expect(not os.path.exists(os.path.join(d, ".dbreg", "state.db")), "the project's state file was created")
    rc, out, err = run(["plan"], d, env={"DBREG_STATE": other})
    expect(rc == 0 and "is up to date" in out, out + err)
    rc, out, err = run(["plan"], d)
    expect(rc == 0 and re.search(r"^plan for .*: \d+ steps$", out, re.M) and "has never seen" in err, out + err)


@case
def a_read_only_state_file_still_answers_offline():
    d = project()
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, err)
    state_dir = os.path.join(d, ".dbreg")
    os.chmod(os.path.join(state_dir, "state.db"), 0o400)
    for f in os.listdir(state_dir):
        if f != "state.db":
            os.remove(os.path.join(state_dir, f))
    os.chmod(state_dir, 0o500)
    # Root writes whatever the mode says: run as nobody then.
    as_user = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            raise Skip("root without setpriv")
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", DBREG]
        os.chmod(d, 0o755)
        os.chmod(state_dir, 0o555)
        os.chmod(os.path.join(state_dir, "state.db"), 0o444)

    def run_ro(args):
        if not as_user:
            return run(args, d)
        e = dict(os.environ, NO_COLOR="1")
        p = subprocess.run(as_user + args, cwd=d, env=e, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr
    try:
        for cmd in (["plan"], ["status", "--offline"], ["history", "--offline"]):
            rc, out, err = run_ro(cmd)
            expect(rc == 0, "%s: %d %s" % (cmd, rc, err))
        rc, out, err = run_ro(["plan"])
        expect("is up to date" in out and err == "", "plan from the read-only state: " + out + err)
        rc, out, err = run_ro(["history", "--offline"])
        expect(len(out.splitlines()) == len(run(["history", "--offline"], d)[1].splitlines()) > 3, out)
        rc, out, err = run_ro(["apply"])
        expect(rc == 1 and "state file" in err, "apply must not write a read-only state: %d %s" % (rc, err))
    finally:
        os.chmod(state_dir, 0o700)


@case
def an_offline_answer_for_a_target_never_seen_says_so():
    d = project()
    note = ("dbreg: note: the state file .dbreg/state.db has never seen sqlite:ydtb.db: this answer assumes an "
            "empty database; run %s to read the target")
    rc, out, err = run(["plan"], d)
    expect(rc == 0 and note % "with --refresh" in err.splitlines(), err)
    rc, out, err = run(["history", "--offline"], d)
    expect(rc == 0 and note % "without --offline" in err.splitlines(), err)
    # Once read (even empty), the state file knows it.
    rc, out, err = run(["plan", "--refresh"], d)
    expect(rc == 0 and "never seen" not in err, err)
    rc, out, err = run(["plan"], d)
    expect(rc == 0 and "never seen" not in err, err)
    # By the database, not by the name: a copy of the project (its state
    # file with it) has another ydtb.db, which this state file never saw,
    # empty or not.
    rc, out, err = run(["apply", "-q", "--target", "sqlite:applied.db"], d)
    expect(rc == 0, out + err)
    copy = d + "-copy"
    shutil.copytree(d, copy)
    made.append(copy)
    for target in ("sqlite:ydtb.db", "sqlite:applied.db"):
        rc, out, err = run(["plan", "--target", target], copy)
        expect(rc == 0 and "has never seen %s" % target in err, "copy, %s: %s" % (target, out + err))
@case
def an_in_memory_target_is_planned_as_the_empty_database_apply_will_find():
    # cli.md: plan prints the steps apply would run. A sqlite::memory:
    # database is new and empty on every run: a stored copy of the last
    # run's history made plan say "up to date" while apply ran everything.
    d = project()
    rc, out, err = run(["apply", "--json", "--target", "sqlite::memory:"], d)
    applied = json.loads(out)["applied"]
    expect(rc == 0 and applied > 0, out + err)
    rc, out, err = run(["plan", "--json", "--target", "sqlite::memory:"], d)
    expect(rc == 0 and len(json.loads(out)["steps"]) == applied and "never seen" not in err, out + err)
    rc, out, err = run(["status", "--offline", "--json", "--target", "sqlite::memory:"], d)
    expect(rc == 0 and all(p["installed_version"] is None for p in json.loads(out)["packages"]), out + err)
    rc, out, err = run(["apply", "--json", "--target", "sqlite::memory:"], d)
    expect(rc == 0 and json.loads(out)["applied"] == applied, out + err)
    # A file whose name ends in :memory: is a file: its history is kept.
    rc, out, err = run(["apply", "--json", "--target", "sqlite:x:memory:"], d)
    expect(rc == 0 and json.loads(out)["applied"] == applied and os.path.isfile(os.path.join(d, "x:memory:")),
           out + err)
    rc, out, err = run(["plan", "--json", "--target", "sqlite:x:memory:"], d)
    expect(rc == 0 and json.loads(out)["steps"] == [], out + err)


@case
def two_spellings_of_one_database_share_one_history():
    # cli.md: the state file keys a target by its database, not its spelling.
    d = project()
    rc, out, err = run(["apply", "--target", "sqlite:ydtb.db"], d)
    expect(rc == 0 and re.search(r"applied [1-9]\d* migrations", out), out + err)
    for spelling in ("sqlite:./ydtb.db", "sqlite://" + os.path.join(os.path.realpath(d), "ydtb.db")):
        rc, out, err = run(["plan", "--target", spelling], d)
        expect(rc == 0 and "never seen" not in err and "is up to date" in out,
               "%s: the state file did not know it: %s" % (spelling, out + err))
    rc, out, err = run(["plan", "--target", "sqlite:other.db"], d)
    expect(rc == 0 and "never seen" in err, "another file shared the history: " + out + err)
    if not PG_URL:
        return
    url, drop = pg_database()
    try:
        rc, out, err = run(["apply", "--target", url], d)
        expect(rc == 0, out + err)
        from urllib.parse import urlsplit, unquote
        u = urlsplit(url)
        words = "host=%s port=%d dbname=%s user=%s password=%s" % (
            u.hostname, u.port, u.path.lstrip("/"), unquote(u.username), unquote(u.password or ""))
        rc, out, err = run(["plan", "--target", words], d)
        expect(rc == 0 and "never seen" not in err and "is up to date" in out,
               "the keyword form did not find the URL form's history: " + out + err)
        state = open(os.path.join(d, ".dbreg", "state.db"), "rb").read()
        expect(not u.password or u.password.encode() not in state, "the password is in the state file")
    finally:
        drop()


@case
def apply_and_init_on_postgresql_open_one_connection():
    # PostgreSQL has no read-only mode: the connection the plan was read on
    # runs it too (a second one cost a backend and a scram exchange).
    if not PG_URL:
        return
    # The third: a new target of a registry the state file knows from
    # another target (the no-op shortcut has no memo for this one, so it
    # must not connect to look).
    for command, before_run in (("apply", None), ("init", None), ("apply", ["apply", "--target", "sqlite:other.db"])):
        d = project()
        if before_run:
            settled()
            rc, out, err = run(before_run, d)
            expect(rc == 0, out + err)
        url, drop = pg_database()
        # One session that watches the others: the server counts the
        # sessions of a database as they start (pg_stat_database.sessions).
        watch = subprocess.Popen(["psql", "-X", "-At", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)

        def sessions():
            watch.stdin.write("SELECT pg_stat_clear_snapshot();\n"
                              "SELECT sessions FROM pg_stat_database WHERE datname = current_database();\n")
            watch.stdin.flush()
            watch.stdout.readline()
            return int(watch.stdout.readline())

        try:
            before = sessions()
            rc, out, err = run([command, "--target", url], d)
            expect(rc == 0 and re.search(r"applied [1-9]\d* migrations", out), command + ": " + out + err)
            deadline = time.time() + 10
            while sessions() < before + 1 and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)   # a second session would be counted by now
            got = sessions() - before
            expect(got == 1, "%s opened %d connections" % (command, got))
        finally:
            watch.stdin.close()
            watch.wait(timeout=30)
            drop()


CACHED = "nothing to re-read"


def settled():
    # The caches trust no file changed within 100 ms of a load (a change in
    # the same clock tick could go unseen): let the copied files age.
    time.sleep(0.15)


def edit_same_size(path, old, new):
    """Replaces old by new (same length) and puts the modification time
    back: only the change time tells."""
    expect(len(old) == len(new), "not a same-size edit")
    st = os.stat(path)
    text = open(path).read()
    expect(old in text, "%s not in %s" % (old, path))
    with open(path, "w") as fp:
        fp.write(text.replace(old, new, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    now = os.stat(path)
    expect(now.st_size == st.st_size and now.st_mtime_ns == st.st_mtime_ns and now.st_ctime_ns != st.st_ctime_ns,
           "the edit should keep size and mtime and move ctime")


def installed_version(db, package):
    import sqlite3
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT version FROM ydtb_registry_packages WHERE name = ?", (package,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


@case
def noop_apply_is_cached_and_sees_a_same_size_manifest_edit():
    d = project()
    settled()
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and re.search(r"applied [1-9]\d* migrations", out), out + err)
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 0 and CACHED in err and re.search(r"^sqlite:ydtb.db: applied 0 migrations$", out, re.M),
           "the second run did not take the cached no-op: " + out + err)
    # The version of @ydtb/basic moves (1.1.0 -> 1.1.9): a real apply records it.
    settled()
    edit_same_size(os.path.join(d, "tomls", "basic.toml"), 'version = "1.1.0"\ndescription',
                   'version = "1.1.9"\ndescription')
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 0 and CACHED not in err, "a changed manifest took the cache: " + out + err)
    expect(installed_version(os.path.join(d, "ydtb.db"), "@ydtb/basic") == "1.1.9", "the new version was not recorded")


@case
def noop_apply_is_cached_when_minus_c_names_the_project_from_elsewhere():
    # -C with an absolute path, run from another folder: the shortcut must
    # open the project as the long way does, or its memo never matches.
    d = project()
    elsewhere = tempfile.mkdtemp(prefix="dbreg-cwd-")
    made.append(elsewhere)
    settled()
    target = "sqlite:" + os.path.join(d, "ydtb.db")
    rc, out, err = run(["-C", d, "apply", "--target", target], elsewhere)
    expect(rc == 0 and re.search(r"applied [1-9]\d* migrations", out), out + err)
    rc, out, err = run(["-C", d, "apply", "-v", "--target", target], elsewhere)
    expect(rc == 0 and CACHED in err and "applied 0 migrations" in out,
           "the second run from elsewhere did not take the cached no-op: " + out + err)


@case
def noop_apply_cache_sees_a_same_size_up_file_edit():
    sql = ("CREATE TABLE IF NOT EXISTS ydtb_filed_items (id text PRIMARY KEY NOT NULL, workspace_id text NOT NULL"
           " REFERENCES ydtb_workspaces(id) ON DELETE CASCADE);\n"
           "CREATE INDEX IF NOT EXISTS ydtb_filed_items_workspace_id_idx ON ydtb_filed_items (workspace_id);\n")
    manifest = """[package]
name = "@t/filed"
version = "1.0.0"

[dependencies]
"@ydtb/core" = "^1.0.0"

[tables.ydtb_filed_items]
description = "Items"
workspace_scoped = true

[tables.ydtb_filed_items.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "0001_items"
version = "1.0.0"
up_file = "filed/0001.sql"
down = "DROP TABLE IF EXISTS ydtb_filed_items;"
"""
    d = project({"tomls/filed.toml": manifest, "tomls/filed/0001.sql": sql})
    settled()
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and re.search(r"applied [1-9]\d* migrations", out), out + err)
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 0 and CACHED in err, "the second run did not take the cached no-op: " + out + err)
    # The applied body changes (same size, mtime put back): checksum drift.
    settled()
    edit_same_size(os.path.join(d, "tomls", "filed", "0001.sql"), "PRIMARY KEY NOT NULL", "primary key not null")
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 1 and CACHED not in err and "DBR045" in err, "exit %d: %s" % (rc, out + err))


@case
def another_dbreg_binary_trusts_no_cached_result():
    d = project()
    settled()
    rc, out, err = run(["apply"], d)
    expect(rc == 0, out + err)
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 0 and CACHED in err, out + err)
    # The same version, rebuilt or reinstalled: another file, same bytes
    # and modification time.
    other = os.path.join(tempfile.mkdtemp(prefix="dbreg-bin-"), "dbreg")
    made.append(os.path.dirname(other))
    shutil.copy2(DBREG, other)
    p = subprocess.run([other, "apply", "-v"], cwd=d, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NO_COLOR="1"))
    expect(p.returncode == 0 and CACHED not in p.stderr, "the new binary used the old one's cache: " + p.stderr)
    expect("applied 0 migrations" in p.stdout, p.stdout)
    # The old binary's results are gone too: it checks again, once.
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 0 and CACHED not in err, "the old binary used the new one's cache: " + err)
    rc, out, err = run(["apply", "-v"], d)
    expect(rc == 0 and CACHED in err, out + err)


CHECK_BASE = """[package]
name = "@t/base"
version = "1.0.0"

[dependencies]
"@ydtb/core" = "^1.0.0"

[tables.ydtb_base_items]
description = "Items"

[tables.ydtb_base_items.columns]
id = { type = "text", primary_key = true }
label = { type = "text" }

[[migrations]]
id = "0001_items"
version = "1.0.0"
up_file = "base/0001.sql"
down = "DROP TABLE IF EXISTS ydtb_base_items;"
"""
# Not idempotent (DBR043, the SQL checks), and `label` is not what the
# manifest declares (DBR047, the replay).
CHECK_BASE_SQL = "CREATE TABLE ydtb_base_items (id text PRIMARY KEY NOT NULL, lable text);\n"
CHECK_USER = """[package]
name = "@t/user"
version = "1.0.0"

[dependencies]
"@t/base" = "^1.0.0"

[tables.ydtb_user_notes]
description = "Notes"

[tables.ydtb_user_notes.columns]
id = { type = "text", primary_key = true }
item = { type = "text" }

[[migrations]]
id = "0001_notes"
version = "1.0.0"
up = \"\"\"CREATE TABLE IF NOT EXISTS ydtb_user_notes (id text PRIMARY KEY NOT NULL, item text REFERENCES ydtb_base_items(id));
INSERT INTO ydtb_base_items (id) VALUES ('seed');\"\"\"
down = "DROP TABLE IF EXISTS ydtb_user_notes;"
"""
CHECKED = re.compile(r"^  validate: checked the SQL of (\d+) and replayed (\d+) of (\d+) packages; (\d+) results re-used$", re.M)


def validate_checked(d, binary=None):
    """(SQL-checked, replayed, packages) of a `validate -v`, by its -v line."""
    p = subprocess.run([binary or DBREG, "validate", "-v"], cwd=d, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NO_COLOR="1"))
    m = CHECKED.search(p.stderr)
    expect(p.returncode == 1 and m, "validate -v: %d\n%s" % (p.returncode, p.stderr))
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def validate_json(d, state=None):
    rc, out, err = run(["validate", "--json"], d, env={"DBREG_STATE": state} if state else None)
    expect(rc == 1, "validate --json: %d %s" % (rc, err))
    return out


@case
def validate_reuses_each_packages_check_results_until_its_inputs_change():
    d = project({"tomls/base.toml": CHECK_BASE, "tomls/base/0001.sql": CHECK_BASE_SQL, "tomls/user.toml": CHECK_USER})
    cold = validate_json(d)
    expect('"DBR043"' in cold and '"DBR047"' in cold, "the registry should have findings of both checks: " + cold)
    sql, replay, n = validate_checked(d)
    expect(sql == 0 and replay == 0 and n > 2, "a warm cache checked again: %d %d of %d" % (sql, replay, n))
    expect(validate_json(d) == cold, "the findings from stored results differ from fresh ones")
    # The SQL file of @t/base, same size, modification time put back: it is
    # checked again, and @t/user's replay with it (its replay may pull
    # @t/base's tables in); nobody else.
    edit_same_size(os.path.join(d, "tomls", "base", "0001.sql"), "lable", "labex")
    expect(validate_checked(d) == (1, 2, n), "after the SQL file's edit")
    fresh = validate_json(d, state=os.path.join(d, "other-state.db"))
    expect(fresh != cold and validate_json(d) == fresh, "stored results after an edit differ from fresh ones")
    # @t/user's manifest: its checks only.
    edit_same_size(os.path.join(d, "tomls", "user.toml"), "('seed')", "('sown')")
    expect(validate_checked(d) == (1, 1, n), "after the manifest's edit")
    expect(validate_checked(d) == (0, 0, n), "nothing changed")
    # A declaration of @t/base (same size, modification time put back): what
    # every package's checks see of the others changed (the declaration
    # digests kept per manifest follow its bytes), so all are checked again.
    base = os.path.join(d, "tomls", "base.toml")
    before = validate_json(d)
    edit_same_size(base, "label = {", "lable = {")
    expect(validate_checked(d) == (n, n, n), "after a declaration's edit")
    fresh = validate_json(d, state=os.path.join(d, "decl-state.db"))
    expect(fresh != before and validate_json(d) == fresh, "stored results after a declaration's edit: " + fresh)
    # @t/base's description is no declaration the others see: its own
    # checks, and @t/user's replay that may pull @t/base in.
    edit_same_size(base, '"Items"', '"Itemz"')
    expect(validate_checked(d) == (1, 2, n), "after an edit of what no other package sees")
    # Another dbreg binary (same bytes, another file): every package again.
    other = os.path.join(tempfile.mkdtemp(prefix="dbreg-bin-"), "dbreg")
    made.append(os.path.dirname(other))
    shutil.copy2(DBREG, other)
    expect(validate_checked(d, other) == (n, n, n), "a new binary used stored results")
    fresh = validate_json(d, state=os.path.join(d, "third-state.db"))
    expect(validate_json(d) == fresh, "the findings differ from fresh ones at the end")


KEYS_PKG = """[package]
name = "@t/a"
version = "1.0.0"
colour = "x"

[tables.ydtb_a_items]
description = "x"
workspace_scoped = true
owner = 1
[tables.ydtb_a_items.columns]
id = { type = "text", primary_key = true, bogus = 1 }
n = { type = 5 }
[tables.ydtb_a_items.indexes]
ydtb_a_items_n_idx = { columns = ["n"], wat = true }

[[tools]]
id = "t"
nme = "x"

[[migrations]]
id = "0001"
version = "1.0.0"
upp = "x"
"""


@case
def unknown_keys_and_wrong_types_say_where_they_are():
    # Whole lines: the loader writes where a table is only when it reports.
    d = project({"tomls/a.toml": KEYS_PKG}, with_tomls=[])
    rc, out, err = run(["validate"], d)
    lines = err.splitlines()
    for want in [
        'tomls/a.toml:4:1: error[DBR013]: unknown key "colour" in [package] (hint: known keys here: name, version, kind, description)',
        'tomls/a.toml:9:1: error[DBR013]: unknown key "owner" in [tables.ydtb_a_items] (hint: known keys here: description, workspace_scoped, primary_key, unique, columns, indexes, renamed_from)',
        'tomls/a.toml:11:43: error[DBR013]: unknown key "bogus" in column "id" of table "ydtb_a_items" (hint: known keys here: type, primary_key, not_null, unique, default, default_sql, references, on_delete, on_update, description, renamed_from)',
        'tomls/a.toml:12:14: error[DBR014]: "type" in column "n" of table "ydtb_a_items" must be a string, not integer',
        'tomls/a.toml:14:41: error[DBR013]: unknown key "wat" in index "ydtb_a_items_n_idx" of table "ydtb_a_items" (hint: known keys here: columns, unique)',
        'tomls/a.toml:18:1: error[DBR013]: unknown key "nme" in [[tools]] (hint: did you mean "name"?)',
        'tomls/a.toml:23:1: error[DBR013]: unknown key "upp" in [[migrations]] (hint: did you mean "up"?)',
    ]:
        expect(want in lines, "missing line: %s\n%s" % (want, err))
    expect(rc == 1, "exit %d" % rc)


PG_ONLY_PKG = """[package]
name = "@t/pgonly"
version = "1.0.0"

[[migrations]]
id = "0001"
version = "1.0.0"
up_postgres = "SELECT 1;"
"""


@case
def a_refused_apply_creates_no_sqlite_file():
    # The plan is refused (DBR042: no SQLite body), so nothing may be created.
    d = project({"tomls/pgonly.toml": PG_ONLY_PKG})
    for cmd in (["apply"], ["init"]):
        rc, out, err = run(cmd + ["--target", "sqlite:fresh.db"], d)
        expect(rc == 1 and "DBR042" in err, "%s: exit %d: %s" % (cmd, rc, out + err))
        expect(not os.path.exists(os.path.join(d, "fresh.db")), "%s created the target file" % cmd)


@case
def init_wait_gives_up_at_once_on_what_waiting_cannot_fix():
    d = project()
    t = time.time()
    rc, out, err = run(["init", "--wait", "30", "--target", "sqlite:no/such/folder/x.db"], d)
    expect(rc == 3 and time.time() - t < 5, "exit %d after %.1fs: %s" % (rc, time.time() - t, err))
    expect("folder" in err and "is the server up" not in err, err)
    if PG_URL:
        from urllib.parse import urlsplit, urlunsplit
        u = urlsplit(PG_URL)
        bad = urlunsplit(u._replace(netloc="%s:wrong-pw@%s:%s" % (u.username, u.hostname, u.port)))
        t = time.time()
        rc, out, err = run(["init", "--wait", "30", "--target", bad], d)
        expect(rc == 3 and time.time() - t < 5, "exit %d after %.1fs: %s" % (rc, time.time() - t, err))
        expect("password" in err and "is the server up" not in err and "wrong-pw" not in out + err, err)
        missing = urlunsplit(u._replace(path="/dbreg_no_such_db"))
        rc, out, err = run(["init", "--wait", "30", "--target", missing], d)
        expect(rc == 3 and "create the database" in err, "exit %d: %s" % (rc, err))


LATE_MIGRATION = """[[migrations]]
id = "0002b_late"
version = "1.0.0"
description = "merged late: older than what is applied"
up = "UPDATE ydtb_basic_notes SET title = title WHERE id = 'none';"
down = "SELECT 1;"

"""


@case
def status_offline_shows_the_highest_applied_version():
    d = project()
    rc, out, err = run(["init", "-q"], d)
    expect(rc == 0, out + err)
    path = os.path.join(d, "tomls", "basic.toml")
    text = open(path).read()
    at = text.index('[[migrations]]\nid = "0003_add_note_pinned"')
    open(path, "w").write(text[:at] + LATE_MIGRATION + text[at:])
    rc, out, err = run(["apply"], d)
    expect(rc == 0, "apply: exit %d: %s" % (rc, out + err))
    rc, out, err = run(["history", "--json", "--offline"], d)
    last = json.loads(out)["migrations"][-1]
    expect(last["migration"] == "0002b_late" and last["version"] == "1.0.0", last)
    rc, out, err = run(["status", "--json", "--offline"], d)
    basic = [p for p in json.loads(out)["packages"] if p["name"] == "@ydtb/basic"][0]
    expect(basic["installed_version"] == "1.1.0", basic)


@case
def status_shows_a_package_whose_manifest_is_gone_and_history_reads_past_a_broken_manifest():
    # The target holds @ydtb/basic's tables whatever the checkout says:
    # status lists it (declared null), online and offline, and the hint of
    # DBR045 says how to remove it without editing dbreg's tables by hand.
    d, db = applied_with_data("init")
    path = os.path.join(d, "tomls", "basic.toml")
    text = open(path).read()
    os.rename(path, path + ".away")
    for extra in ([], ["--offline"]):
        rc, out, err = run(["status"] + extra, d)
        expect(rc == 1 and "DBR045" in err, "exit %d: %s" % (rc, out + err))
        expect(any(l.split()[:4] == ["@ydtb/basic", "-", "1.1.0", "0"] for l in out.splitlines()), out)
        expect("dbreg down @ydtb/basic --to 0.0.0" in err and "remove its row" not in err, err)
        rc, out, err = run(["status", "--json"] + extra, d)
        pkgs = {p["name"]: p for p in json.loads(out)["packages"]}
        expect(pkgs.get("@ydtb/basic") == {"name": "@ydtb/basic", "declared_version": None,
                                           "installed_version": "1.1.0", "pending": 0,
                                           "partially_applied": []}, out)
    # history needs no manifest: a TOML error does not hide it.
    open(path, "w").write(text + "\ngarbage = = 1\n")
    os.unlink(path + ".away")
    rc, out, err = run(["history", "--json"], d)
    doc = json.loads(out)
    expect(rc == 0 and len([m for m in doc["migrations"] if m["package"] == "@ydtb/basic"]) == 5, out + err)
    rc, out, err = run(["history", "--offline"], d)
    expect(rc == 0 and "0005_create_note_tags" in out, out + err)


@case
def status_with_checksum_drift_prints_the_table_and_the_finding_and_exits_1():
    # A user asking for status wants the table and the finding: DBR045 is
    # said with it (exit 1, as the plan has an error), and what is pending
    # is counted as if the drift were not there.
    d, db = applied_with_data("init")
    path = os.path.join(d, "tomls", "basic.toml")
    text = open(path).read()
    text = text.replace('CREATE TABLE IF NOT EXISTS "ydtb_basic_notes" (\n  "id" TEXT',
                        '-- a comment added later\nCREATE TABLE IF NOT EXISTS "ydtb_basic_notes" (\n  "id" TEXT', 1)
    at = text.index('[[migrations]]\nid = "0003_add_note_pinned"')
    open(path, "w").write(text[:at] + LATE_MIGRATION + text[at:])
    before = sha(db)
    rc, out, err = run(["status"], d)
    lines = out.splitlines()
    expect(rc == 1 and lines[:1] == ["sqlite:ydtb.db (sqlite)"], "exit %d: %s" % (rc, out + err))
    expect("  %-28s %-12s %-12s %s" % ("@ydtb/basic", "1.1.0", "1.1.0", "1") in lines, out)
    expect("  %-28s %-12s %-12s %s" % ("@ydtb/core", "1.2.0", "1.2.0", "0") in lines, out)
    drift = [l for l in err.splitlines() if "error[DBR045]" in l]
    expect(len(drift) == 1 and drift[0].startswith("tomls/basic.toml:") and "0001_create_notes" in drift[0], err)
    rc, out, err = run(["status", "--json"], d)
    doc = json.loads(out)
    pending = {p["name"]: p["pending"] for p in doc["packages"]}
    expect(rc == 1 and doc["ok"] is False and doc["exit_code"] == 1, "exit %d: %s" % (rc, out))
    expect(pending == {"@ydtb/basic": 1, "@ydtb/core": 0}, doc["packages"])
    expect([g["migration"] for g in doc["diagnostics"] if g["code"] == "DBR045"] == ["0001_create_notes"], out)
    expect(sha(db) == before, "status changed the target")


@case
def status_counts_a_migration_still_to_write_as_pending_and_does_not_fail():
    # audit asurf 7: `new migration` writes empty bodies, which plan and
    # apply refuse (DBR042) until the up body is written; status left it
    # out of the count (pending 1 for 2) and failed with the plan's error
    # (exit 1) while validate passed. It is pending: status counts it, says
    # why apply refuses it (a DBR105 warning in --json), and exits 0.
    d, db = applied_with_data("apply")
    for args in (["new", "package", "@ydtb/zz"], ["new", "migration", "@ydtb/zz", "0002_more"]):
        rc, out, err = run(args, d)
        expect(rc == 0, out + err)
    before = sha(db)
    rc, out, err = run(["validate"], d)
    expect(rc == 0, out + err)
    rc, out, err = run(["status"], d)
    expect(rc == 0 and "  %-28s %-12s %-12s %s" % ("@ydtb/zz", "0.1.0", "-", "2") in out.splitlines(),
           "exit %d: %s" % (rc, out + err))
    for offline in ([], ["--offline"]):
        rc, out, err = run(["status", "--json"] + offline, d)
        doc = json.loads(out)
        pending = {p["name"]: p["pending"] for p in doc["packages"]}
        said = [g for g in doc["diagnostics"] if g["migration"] == "0002_more"]
        expect(rc == 0 and doc["ok"] and pending["@ydtb/zz"] == 2 and pending["@ydtb/basic"] == 0, out)
        expect(len(said) == 1 and said[0]["code"] == "DBR105" and said[0]["severity"] == "warning"
               and "DBR042" in said[0]["message"], said)
    # plan and apply still refuse it, and change nothing.
    for args in (["plan"], ["apply"]):
        rc, out, err = run(args, d)
        expect(rc == 1 and "error[DBR042]" in err and "0002_more" in err, "%s: %d %s" % (args, rc, out + err))
    expect(sha(db) == before, "the target changed")
    path = os.path.join(d, "tomls", "zz.toml")
    text = open(path).read()
    at = text.index('id = "0002_more"')
    body = text.index('up_sqlite = """\n"""', at)
    open(path, "w").write(text[:body] + 'up_sqlite = "UPDATE ydtb_workspaces SET name = name WHERE id = \'none\';"'
                          + text[body + len('up_sqlite = """\n"""'):])
    rc, out, err = run(["status"], d)
    expect(rc == 0 and "  %-28s %-12s %-12s %s" % ("@ydtb/zz", "0.1.0", "-", "2") in out.splitlines(), out + err)
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 2 migrations" in out, out + err)


UNSAFE_PKG = """[package]
name = "@t/unsafe"
version = "1.0.0"

[tables.ydtb_unsafe_items]
description = "items"
workspace_scoped = true

[tables.ydtb_unsafe_items.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "0001"
version = "1.0.0"
up = "CREATE TABLE IF NOT EXISTS ydtb_unsafe_items (id text PRIMARY KEY NOT NULL, workspace_id text NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE);"
down = "DROP TABLE IF EXISTS ydtb_unsafe_items;"

[[migrations]]
id = "0002"
version = "1.0.0"
up = "CREATE INDEX IF NOT EXISTS ydtb_unsafe_items_workspace_id_idx ON ydtb_unsafe_items (workspace_id);"
down = "DROP INDEX IF EXISTS ydtb_unsafe_items_workspace_id_idx;"
"""


@case
def plan_and_apply_show_planning_warnings():
    d = project({"tomls/unsafe.toml": UNSAFE_PKG})
    rc, out, err = run(["validate", "--json"], d)
    warned = [x for x in json.loads(out)["diagnostics"] if x["code"] == "DBR103" and x["package"] == "@t/unsafe"]
    expect(rc == 0 and warned, "validate: %d %s" % (rc, out))
    rc, out, err = run(["plan", "--json"], d)
    got = [x for x in json.loads(out)["diagnostics"] if x["code"] == "DBR103"]
    expect(rc == 0 and [(x["migration"], x["line"]) for x in got] == [(x["migration"], x["line"]) for x in warned],
           "plan: %s vs %s" % (got, warned))
    rc, out, err = run(["plan"], d)
    expect("warning[DBR103]" in err, err)
    rc, out, err = run(["apply", "--json"], d)
    doc = json.loads(out)
    expect(rc == 0 and any(x["code"] == "DBR103" for x in doc["diagnostics"]), out + err)
    expect("warning[DBR103]" in err, err)
    rc, out, err = run(["apply", "--json"], d)
    expect(json.loads(out)["diagnostics"] == [], "nothing left to run, nothing to warn about: " + out)
    # -q shows no warnings (the planner does not look for them then), but a
    # --json document still carries them.
    d = project({"tomls/unsafe.toml": UNSAFE_PKG})
    rc, out, err = run(["-q", "plan", "--json"], d)
    expect(rc == 0 and [x["line"] for x in json.loads(out)["diagnostics"] if x["code"] == "DBR103"] == [21], out + err)
    rc, out, err = run(["-q", "plan"], d)
    expect(rc == 0 and err == "", "plan -q: %d %r" % (rc, err))
    rc, out, err = run(["-q", "apply"], d)
    expect(rc == 0 and out == "" and err == "", "apply -q: %d %r %r" % (rc, out, err))
    rc, out, err = run(["-q", "apply", "--json", "--target", "sqlite:other.db"], d)
    expect(rc == 0 and [x["line"] for x in json.loads(out)["diagnostics"] if x["code"] == "DBR103"] == [21], out + err)


# The DBR103 is in the body for PostgreSQL; SQLite runs a body of its own.
UNSAFE_TWO_BODIES = UNSAFE_PKG.replace(
    'up = "CREATE INDEX IF NOT EXISTS ydtb_unsafe_items_workspace_id_idx ON ydtb_unsafe_items (workspace_id);"',
    'up_postgres = "CREATE INDEX IF NOT EXISTS ydtb_unsafe_items_workspace_id_idx ON ydtb_unsafe_items (workspace_id);"\n'
    'up_sqlite = "CREATE INDEX IF NOT EXISTS ydtb_unsafe_items_workspace_id_idx ON ydtb_unsafe_items (workspace_id);"')


@case
def planning_warnings_on_sqlite_are_the_same_on_every_run():
    # cli.md: the warnings found while planning are in plan's and apply's
    # "diagnostics". A migration with up_postgres and up_sqlite planned for
    # SQLite had them only on the run that validated; once the state file
    # knew the registry as checked, the next plan and apply said nothing.
    d = project({"tomls/unsafe.toml": UNSAFE_TWO_BODIES})
    seen = []
    for args in (["plan", "--json"], ["plan", "--json"], ["apply", "--json", "--dry-run"], ["apply", "--json"]):
        rc, out, err = run(args, d)
        got = [(x["migration"], x["line"]) for x in json.loads(out)["diagnostics"]
               if x["code"] == "DBR103" and x["package"] == "@t/unsafe"]
        seen.append((" ".join(args), rc, got))
    expect(all(x[1:] == (0, [("0002", 21)]) for x in seen), seen)
    d = project({"tomls/unsafe.toml": UNSAFE_TWO_BODIES})
    lines = [[x for x in run(["plan"], d)[2].splitlines() if "warning[DBR103]" in x] for _ in range(2)]
    expect(len(lines[0]) == 1 and lines[1] == lines[0], lines)


@case
def a_suppressed_planning_warning_is_printed_once_on_postgresql():
    # The validation's DBR105 for a dbreg:ignore comment is also the plan's
    # on PostgreSQL: one finding, one line (the JSON had it once already).
    url, drop = pg_database()
    try:
        d = project()
        for args in (["apply", "--dry-run"], ["init", "--dry-run"], ["apply"]):
            rc, out, err = run(args + ["--target", url], d)
            lines = [x for x in err.splitlines() if "warning[DBR105]" in x]
            expect(rc == 0 and len(lines) == 1,
                   "%s: %d, %d DBR105 lines: %s" % (args, rc, len(lines), err[-2000:]))
            shutil.rmtree(os.path.join(d, ".dbreg"))   # the SQL checks again, as on a first run
    finally:
        drop()


def tamper_plan_warnings(d, package, old, new):
    """Rewrites the planner's stored warnings of package in the state file
    (same length): a run that prints `new` took them from there."""
    import sqlite3
    con = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    row = con.execute("SELECT findings FROM cache_checks WHERE kind = 'warn' AND package = ?", (package,)).fetchone()
    expect(row and old.encode() in row[0], "no stored warning saying %r: %r" % (old, row))
    con.execute("UPDATE cache_checks SET findings = ? WHERE kind = 'warn' AND package = ?",
                (row[0].replace(old.encode(), new.encode()), package))
    con.commit()
    con.close()


def dbr103_lines(d, binary=None, state=None):
    p = subprocess.run([binary or DBREG, "plan"], cwd=d, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NO_COLOR="1", **({"DBREG_STATE": state} if state else {})))
    expect(p.returncode == 0, "plan: %d %s" % (p.returncode, p.stderr))
    return [x for x in p.stderr.splitlines() if "warning[DBR103]" in x]


@case
def plan_warnings_are_kept_per_body_until_its_bytes_or_the_binary_change():
    d = project({"tomls/unsafe.toml": UNSAFE_PKG})
    first = dbr103_lines(d)
    expect(len(first) == 1 and "tomls/unsafe.toml:21:7:" in first[0] and "blocks every write" in first[0], first)
    expect(dbr103_lines(d) == first, "the stored warnings differ from fresh ones")
    # What is stored is what is printed: the planner did not read the body again.
    tamper_plan_warnings(d, "@t/unsafe", "blocks every write", "blocks EVERY write")
    expect(dbr103_lines(d) == [first[0].replace("every", "EVERY")], "the stored warnings were not used")
    # The body's bytes changed (same size, modification time put back): read
    # again, in its new place; the same as with no stored warnings at all.
    edit_same_size(os.path.join(d, "tomls", "unsafe.toml"), '"CREATE INDEX IF NOT EXISTS ydtb_unsafe_items_workspace_id_idx ON ydtb_unsafe_items (',
                   '" CREATE INDEX IF NOT EXISTS ydtb_unsafe_items_workspace_id_idx ON ydtb_unsafe_items(')
    moved = dbr103_lines(d)
    expect(len(moved) == 1 and "tomls/unsafe.toml:21:8:" in moved[0] and "blocks every write" in moved[0], moved)
    expect(moved == dbr103_lines(d, state=os.path.join(d, "other-state.db")), "differs from a fresh state file")
    # Another dbreg binary (same bytes, another file) trusts nothing stored.
    tamper_plan_warnings(d, "@t/unsafe", "blocks every write", "blocks EVERY write")
    expect(dbr103_lines(d) == [moved[0].replace("every", "EVERY")], "the stored warnings were not used")
    other = os.path.join(tempfile.mkdtemp(prefix="dbreg-bin-"), "dbreg")
    made.append(os.path.dirname(other))
    shutil.copy2(DBREG, other)
    expect(dbr103_lines(d, other) == moved, "a new binary used the stored warnings")


def sqlite_rate():
    """Rows per second a recursive CTE counts on this machine, now."""
    import sqlite3
    con = sqlite3.connect(":memory:")
    t = time.time()
    con.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000000) SELECT count(*) FROM c").fetchall()
    con.close()
    return 1000000 / max(time.time() - t, 1e-3)


SLOW_PKG = """[package]
name = "@t/slow"
version = "1.0.0"

[[migrations]]
id = "0001_slow"
version = "1.0.0"
description = "counts to the number a test put in ydtb_workspaces: slow on the target, instant when validated"
up = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < (SELECT coalesce(max(CAST(name AS integer)), 0) FROM ydtb_workspaces WHERE id = 'slow')) SELECT count(*) FROM c;"
"""


@case
def four_concurrent_sqlite_applies_outlast_the_busy_timeout():
    # The first run takes longer than SQLite's busy timeout (5 s): the
    # waiters wait for it (--lock-timeout, default 60) instead of failing
    # "database is locked", and find nothing left to apply.
    import sqlite3
    d = project()
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, out + err)
    # Python's SQLite counts slower than dbreg's (memory statistics off):
    # aim well past the busy timeout.
    n = int(sqlite_rate() * 12)
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    con.execute("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('slow', ?, 'slow')", (str(n),))
    con.commit()
    con.close()
    with open(os.path.join(d, "tomls", "slow.toml"), "w") as fp:
        fp.write(SLOW_PKG)
    rc, out, err = run(["validate"], d)
    expect(rc == 0, err)
    e = dict(os.environ, NO_COLOR="1")
    e.pop("DBREG_TEST_PG_URL", None)
    start = time.time()
    first = subprocess.Popen([DBREG, "apply", "--json"], cwd=d, env=e, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    procs = [first] + [subprocess.Popen([DBREG, "apply", "--json"], cwd=d, env=e, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=180) + (p.returncode, time.time() - start) for p in procs]
    for out, err, rc, took in results:
        expect(rc == 0, "exit %d after %.1f s: %s" % (rc, took, err))
    applied = [json.loads(out)["applied"] for out, err, rc, took in results]
    expect(applied == [1, 0, 0, 0], "applied %s" % applied)
    print("# the first run took %.1f s, the waiters %s s" % (results[0][3], ", ".join("%.1f" % r[3] for r in results[1:])))
    expect(results[0][3] > 5.5, "the first run took only %.1f s: not longer than the busy timeout" % results[0][3])
    rc, out, err = run(["status", "--json"], d)
    expect(rc == 0 and all(p["pending"] == 0 for p in json.loads(out)["packages"]), out + err)


@case
def a_waiter_times_out_naming_the_lock_timeout_on_sqlite():
    import fcntl
    d = project()
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, out + err)
    # Another run's lock: the flock a run holds on the database file.
    fd = os.open(os.path.join(d, "ydtb.db"), os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with open(os.path.join(d, "tomls", "slow.toml"), "w") as fp:
            fp.write(SLOW_PKG)
        t = time.time()
        rc, out, err = run(["apply", "--lock-timeout", "2"], d)
        took = time.time() - t
        expect(rc == 5 and 1.5 < took < 10, "exit %d after %.1f s: %s" % (rc, took, err))
        expect("--lock-timeout" in err and "database is locked" not in err, err)
        # It said that it waited, before it gave up.
        said = err.find("waiting up to 2 s (--lock-timeout) for another dbreg run on")
        expect(0 <= said < err.find("timed out"), err)
        # 0 is no wait at all (the library's default of 60 is not it).
        t = time.time()
        rc, out, err = run(["apply", "--lock-timeout", "0"], d)
        took = time.time() - t
        expect(rc == 5 and took < 1.5 and "timed out after 0 s" in err, "exit %d after %.1f s: %s" % (rc, took, err))
        expect("waiting up to" not in err, err)
        # A waiter says so while it waits (not only once it gives up), and
        # goes on when the lock is released.
        waiter = subprocess.Popen([DBREG, "apply", "--lock-timeout", "30"], cwd=d, env=clitest.dbreg_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = waiter.stderr.readline()
        expect(line.startswith("waiting up to 30 s") and waiter.poll() is None, line)
        os.close(fd)
        fd = None
        out, rest = waiter.communicate(timeout=30)
        expect(waiter.returncode == 0 and "applied 1 migration" in out, out + line + rest)
    finally:
        if fd is not None:
            os.close(fd)
    rc, out, err = run(["apply"], d)
    expect(rc == 0, out + err)



@case
def another_process_holding_the_sqlite_file_is_waited_for_as_a_lock():
    # A run committing a big migration (or the application itself) holds
    # SQLite's exclusive lock. Opening the file waited the fixed busy
    # timeout, 5 s, and failed with exit 3, "cannot connect", whatever
    # --lock-timeout said (the fault audit). Now the open waits
    # --lock-timeout: past it exit 5, the code of a lock waited for; within
    # it the run goes on once the holder is done.
    d = project()
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, out + err)
    db = os.path.join(d, "ydtb.db")
    with open(db, "rb") as fp:
        before = fp.read()

    def hold(seconds):
        p = subprocess.Popen([sys.executable, "-c",
                              "import sqlite3, sys, time\n"
                              "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                              "c.execute('BEGIN EXCLUSIVE')\n"
                              "print('held', flush=True)\n"
                              "time.sleep(float(sys.argv[2]))\n", db, str(seconds)], stdout=subprocess.PIPE, text=True)
        expect(p.stdout.readline().strip() == "held", "the holder did not take the lock")
        return p

    holder = hold(60)
    try:
        t = time.time()
        rc, out, err = run(["apply", "--json", "--lock-timeout", "2"], d)
        took = time.time() - t
        doc = json.loads(out)
        expect(rc == 5 and doc["exit_code"] == 5 and 1.5 < took < 8, "exit %d after %.1f s: %s" % (rc, took, out + err))
        expect("locked by another connection" in doc["error"]["message"] and "after 2 s (--lock-timeout" in
               doc["error"]["message"] and "cannot connect" not in doc["error"]["message"], doc["error"])
    finally:
        holder.kill()
        holder.wait()
    with open(db, "rb") as fp:
        expect(fp.read() == before, "the database changed")
    # Longer than the old 5 s, shorter than the default 60: waited for.
    holder = hold(7)
    try:
        t = time.time()
        rc, out, err = run(["status"], d)
        took = time.time() - t
        expect(rc == 0 and took > 5.5, "status: exit %d after %.1f s: %s" % (rc, took, err))
    finally:
        holder.kill()
        holder.wait()


def keepalive_timers(pid, port):
    """The keepalive timers (seconds) of process pid's TCP connections to port, as ss shows them."""
    out = subprocess.run(["ss", "-tnpoH", "state", "established", "dport", "= :%d" % port],
                         capture_output=True, text=True).stdout
    timers = []
    for line in out.splitlines():
        m = re.search(r"timer:\(keepalive,([^,]+),", line)
        if "pid=%d," % pid not in line or not m:
            continue
        parts = dict((u, float(v)) for v, u in re.findall(r"([\d.]+)(min|sec|ms)", m.group(1)))
        timers.append(parts.get("min", 0) * 60 + parts.get("sec", 0) + parts.get("ms", 0) / 1000)
    return timers


@case
def a_postgres_connection_finds_a_silent_network_in_seconds_not_hours():
    # A network that goes silent mid-migration left dbreg waiting on the
    # kernel's keepalive (first probe after 2 h), the server's transaction
    # open (the audit). The driver asks for probes after 15 s idle (ss shows
    # the timer counting from there); a URL's own keepalives_idle wins.
    d = project({"tomls/slow.toml": SLOW_PG})
    for own, most, least in (("", 16, 0), ("keepalives_idle=300", 301, 60)):
        url, drop = pg_database()
        port = int(re.search(r":(\d+)/", url).group(1))
        target = url + ("&" if "?" in url else "?") + own if own else url
        try:
            p = subprocess.Popen([DBREG, "apply", "--target", target], cwd=d, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            timers = []
            deadline = time.time() + 10
            while not timers and time.time() < deadline and p.poll() is None:
                time.sleep(0.3)
                timers = keepalive_timers(p.pid, port)
            out, err = p.communicate(timeout=60)
            expect(p.returncode == 0, err)
            expect(timers and all(least <= t <= most for t in timers), "%s: keepalive timers %s" % (own, timers))
        finally:
            drop()


SLOW_PG = """[package]
name = "@t/slowpg"
version = "1.0.0"
description = "sleeps on PostgreSQL, so the connection can be looked at"

[[migrations]]
id = "0001_sleep"
version = "1.0.0"
up_postgres = "SELECT pg_sleep(3);"
up_sqlite = "SELECT 1;"
"""

def lifecycle_target(dialect):
    """(dbreg.toml text, env, sql function, cleanup) for a fresh target."""
    if dialect == "sqlite":
        return '[targets.dev]\nurl = "sqlite:ydtb.db"\n', {}, None, lambda: None
    url, drop = pg_database()
    def sql(q):
        r = subprocess.run(["psql", url, "-XtAqc", q], capture_output=True, text=True)
        expect(r.returncode == 0, "psql %s: %s" % (q, r.stderr))
        return r.stdout.strip()
    return '[targets.dev]\nurl = "${DBREG_PG}"\n', {"DBREG_PG": url}, sql, drop


def lifecycle_sql(d, sql):
    if sql:
        return sql
    import sqlite3
    def run_sqlite(q):
        con = sqlite3.connect(os.path.join(d, "ydtb.db"))
        try:
            rows = con.executescript(q) if ";" in q.strip()[:-1] else con.execute(q).fetchall()
            con.commit()
            return "\n".join("|".join(str(x) for x in r) for r in rows) if isinstance(rows, list) else ""
        finally:
            con.close()
    return run_sqlite


def initialised_project(dialect):
    """A project of tomls/ initialised on a fresh target of the dialect:
    (folder, env, sql function, cleanup)."""
    toml, env, sql, cleanup = lifecycle_target(dialect)
    try:
        d = project({"dbreg.toml": toml})
        rc, out, err = run(["init", "-q"], d, env)
        expect(rc == 0, out + err)
    except BaseException:
        cleanup()
        raise
    return d, env, lifecycle_sql(d, sql), cleanup


def verify_reports_a_partial_or_other_method_index(dialect):
    # A declared index recreated WHERE false (a UNIQUE one then keeps no row
    # unique) or USING hash matched the declared one, on both dialects (the
    # audit): verify compared only names, columns and uniqueness.
    d, env, sql, cleanup = initialised_project(dialect)
    try:
        sql("DROP INDEX ydtb_basic_notes_created_idx; CREATE INDEX ydtb_basic_notes_created_idx"
            " ON ydtb_basic_notes (workspace_id, created_at) WHERE %s;" % ("false" if dialect == "postgres" else "0"))
        want = ["index ydtb_basic_notes_created_idx is partial (WHERE %s): it is declared over every row"
                % ("false" if dialect == "postgres" else "0")]
        if dialect == "postgres":
            sql("DROP INDEX ydtb_basic_notes_workspace_id_idx; CREATE INDEX ydtb_basic_notes_workspace_id_idx"
                " ON ydtb_basic_notes USING hash (workspace_id);")
            want.append("index ydtb_basic_notes_workspace_id_idx uses hash: it is declared as a btree index")
        rc, out, err = run(["verify", "--json"], d, env)
        got = sorted(p["message"] for p in json.loads(out)["problems"])
        expect(rc == 6 and got == sorted(want), "%d %s" % (rc, got))
    finally:
        cleanup()


@case
def verify_reports_a_partial_or_other_method_index_sqlite():
    verify_reports_a_partial_or_other_method_index("sqlite")


@case
def verify_reports_a_partial_or_other_method_index_postgres():
    verify_reports_a_partial_or_other_method_index("postgres")


def baseline_adopts_a_database_built_by_hand(dialect):
    d, env, sql, cleanup = initialised_project(dialect)
    try:
        rc, out, err = run(["history", "--json"], d, env)
        count = {}
        for m in json.loads(out)["migrations"]:
            count[m["package"]] = count.get(m["package"], 0) + 1
        rc, out, err = run(["status", "--json"], d, env)
        version = {p["name"]: p["declared_version"] for p in json.loads(out)["packages"]}
        core, basic = "@ydtb/core@" + version["@ydtb/core"], "@ydtb/basic@" + version["@ydtb/basic"]
        # The tables without dbreg's history: what a database made by hand holds.
        sql("DROP TABLE ydtb_registry_migrations; DROP TABLE ydtb_registry_packages;")
        rc, out, err = run(["status", "--json"], d, env)
        expect(all(p["installed_version"] is None for p in json.loads(out)["packages"]), out)
        # Its dependency first: basic on a target without core is refused.
        rc, out, err = run(["baseline", basic], d, env)
        expect(rc == 1 and "error[DBR031]: @ydtb/basic depends on @ydtb/core" in err
               and "does not have installed" in err, "%d %s" % (rc, out + err))
        rc, out, err = run(["history", "--json"], d, env)
        expect(json.loads(out)["migrations"] == [], out)
        rc, out, err = run(["baseline", core], d, env)
        expect(rc == 0 and "recorded %d migrations as applied without running them" % count["@ydtb/core"] in out,
               "%d %s" % (rc, out + err))
        rc, out, err = run(["baseline", basic], d, env)
        expect(rc == 0 and "recorded %d migrations" % count["@ydtb/basic"] in out, "%d %s" % (rc, out + err))
        rc, out, err = run(["verify"], d, env)
        expect(rc == 0, out + err)
        rc, out, err = run(["apply", "--json"], d, env)
        expect(rc == 0 and json.loads(out)["applied"] == 0, out + err)
        expect(sql("SELECT count(*) FROM ydtb_tools WHERE package_name = '@ydtb/basic'") == "2", "tools not recorded")
        # A database that lacks a table is refused, naming it, and nothing is recorded.
        sql("DROP TABLE ydtb_registry_migrations; DROP TABLE ydtb_registry_packages; DROP TABLE ydtb_basic_note_tags;")
        rc, out, err = run(["baseline", core], d, env)
        expect(rc == 0, out + err)
        rc, out, err = run(["baseline", basic], d, env)
        expect(rc == 6 and "ydtb_basic_note_tags" in err and "missing" in err, "%d %s" % (rc, err))
        # The differences are the JSON document's too (only stderr said them).
        rc, out, err = run(["baseline", basic, "--json"], d, env)
        doc = json.loads(out)
        expect(rc == 6 and any(p["table"] == "ydtb_basic_note_tags" and "missing" in p["message"]
                               for p in doc["problems"]), out)
        expect(doc["error"]["message"].endswith("nothing was recorded")
               and "difference" in doc["error"]["message"]
               and doc["error"]["hint"] == "make the database match, or apply the migrations instead", out)
        rc, out, err = run(["history", "--json"], d, env)
        expect(not [m for m in json.loads(out)["migrations"] if m["package"] == "@ydtb/basic"], out)
        # A version the package never declared, or no package of the project:
        # a usage error, not a comparison with a schema that does not exist.
        for arg, words in (("@ydtb/basic@9.9.9", "above the declared version"), ("@ydtb/basic@x", "not a semver"),
                           ("@ydtb/nosuch@1.0.0", "no package @ydtb/nosuch")):
            rc, out, err = run(["baseline", arg], d, env)
            expect(rc == 2 and words in err and "refused" not in err, "%s: %d %s" % (arg, rc, err))
    finally:
        cleanup()


@case
def baseline_adopts_a_database_built_by_hand_sqlite():
    baseline_adopts_a_database_built_by_hand("sqlite")


@case
def baseline_adopts_a_database_built_by_hand_postgres():
    baseline_adopts_a_database_built_by_hand("postgres")


@case
def accept_records_an_intended_change_and_logs_it():
    import sqlite3
    d = project()
    rc, out, err = run(["init", "-q"], d)
    expect(rc == 0, out + err)

    def order():
        rc, out, err = run(["history", "--json"], d)
        expect(rc == 0, out + err)
        return [(m["package"], m["migration"], m["applied_at"]) for m in json.loads(out)["migrations"]]
    before = order()
    path = os.path.join(d, "tomls", "basic.toml")
    text = open(path).read()
    open(path, "w").write(text.replace('CREATE TABLE IF NOT EXISTS "ydtb_basic_notes" (\n  "id" TEXT',
                                       '-- a comment added later\nCREATE TABLE IF NOT EXISTS "ydtb_basic_notes" (\n  "id" TEXT', 1))
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "DBR045" in err, "drift must stop apply: %d %s" % (rc, err))
    rc, out, err = run(["accept", "@ydtb/basic", "0001_create_notes", "--json"], d)
    doc = json.loads(out)
    expect(rc == 0 and doc["changed"] is True and doc["old_checksum"] != doc["new_checksum"], out + err)
    # Still oldest first, each row at its time: accept rewrote the row.
    expect(order() == before, "history order changed by accept: %s\n%s" % (before, order()))
    rc, out, err = run(["accept", "@ydtb/basic", "0001_create_notes"], d)
    expect(rc == 0 and "nothing to accept" in out, out + err)
    rc, out, err = run(["accept", "@ydtb/basic", "0001_create_notes", "-q"], d)
    expect(rc == 0 and out + err == "", out + err)
    rc, out, err = run(["apply"], d)
    expect(rc == 0, out + err)
    rc, out, err = run(["accept", "@ydtb/basic", "no_such"], d)
    expect(rc == 2 and "no_such" in err, "%d %s" % (rc, err))
    # A change that makes a column is no comment: validate's DBR047 stops it.
    drifted = open(path).read()
    open(path, "w").write(drifted.replace('"id" TEXT PRIMARY KEY NOT NULL,\n  "workspace_id"',
                                          '"id" TEXT PRIMARY KEY NOT NULL,\n  "secret" TEXT,\n  "workspace_id"', 1))
    rc, out, err = run(["accept", "@ydtb/basic", "0001_create_notes"], d)
    expect(rc == 1 and "DBR047" in err and "secret" in err, "%d %s" % (rc, out + err))
    open(path, "w").write(drifted)
    con = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    events = con.execute("SELECT event, outcome, detail FROM events WHERE event = 'accept'").fetchall()
    con.close()
    expect(any(o == "ok" and doc["old_checksum"] in det and doc["new_checksum"] in det for e, o, det in events), events)


UP_FILE_PKG = """[package]
name = "@t/uf"
version = "1.0.0"
description = "A table made by an up_file"

[tables.ydtb_uf_items]
description = "An item"
workspace_scoped = true

[tables.ydtb_uf_items.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "0001_items"
version = "1.0.0"
up_file = "uf/0001.sql"
down = "DROP TABLE IF EXISTS ydtb_uf_items;"
"""

UP_FILE_SQL = ("-- the items\n"
               "CREATE TABLE IF NOT EXISTS ydtb_uf_items (id text PRIMARY KEY,\n"
               "  workspace_id text NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE);\n"
               "CREATE INDEX IF NOT EXISTS ydtb_uf_items_workspace_id_idx ON ydtb_uf_items (workspace_id);\n")


@case
def findings_about_an_up_file_name_a_place_in_that_file():
    # A position is a place in the file named next to it: a body read from
    # an up_file is not at the manifest's line of its up_file key.
    d = project({"tomls/uf.toml": UP_FILE_PKG, "tomls/uf/0001.sql": UP_FILE_SQL})
    sql = os.path.join(d, "tomls", "uf", "0001.sql")
    rc, out, err = run(["init", "-q"], d)
    expect(rc == 0, out + err)
    # Drift of an applied up_file: DBR045 at the start of that file.
    open(sql, "w").write(UP_FILE_SQL + "-- changed\n")
    rc, out, err = run(["apply", "--json"], d)
    doc = json.loads(out)
    got = [(g["file"], g["line"], g["column"]) for g in doc["diagnostics"] if g["code"] == "DBR045"]
    expect(rc == 1 and got == [("tomls/uf/0001.sql", 1, 1)], "%d %s" % (rc, out + err))
    # A body SQLite refuses (the replay of validate): at the failing place in the file.
    open(sql, "w").write(UP_FILE_SQL + "SELECT 1;\n  SELECT FROM nowhere;\n")
    rc, out, err = run(["validate", "--json"], d)
    doc = json.loads(out)
    got = [(g["file"], g["line"], g["column"]) for g in doc["diagnostics"] if g["code"] == "DBR047"]
    expect(rc == 1 and got == [("tomls/uf/0001.sql", 6, 10)], "%d %s" % (rc, out + err))


FK_OFF_PKG = UP_FILE_PKG.replace('up_file = "uf/0001.sql"', 'up = """\n%s"""' % UP_FILE_SQL) + """
[[migrations]]
id = "0002_rebuild"
version = "1.0.0"
foreign_keys = false
up_postgres = "SELECT 1;"
up_sqlite = \"\"\"
CREATE TABLE ydtb_uf_items_new (id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE);
INSERT INTO ydtb_uf_items_new (id, workspace_id) SELECT id, workspace_id FROM ydtb_uf_items;
DROP TABLE ydtb_uf_items;
ALTER TABLE ydtb_uf_items_new RENAME TO ydtb_uf_items;
CREATE INDEX IF NOT EXISTS ydtb_uf_items_workspace_id_idx ON ydtb_uf_items (workspace_id);
\"\"\"
"""


@case
def a_foreign_keys_false_migration_is_named_as_what_split_the_run():
    d = project({"tomls/uf.toml": FK_OFF_PKG})
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "(a migration with transaction = false or foreign_keys = false ran on its own)" in out,
           out + err)


KIDS_PKG = """[package]
name = "@t/k"
version = "1.1.0"

[tables.ydtb_k_items]
description = "items"
workspace_scoped = true
[tables.ydtb_k_items.columns]
id = { type = "text", primary_key = true }
n = { type = "bigint", not_null = true }

[tables.ydtb_k_kids]
description = "kids"
workspace_scoped = true
[tables.ydtb_k_kids.columns]
id = { type = "text", primary_key = true }
item_id = { type = "text", not_null = true, references = "ydtb_k_items.id", on_delete = "cascade" }

[[migrations]]
id = "0001_create"
version = "1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS ydtb_k_items (id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE, n integer NOT NULL);
CREATE INDEX IF NOT EXISTS ydtb_k_items_workspace_id_idx ON ydtb_k_items (workspace_id);
CREATE TABLE IF NOT EXISTS ydtb_k_kids (id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  item_id text NOT NULL REFERENCES ydtb_k_items(id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS ydtb_k_kids_workspace_id_idx ON ydtb_k_kids (workspace_id);
\"\"\"
down = "DROP TABLE IF EXISTS ydtb_k_kids; DROP TABLE IF EXISTS ydtb_k_items;"

[[migrations]]
id = "0002_bigint"
version = "1.1.0"
%s
up_postgres = "ALTER TABLE ydtb_k_items ALTER COLUMN n TYPE bigint;"
up_sqlite = \"\"\"
CREATE TABLE ydtb_k_items_new (id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE, n BIGINT NOT NULL);
INSERT INTO ydtb_k_items_new SELECT id, workspace_id, n FROM ydtb_k_items;
  DROP TABLE ydtb_k_items;
ALTER TABLE ydtb_k_items_new RENAME TO ydtb_k_items;
CREATE INDEX IF NOT EXISTS ydtb_k_items_workspace_id_idx ON ydtb_k_items (workspace_id);
\"\"\"
down = "SELECT 1;"
"""

KIDS_ROWS = ("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W1', 'w1');"
             "INSERT INTO ydtb_k_items VALUES ('i1', 'w1', 1), ('i2', 'w1', 2);"
             "INSERT INTO ydtb_k_kids VALUES ('k1', 'w1', 'i1'), ('k2', 'w1', 'i2');")


def kids_dbr103(doc):
    return [(g["file"], g["line"], g["column"], g["hint"]) for g in doc["diagnostics"]
            if g["code"] == "DBR103" and "DROP TABLE ydtb_k_items" in g["message"]]


@case
def a_sqlite_rebuild_with_foreign_keys_on_that_cascades_into_children_is_dbr103_and_refused_over_rows():
    # Audit aeng finding 2: the rebuild's DROP TABLE deletes the parent's rows
    # first, and ON DELETE CASCADE empties the child; nothing said so.
    import sqlite3
    d = project({"tomls/k.toml": KIDS_PKG % ""}, with_tomls=["core.toml"])
    rc, doc, err = run_json(["validate"], d)
    want = [("tomls/k.toml", 42, 3, "set foreign_keys = false on this migration")]
    expect(rc == 0 and kids_dbr103(doc) == want, json.dumps(doc["diagnostics"]))
    hit = [g for g in doc["diagnostics"] if g["code"] == "DBR103" and "ydtb_k_kids (ON DELETE CASCADE)" in g["message"]]
    expect(len(hit) == 1 and hit[0]["migration"] == "0002_bigint", json.dumps(doc["diagnostics"]))
    # The run with rows that the warning is about: apply says it too.
    rc, out, err = run(["apply", "--to", "@t/k@1.0.0", "-q"], d)
    expect(rc == 0, out + err)
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    con.executescript(KIDS_ROWS)
    con.close()
    with open(os.path.join(d, "tomls", "k.toml"), "a") as f:
        f.write("# edited\n")   # the registry is checked again, as after any edit
    dump = subprocess.run(["sqlite3", os.path.join(d, "ydtb.db"), ".dump"], capture_output=True, text=True).stdout
    # With rows the cascade would reach, apply refuses rather than lose them.
    rc, doc, err = run_json(["apply"], d)
    expect(rc == 4 and kids_dbr103(doc) == want, json.dumps(doc))
    e = doc["error"]
    expect(e["line"] == 42 and e["column"] == 3 and "DROP TABLE ydtb_k_items would delete rows of table ydtb_k_kids"
           in e["message"] and e["hint"].startswith("set foreign_keys = false on this migration"), json.dumps(e))
    after = subprocess.run(["sqlite3", os.path.join(d, "ydtb.db"), ".dump"], capture_output=True, text=True).stdout
    expect(after == dump, "the target changed")
    # Kids whose items are gone already lose nothing: the rebuild applies.
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    con.executescript("DELETE FROM ydtb_k_kids; INSERT INTO ydtb_k_kids VALUES ('k9', 'w1', 'ghost');")
    con.close()
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 1 migration" in out, out + err)
    # foreign_keys = false: the same rebuild is fine, and says nothing.
    d = project({"tomls/k.toml": KIDS_PKG % "foreign_keys = false"}, with_tomls=["core.toml"])
    rc, doc, err = run_json(["validate"], d)
    expect(rc == 0 and kids_dbr103(doc) == [], json.dumps(doc["diagnostics"]))
    # The children dropped first in the same body: nothing of them is lost by the parent's DROP.
    first = KIDS_PKG.replace("  DROP TABLE ydtb_k_items;", "DROP TABLE ydtb_k_kids;\n  DROP TABLE ydtb_k_items;")
    d = project({"tomls/k.toml": first % ""}, with_tomls=["core.toml"])
    rc, doc, err = run_json(["validate"], d)
    expect(kids_dbr103(doc) == [], json.dumps(doc["diagnostics"]))


@case
def a_foreign_keys_false_migration_is_refused_only_over_orphans_it_made():
    # Audit aeng finding 6: SQLite's default is foreign_keys off, so a
    # database may hold orphans no migration made; the check after a
    # rebuild blamed them on it, in tables it never touched.
    import sqlite3
    def at_1_0_0(pkg):
        d = project({"tomls/k.toml": pkg}, with_tomls=["core.toml"])
        rc, out, err = run(["apply", "--to", "@t/k@1.0.0", "-q"], d)
        expect(rc == 0, out + err)
        con = sqlite3.connect(os.path.join(d, "ydtb.db"))
        con.executescript(KIDS_ROWS + "INSERT INTO session (id, expires_at, token, updated_at, user_id)"
                          " VALUES ('s1', 'x', 't', 'x', 'ghost-user');"
                          "INSERT INTO ydtb_k_kids VALUES ('k9', 'w1', 'ghost-item');")
        con.close()
        return d
    def rows(d, sql):
        con = sqlite3.connect(os.path.join(d, "ydtb.db"))
        got = con.execute(sql).fetchall()
        con.close()
        return got
    d = at_1_0_0(KIDS_PKG % "foreign_keys = false")
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 1 migration" in out, out + err)
    expect(rows(d, "SELECT id FROM ydtb_k_kids ORDER BY id") == [("k1",), ("k2",), ("k9",)], "kids lost")
    # A lossy rebuild (i2 not copied, so k2 loses its parent) is refused, and
    # says which orphan was there before.
    lossy = (KIDS_PKG % "foreign_keys = false").replace("SELECT id, workspace_id, n FROM ydtb_k_items;",
                                                        "SELECT id, workspace_id, n FROM ydtb_k_items WHERE n = 1;")
    d = at_1_0_0(lossy)
    rc, out, err = run(["apply"], d)
    expect(rc == 4 and "the migration left 1 row of table ydtb_k_kids whose reference to ydtb_k_items is missing"
           " (and 1 more that was already orphaned before it)" in err and "session" not in err, out + err)
    expect(rows(d, "SELECT count(*) FROM ydtb_k_items") == [(2,)], "not rolled back")


KIDS_PRUNE = """
[[migrations]]
id = "0003_prune"
version = "1.1.0"
up = "DELETE FROM ydtb_k_items WHERE n = 1;"
down = "SELECT 1;"
"""


@case
def plan_sql_runs_a_sqlite_foreign_keys_false_migration_as_apply_does():
    # Audit aeng finding 3: the script had no PRAGMA foreign_keys at all and
    # ran the rebuild in the transaction of the others, so the client's
    # default decided: with enforcement on the rebuild emptied the kids, off
    # the later DELETE left an orphan. Now the script does what apply does.
    import shutil
    import sqlite3
    d = project({"tomls/k.toml": KIDS_PKG % "foreign_keys = false" + KIDS_PRUNE}, with_tomls=["core.toml"])
    rc, out, err = run(["apply", "--to", "@t/k@1.0.0", "-q"], d)
    expect(rc == 0, out + err)
    db = os.path.join(d, "ydtb.db")
    con = sqlite3.connect(db)
    con.executescript(KIDS_ROWS)
    con.close()
    rc, script, err = run(["plan", "--sql", "--refresh"], d)
    expect(rc == 0 and script.count("PRAGMA foreign_keys = OFF;") == 1 and
           "a script cannot abort on them" in script, script + err)
    body = script.index("DROP TABLE ydtb_k_items;")
    expect(script.startswith("-- dbreg") and script.split("\n")[1] == "PRAGMA foreign_keys = ON;" and
           script.rindex("-- foreign_keys = false", 0, body) < script.rindex("PRAGMA foreign_keys = OFF;\nBEGIN;", 0, body)
           and script.index("PRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys = ON;\nBEGIN;", body) > body, script)
    for which, cmd in (("on", ["-cmd", "PRAGMA foreign_keys=ON"]), ("off", [])):
        copy = os.path.join(d, "script-%s.db" % which)
        shutil.copy(db, copy)
        p = subprocess.run(["sqlite3", "-bail"] + cmd + [copy], input=script, capture_output=True, text=True)
        expect(p.returncode == 0 and p.stdout.strip() == "", "%s: %s %s" % (which, p.stdout, p.stderr))
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 2 migrations" in out, out + err)
    def content(path):
        con = sqlite3.connect(path)
        got = (con.execute("SELECT sql FROM sqlite_master WHERE name LIKE 'ydtb_k%' ORDER BY name").fetchall(),
               con.execute("SELECT * FROM ydtb_k_items ORDER BY id").fetchall(),
               con.execute("SELECT * FROM ydtb_k_kids ORDER BY id").fetchall(),
               con.execute("SELECT package, migration, version, checksum FROM ydtb_registry_migrations"
                           " ORDER BY package, migration").fetchall(),
               con.execute("PRAGMA foreign_key_check").fetchall())
        con.close()
        return got
    applied = content(db)
    expect(applied[2] == [("k2", "w1", "i2")] and applied[4] == [], applied)
    for which in ("on", "off"):
        expect(content(os.path.join(d, "script-%s.db" % which)) == applied, which)


@case
def plan_and_dry_run_show_that_a_sqlite_foreign_keys_false_step_splits_the_run():
    # Audit aeng finding 7: apply runs it in a transaction of its own, so a
    # later failure leaves the steps before it committed; the plan said
    # nothing of it, and the JSON step read as any other.
    import sqlite3
    d = project({"tomls/k.toml": KIDS_PKG % "foreign_keys = false" + KIDS_PRUNE}, with_tomls=["core.toml"])
    rc, out, err = run(["apply", "--to", "@t/k@1.0.0", "-q"], d)
    expect(rc == 0, out + err)
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    con.executescript(KIDS_ROWS)
    con.close()
    mark = "[in a transaction of its own, foreign keys off: the run is split here]"
    for args in (["plan"], ["apply", "--dry-run"]):
        rc, out, err = run(args, d)
        lines = [x for x in out.splitlines() if re.match(r"\s+\d+\. up +@t/k ", x)]
        expect(rc == 0 and len(lines) == 2 and lines[0].endswith(mark) and mark not in lines[1], out + err)
    rc, doc, err = run_json(["plan"], d)
    steps = {x["migration"]: x for x in doc["steps"]}
    expect(steps["0002_bigint"]["foreign_keys"] is False and steps["0002_bigint"]["transaction"] is True and
           steps["0003_prune"]["foreign_keys"] is True, json.dumps(doc["steps"]))
    rc, out, err = run(["apply", "--dry-run", "-v"], d)
    expect(rc == 0 and "would apply @t/k 0002_bigint (1.1.0) alone with foreign keys off" in out + err, out + err)
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "in 3 transactions" in out, out + err)


@case
def down_to_nothing_uninstalls_and_logs_the_reverts():
    import sqlite3
    d = project()
    rc, out, err = run(["init", "-q"], d)
    expect(rc == 0, out + err)
    rc, out, err = run(["down", "@ydtb/basic", "--to", "0.0.0"], d)
    expect(rc == 0 and "reverted 5 migrations" in out, out + err)
    rc, out, err = run(["status", "--json"], d)
    basic = [p for p in json.loads(out)["packages"] if p["name"] == "@ydtb/basic"][0]
    expect(basic["installed_version"] is None and basic["pending"] == 5, basic)
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    tools = con.execute("SELECT count(*) FROM ydtb_tools WHERE package_name = '@ydtb/basic'").fetchone()[0]
    tables = con.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'ydtb_basic%'").fetchone()[0]
    con.close()
    expect(tools == 0 and tables == 0, "tools %d, tables %d left" % (tools, tables))
    con = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    detail = con.execute("SELECT detail FROM events WHERE event = 'downgrade' AND outcome = 'ok'").fetchone()[0]
    con.close()
    expect(detail.startswith("reverted @ydtb/basic 0005_create_note_tags,") and "0001_create_notes" in detail, detail)
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 5 migrations" in out, out + err)
    rc, out, err = run(["verify"], d)
    expect(rc == 0, out + err)


@case
def noop_apply_on_postgres_is_cached_until_the_history_moves():
    url, drop = pg_database()
    try:
        d = project({"dbreg.toml": '[targets.dev]\nurl = "${DBREG_PG}"\n'})
        env = {"DBREG_PG": url}
        settled()
        rc, out, err = run(["apply"], d, env)
        expect(rc == 0 and re.search(r"applied [1-9]\d* migrations", out), out + err)
        rc, out, err = run(["apply", "-v"], d, env)
        expect(rc == 0 and CACHED in err and "applied 0 migrations" in out, out + err)
        from urllib.parse import urlsplit
        password = urlsplit(url).password
        expect(not password or password not in out + err, "password leaked")
        # Another run (or a person) takes a migration back out of the
        # history: the digest differs, the long way applies it again.
        subprocess.run(["psql", url, "-qc", "DELETE FROM ydtb_registry_migrations WHERE migration ="
                        " (SELECT max(migration) FROM ydtb_registry_migrations WHERE package = '@ydtb/basic')"],
                       check=True, capture_output=True)
        rc, out, err = run(["apply", "-v"], d, env)
        expect(rc == 0 and CACHED not in err and "applied 1 migration" in out, out + err)
        rc, out, err = run(["apply", "-v"], d, env)
        expect(rc == 0 and CACHED in err, out + err)
    finally:
        drop()


@case
def noop_apply_memo_sees_a_history_row_removed_or_changed_on_either_database():
    # The no-op memo is checked against a digest the driver computes where
    # the rows are (driver v10: PostgreSQL's server, SQLite's driver without
    # copying a row): a row removed on the target is applied again, a
    # changed checksum is refused (DBR045) as the long way refuses it, and
    # the same rows put back are a cached no-op again.
    import sqlite3
    targets = [("sqlite", None)]
    if PG_URL:
        targets.append(pg_database())
    try:
        for url, drop in targets:
            d = project({"dbreg.toml": '[targets.dev]\nurl = "%s"\n' % ("sqlite:ydtb.db" if drop is None else url)})

            def sql(text, d=d, url=url, drop=drop):
                if drop is None:
                    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
                    con.execute(text)
                    con.commit()
                    con.close()
                else:
                    subprocess.run(["psql", "-X", url, "-qc", text], check=True, capture_output=True)
            settled()
            rc, out, err = run(["apply"], d)
            expect(rc == 0 and re.search(r"applied [1-9]\d* migrations", out), out + err)
            rc, out, err = run(["apply", "-v"], d)
            expect(rc == 0 and CACHED in err and "applied 0 migrations" in out, url + ": " + out + err)
            row = " WHERE package = '@ydtb/basic' AND migration = '0005_create_note_tags'"
            sql("UPDATE ydtb_registry_migrations SET checksum = 'sha256:%s'" % ("0" * 64) + row)
            rc, out, err = run(["apply", "-v"], d)
            expect(rc != 0 and CACHED not in err and "DBR045" in err, "%s: exit %d: %s" % (url, rc, out + err))
            sql("DELETE FROM ydtb_registry_migrations" + row)
            rc, out, err = run(["apply", "-v"], d)
            expect(rc == 0 and CACHED not in err and "applied 1 migration" in out, url + ": " + out + err)
            rc, out, err = run(["apply", "-v"], d)
            expect(rc == 0 and CACHED in err and "applied 0 migrations" in out, url + ": " + out + err)
    finally:
        for _, drop in targets:
            if drop:
                drop()


UP_FILE_LOOKUP_PKG = """[package]
name = "@t/upfile"
version = "1.0.0"
description = "a migration in a file of its own"

[dependencies]
"@ydtb/core" = "^1.0.0"

[[migrations]]
id = "0001_lookup"
version = "1.0.0"
up_file = "sql/0001_lookup.sql"
down = "SELECT 1;"
"""


@case
def a_replay_failure_in_an_up_file_points_into_that_file():
    # The database's position is in the SQL file: file, line and column of
    # DBR047 name it, not the manifest (an editor opens the line itself).
    d = project({"tomls/upfile.toml": UP_FILE_LOOKUP_PKG,
                 "tomls/sql/0001_lookup.sql": "-- looks something up\nSELECT 1;\nSELECT id FROM ydtb_nowhere;\n"})
    targets = [[]]
    drop = None
    if PG_URL:
        url, drop = pg_database()
        targets.append(["--target", url])
    try:
        for extra in targets:
            rc, out, err = run(["validate", "--json"] + extra, d)
            found = [(x["file"], x["line"], x["message"]) for x in json.loads(out)["diagnostics"] if x["code"] == "DBR047"]
            expect(rc == 1 and found, "%s: %d %s" % (extra, rc, out))
            expect(all(f[:2] == ("tomls/sql/0001_lookup.sql", 3) for f in found), "%s: %s" % (extra, found))
    finally:
        if drop:
            drop()


# ---- bad inputs: each exits 1 with a clear message within the time budget ----

BUDGET_S = 10


def pkg_with_up_file(path):
    return ('[package]\nname = "@ydtb/bad"\nversion = "1.0.0"\ndescription = "x"\n'
            '[dependencies]\n"@ydtb/core" = "^1.0.0"\n'
            '[[migrations]]\nid = "0001_x"\nversion = "1.0.0"\nup_file = "%s"\n' % path)


def run_bad(d, args=("validate",), env=None):
    t0 = time.time()
    rc, out, err = run(list(args), d, env=env, timeout=60)
    took = time.time() - t0
    expect(took < BUDGET_S, "took %.1f s: %s" % (took, err[-500:]))
    expect(rc == 1, "exit %d (want 1): %s" % (rc, err[-2000:]))
    return out, err


@case
def a_byte_order_mark_at_the_start_of_an_up_file_is_no_sql_and_no_change():
    # Audit aman 8: Notepad's UTF-8 BOM made an up_file DBR044 'syntax error
    # at or near "\ufeffSELECT"'. It is dropped when the file is read: the
    # SQL is checked, run and checksummed without it, so saving an applied
    # file again with a mark is no drift (as CRLF is none). Positions are
    # those an editor shows (it hides the mark).
    pkg = pkg_with_up_file("m.sql").replace("[[migrations]]", "[tables.ydtb_bad_x]\ndescription = \"x\"\n"
                                              "workspace_scoped = true\n[tables.ydtb_bad_x.columns]\n"
                                              "id = { type = \"text\", primary_key = true }\n[[migrations]]")
    body = ("CREATE TABLE IF NOT EXISTS ydtb_bad_x (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES "
            "ydtb_workspaces (id) ON DELETE CASCADE);\nCREATE INDEX IF NOT EXISTS ydtb_bad_x_workspace_id_idx ON "
            "ydtb_bad_x (workspace_id);\n")
    d = project({"tomls/bad.toml": pkg})
    sql = os.path.join(d, "tomls", "m.sql")
    with open(sql, "wb") as fp:
        fp.write(b"\xef\xbb\xbf" + body.encode())
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and "0 errors" in err and "byte" not in err, (rc, err))
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, (rc, out, err))
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    got = con.execute("SELECT checksum FROM ydtb_registry_migrations WHERE migration = '0001_x'").fetchone()[0]
    con.close()
    expect(got.endswith(hashlib.sha256(body.encode()).hexdigest()), (got, hashlib.sha256(body.encode()).hexdigest()))
    # Saved without the mark, and with it again: no drift either way.
    for text in (body.encode(), b"\xef\xbb\xbf" + body.encode()):
        with open(sql, "wb") as fp:
            fp.write(text)
        rc, out, err = run(["validate"], d)
        expect(rc == 0 and "DBR045" not in err, (rc, err))
    # A finding on the first line is at the column an editor shows.
    with open(sql, "wb") as fp:
        fp.write(b"\xef\xbb\xbfSELEC 1;\n")
    rc, out, err = run(["validate"], d)
    expect(rc == 1 and "tomls/m.sql:1:1: error[DBR044]" in err and "\ufeff" not in err, (rc, err))


@case
def a_nul_byte_or_bytes_not_utf8_in_a_body_are_dbr044_where_they_are():
    # Before: the checks and the run stopped at the NUL (a DROP TABLE after
    # it passed validate and was checksummed, never checked nor run), and an
    # up_file in Latin-1 passed, for PostgreSQL to refuse at apply time.
    d = project({"tomls/bad.toml": pkg_with_up_file("nul.sql") +
                 '[[migrations]]\nid = "0002_x"\nversion = "1.0.0"\nup_file = "latin1.sql"\n'
                 '[[migrations]]\nid = "0003_x"\nversion = "1.0.0"\n'
                 'up = "SELECT 1;\\u0000SELEC 2; DROP TABLE ydtb_basic_notes;"\n'})
    with open(os.path.join(d, "tomls", "nul.sql"), "wb") as fp:
        fp.write(b"SELECT 1;\nSELECT 2;\0SELEC 2; DROP TABLE ydtb_basic_notes;\n")
    with open(os.path.join(d, "tomls", "latin1.sql"), "wb") as fp:
        fp.write("SELECT 1;\nSELECT 'caf\u00e9';\n".encode("latin-1"))
    out, err = run_bad(d)
    for line in ("tomls/nul.sql:2:10: error[DBR044]: a NUL byte in the SQL of up_file: PostgreSQL refuses query text "
                 "with one, and what follows it would be neither checked nor run (hint: remove the byte from the file)",
                 "tomls/latin1.sql:2:12: error[DBR044]: byte 0xE9 is not UTF-8 (the SQL of up_file): PostgreSQL "
                 "refuses it (hint: save the file as UTF-8)",
                 "tomls/bad.toml:18:6: error[DBR044]: up holds a NUL byte (line 1, column 10 of its SQL): PostgreSQL "
                 "refuses query text with one, and what follows it would be neither checked nor run "
                 "(hint: remove the \\u0000 from the string)"):
        expect(line in err.splitlines(), "%s\nnot in:\n%s" % (line, err[:3000]))
    out, err = run_bad(d, ("apply",))
    expect("DBR044" in err and not os.path.exists(os.path.join(d, "ydtb.db")), err[:2000])


@case
def a_200000_term_expression_is_refused_not_a_crash():
    d = project({"tomls/bad.toml": pkg_with_up_file("deep.sql")})
    with open(os.path.join(d, "tomls", "deep.sql"), "w") as fp:
        fp.write("SELECT %s;\n" % "+".join(["1"] * 200000))
    out, err = run_bad(d)
    expect(re.search(r"^tomls/deep\.sql:1:\d+: error\[DBR044\]: statement nested too deeply to check: about \d+ "
                     r"levels where dbreg checks up to 2000", err, re.M), err[:2000])
    out, err = run_bad(d, ("apply",))
    expect("DBR044" in err and not os.path.exists(os.path.join(d, "ydtb.db")), err[:2000])


@case
def a_body_of_a_million_statements_is_refused_within_the_budget():
    d = project({"tomls/bad.toml": pkg_with_up_file("many.sql")})
    with open(os.path.join(d, "tomls", "many.sql"), "w") as fp:
        fp.write("SELECT 1;\n" * 1000000)
    out, err = run_bad(d)
    expect("tomls/many.sql:1:1: error[DBR044]: body of 1000000 statements: dbreg checks up to 200000 in one body "
           "(hint: split the body into several migrations, or load bulk data outside them)" in err.splitlines(), err)


@case
def the_offline_checks_stop_at_their_time_budget():
    d = project({"tomls/bad.toml": pkg_with_up_file("many.sql")})
    with open(os.path.join(d, "tomls", "many.sql"), "w") as fp:
        fp.write("SELECT 1;\n" * 150000)
    out, err = run_bad(d, env={"DBREG_CHECK_BUDGET_MS": "200"})
    expect("error[DBR044]: the SQL checks ran past their time budget of 0.2 s: packages left unchecked"
           in err.splitlines(), err)


@case
def devices_fifos_and_dangling_links_are_errors_naming_them():
    for dev in ("/dev/zero", "/dev/urandom"):
        d = project({"tomls/bad.toml": pkg_with_up_file(dev)})
        out, err = run_bad(d)
        expect('tomls/bad.toml:10:11: error[DBR014]: up_file "%s" cannot be read: not a regular file (a FIFO, '
               'device, socket or folder): only regular files are read (hint: the path is relative to the '
               "manifest's folder)" % dev in err.splitlines(), err)
    d = project()
    os.symlink("/dev/zero", os.path.join(d, "dbreg.toml"))
    out, err = run_bad(d)
    expect("dbreg.toml: error[DBR001]: cannot read dbreg.toml: not a regular file (a FIFO, device, socket or folder): "
           "only regular files are read" in err, err)
    # A manifest that cannot be read is a finding with its file (audit
    # aman 6): the others are still validated.
    d = project()
    os.mkfifo(os.path.join(d, "tomls", "fifo.toml"))
    out, err = run_bad(d)
    expect("tomls/fifo.toml: error[DBR001]: cannot read tomls/fifo.toml: not a regular file (a FIFO, device, socket "
           "or folder): only regular files are read (hint: make it a regular file, or give it a name that does not "
           "end in .toml)" in err.splitlines() and "2 packages, 1 error, " in err, err)
    d = project()
    os.symlink("gone.toml", os.path.join(d, "tomls", "link.toml"))
    out, err = run_bad(d, ("validate", "--json"))
    doc = json.loads(out)
    found = [(x["code"], x["file"], x["message"]) for x in doc["diagnostics"] if x["severity"] == "error"]
    expect(doc["exit_code"] == 1 and found == [("DBR001", "tomls/link.toml", "cannot read tomls/link.toml: a "
                                                "symbolic link to a file that does not exist")], doc)


@case
def an_editors_lock_file_is_skipped_and_other_manifests_are_validated_beside_an_unreadable_one():
    # Audit aman 6: Emacs makes tomls/.#a.toml, a link to nowhere, while
    # a.toml is edited; validate, plan and apply failed outright with no
    # diagnostic. It is no manifest. Any other unreadable *.toml is DBR001
    # with its file, and the other manifests are still checked.
    d = project()
    os.symlink("root@host.1234:1700000000", os.path.join(d, "tomls", ".#basic.toml"))
    for cmd in (["validate"], ["plan"], ["apply", "-q"]):
        rc, out, err = run(cmd, d)
        expect(rc == 0 and ".#basic" not in out + err, (cmd, rc, out, err))
    os.symlink("root@host.1234:1700000000", os.path.join(d, "tomls", "gone.toml"))
    with open(os.path.join(d, "tomls", "basic.toml"), "a") as fp:
        fp.write("\n[tables.nope]\n")
    rc, doc, err = run_json(["validate"], d)
    found = sorted((x["code"], x["file"]) for x in doc["diagnostics"] if x["severity"] == "error")
    expect(rc == 1 and ("DBR001", "tomls/gone.toml") in found and ("DBR020", "tomls/basic.toml") in found
           and doc["error"]["message"].endswith("of 2 packages"), (rc, doc))
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "tomls/gone.toml: error[DBR001]" in err and "nothing was changed" in err, (rc, out, err))


@case
def a_linked_package_folder_is_read_and_a_link_loop_is_not_followed():
    # manifest.md: every *.toml under the folders, recursively. A monorepo
    # links a package's folder in: it was skipped without a word.
    d = project()
    ext = tempfile.mkdtemp(prefix="dbreg-ext-")
    made.append(ext)
    shutil.move(os.path.join(d, "tomls", "basic.toml"), os.path.join(ext, "basic.toml"))
    os.symlink(ext, os.path.join(d, "tomls", "linked"))
    os.symlink(os.path.join(d, "tomls"), os.path.join(ext, "up"))   # a loop: tomls/linked/up/linked/...
    os.symlink(".", os.path.join(d, "tomls", "self"))                 # another one
    rc, out, err = run(["validate"], d, timeout=30)
    expect(rc == 0 and "2 packages, 0 errors" in err, (rc, err[-800:]))
    rc, out, err = run(["status", "--json"], d, timeout=30)
    names = sorted(p["name"] for p in json.loads(out)["packages"])
    expect(rc == 0 and names == ["@ydtb/basic", "@ydtb/core"], (rc, names, err[-500:]))
    rc, out, err = run(["apply", "-q"], d, timeout=30)
    expect(rc == 0, out + err)


@case
def a_package_folder_listed_under_two_spellings_is_read_once_by_its_first():
    # Audit aman 5: "tomls" and its absolute path, "../proj/tomls" or a
    # link to it read every file twice, each then in conflict with itself
    # (DBR012, DBR015, DBR046). A file is read once, by its first spelling.
    d = project()
    os.symlink("tomls", os.path.join(d, "lnk"))
    rc, plain, err = run_json(["validate"], d)
    expect(rc == 0, (rc, err))
    base = os.path.basename(d)
    for listed in (["tomls", "tomls/"], ["tomls", d + "/tomls"], ["tomls", "../%s/tomls" % base], ["tomls", "lnk"],
                   ["lnk", "tomls"]):
        with open(os.path.join(d, "dbreg.toml"), "w") as fp:
            fp.write("[registry]\npackages = %s\n" % json.dumps(listed))
        rc, doc, err = run_json(["validate"], d)
        first = listed[0].rstrip("/")
        want = [dict(x, file=x["file"].replace("tomls/", first + "/", 1)) for x in plain["diagnostics"]]
        expect(rc == 0 and doc["diagnostics"] == want, (listed, rc, doc["diagnostics"][:3]))
        rc, doc, err = run_json(["status", "--offline"], d)
        expect(rc == 0 and sorted(p["name"] for p in doc["packages"]) == ["@ydtb/basic", "@ydtb/core"], (listed, doc))
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, (rc, out, err))
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    n = con.execute("SELECT count(*) FROM ydtb_registry_migrations").fetchone()[0]
    con.close()
    expect(n == ALL_MIGRATIONS, (n, ALL_MIGRATIONS))


@case
def many_misspelled_references_among_many_tables_take_linear_time():
    # Audit aman 9: the did-you-mean of DBR027 compared each unknown table
    # with every table: 10,000 tables each referencing a misspelled one took
    # 29 s (the same file spelled right 2.3 s). The hints now share a budget
    # of comparisons; past it DBR027 has no hint. CPU time, not wall time:
    # the machine may be busy.
    import resource
    n = 10000
    parts = ['[package]\nname = "@t/b"\nversion = "1.0.0"\n']
    for i in range(n):
        parts.append('[tables.ydtb_b_table_number_%d]\ndescription = "x"\nworkspace_scoped = true\n'
                     '[tables.ydtb_b_table_number_%d.columns]\nid = { type = "text", primary_key = true }\n'
                     'r = { type = "text", references = "ydtb_b_tabel_number_%d.id" }\n' % (i, i, i))
    d = project({"tomls/core.toml": CORE_WITHOUT_TOOLS, "tomls/b.toml": "\n".join(parts)}, with_tomls=False)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc, doc, err = run_json(["validate"], d, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    found = [x for x in doc["diagnostics"] if x["code"] == "DBR027"]
    expect(rc == 1 and len(found) == n and cpu < 8, (rc, len(found), cpu))
    first = sorted(found, key=lambda x: x["line"])[0]
    expect(first["hint"] == 'did you mean "ydtb_b_table_number_0.id"?', first)


@case
def a_manifest_over_the_size_limit_is_refused():
    d = project()
    with open(os.path.join(d, "tomls", "huge.toml"), "w") as fp:
        fp.write("# padding\n" * (17 * 1024 * 1024 // 10))
    out, err = run_bad(d, ("validate", "--json"))
    found = [(x["code"], x["file"], x["message"]) for x in json.loads(out)["diagnostics"] if x["severity"] == "error"]
    expect(found == [("DBR001", "tomls/huge.toml", "cannot read tomls/huge.toml: larger than the 16 MiB limit for a "
                      "manifest or SQL file")], out[-2000:])


@case
def an_unreadable_package_folder_gives_json_with_diagnostics():
    d = project({"dbreg.toml": '[registry]\npackages = ["tomls", "missing"]\n'})
    out, err = run_bad(d, ("validate", "--json"))
    doc = json.loads(out)
    expect(doc["ok"] is False and doc["exit_code"] == 1 and isinstance(doc["diagnostics"], list), doc)
    expect(doc["error"]["message"] == "cannot read the package folder missing: No such file or directory", doc)
    for cmd in (["plan"], ["status", "--offline"]):
        rc, out, err = run(cmd + ["--json"], d)
        doc = json.loads(out)
        expect(rc == 1 and "diagnostics" in doc and "missing" in doc["error"]["message"], (cmd, doc))


@case
def invalid_utf8_in_an_sql_file_never_reaches_the_json_raw():
    d = project({"tomls/bad.toml": pkg_with_up_file("latin1.sql")})
    with open(os.path.join(d, "tomls", "latin1.sql"), "wb") as fp:
        fp.write(b"CREATE TABLE caf\xe9 (id int) garbage \xff\xfe;\n")
    p = subprocess.run([DBREG, "validate", "--json"], cwd=d, capture_output=True, timeout=60,
                       env=dict(os.environ, NO_COLOR="1"))
    expect(p.returncode == 1, p.stderr)
    doc = json.loads(p.stdout.decode("utf-8", errors="strict"))
    msgs = [x["message"] for x in doc["diagnostics"]]
    expect(any("\ufffd" in m for m in msgs), msgs)


@case
def an_absolute_folder_in_registry_packages_is_found():
    other = tempfile.mkdtemp(prefix="dbreg-abs-")
    made.append(other)
    shutil.copy(os.path.join(TOMLS, "basic.toml"), other)
    d = project({"dbreg.toml": '[registry]\npackages = ["tomls", "%s"]\n' % other}, with_tomls=False)
    os.makedirs(os.path.join(d, "tomls"))
    shutil.copy(os.path.join(TOMLS, "core.toml"), os.path.join(d, "tomls"))
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and re.search(r"^2 packages, 0 errors", err, re.M), err)


# ---- --json on every failure kind: one document, one shape ------------------------

ERROR_KEYS = {"message", "detail", "hint", "sqlstate", "file", "line", "column", "package", "migration", "statement"}

UNIQUE_PKG = """[package]
name = "@ydtb/codes"
version = "1.1.0"
description = "codes"

[tables.ydtb_codes_items]
description = "a code"
workspace_scoped = true

[tables.ydtb_codes_items.columns]
id = { type = "text", primary_key = true }
code = { type = "text" }

[tables.ydtb_codes_items.indexes]
ydtb_codes_items_workspace_id_idx = { columns = ["workspace_id"] }
ydtb_codes_items_code_key = { columns = ["code"], unique = true }

[[migrations]]
id = "0001_items"
version = "1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS ydtb_codes_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  code text
);
CREATE INDEX IF NOT EXISTS ydtb_codes_items_workspace_id_idx ON ydtb_codes_items (workspace_id);
\"\"\"
down = "DROP TABLE IF EXISTS ydtb_codes_items;"

[[migrations]]
id = "0002_unique_code"
version = "1.1.0"
up = "CREATE UNIQUE INDEX IF NOT EXISTS ydtb_codes_items_code_key ON ydtb_codes_items (code);"
down = "DROP INDEX IF EXISTS ydtb_codes_items_code_key;"
"""


def failure_doc(args, cwd, code, env=None):
    rc, out, err = run(args + ["--json"], cwd, env=env)
    expect(rc == code, "%s: exit %d, want %d: %s" % (args, rc, code, err[-1500:]))
    doc = json.loads(out)
    expect(doc["ok"] is False and doc["exit_code"] == code, doc)
    expect(set(doc["error"]) == ERROR_KEYS and doc["error"]["message"], doc["error"])
    expect(isinstance(doc["diagnostics"], list), doc)
    return doc, err


@case
def a_bad_connection_option_in_the_url_is_a_usage_error():
    # audit asurf 9: ?bogusparam=1 was exit 2 (libpq's parse refuses it),
    # while ?sslmode=bogus, ?connect_timeout=abc and a port that is no
    # number were exit 3, "cannot connect", as for a server that is down:
    # libpq checks those values only when it connects. All are errors in
    # the URL the user wrote, found before any connection: exit 2, the
    # option named, the password not. A server that is down stays exit 3.
    url, drop = pg_database()
    try:
        d = project()
        rc, out, err = run(["status", "--target", url + "?sslmode=disable&connect_timeout=%205%20"
                            "&keepalives=1&target_session_attrs=any"], d)
        expect(rc == 0, "good options refused: %d %s" % (rc, out + err))
        scheme, rest = url.split("://", 1)
        auth, hostpart = rest.split("@", 1)
        host, port_db = hostpart.split(":", 1)
        port, db = port_db.split("/", 1)
        user, password = auth.split(":", 1)
        bad = [(url + "?sslmode=bogus", "sslmode"), (url + "?connect_timeout=abc", "connect_timeout"),
               (url + "?gssencmode=maybe", "gssencmode"), (url + "?keepalives_idle=1x", "keepalives_idle"),
               (url + "?target_session_attrs=whatever", "target_session_attrs"), (url + "?bogusparam=1", "bogusparam"),
               ("%s://%s@%s:notaport/%s" % (scheme, auth, host, db), "notaport"),
               ("%s://%s@%s:99999/%s" % (scheme, auth, host, db), "99999"),
               ("host=%s port=%s dbname=%s user=%s password=%s sslmode=verify" % (host, port, db, user, password),
                "sslmode")]
        for target, said in bad:
            for cmd in (["status"], ["apply"], ["plan", "--refresh"]):
                rc, out, err = run(cmd + ["--target", target, "--json"], d)
                doc = json.loads(out)
                msg = doc["error"]["message"]
                expect(rc == 2 and doc["exit_code"] == 2 and said in msg and "cannot connect to PostgreSQL" not in msg,
                       "%s %s: exit %d: %s" % (cmd, target.replace(password, "***"), rc, msg))
                expect(password not in out + err, "the password was printed")
        rc, out, err = run(["status", "--target", "%s://%s@%s:1/%s?sslmode=disable" % (scheme, auth, host, db)], d)
        expect(rc == 3 and "cannot connect to PostgreSQL" in err, "%d %s" % (rc, err))
    finally:
        drop()


@case
def json_failure_usage_manifest_and_connection_share_one_shape():
    d = project({"tomls/bad.toml": BASIC_BAD})
    doc, _ = failure_doc(["apply", "--sql"], d, 2)
    expect(doc["error"]["message"] == "apply does not take --sql (plan takes it)", doc)
    expect(doc["error"]["hint"] == "see 'dbreg apply --help'", doc)
    doc, _ = failure_doc(["plan"], d, 1)
    x = [x for x in doc["diagnostics"] if x["code"] == "DBR020"]
    expect(x and (x[0]["file"], x[0]["line"]) == ("tomls/bad.toml", 5), doc["diagnostics"])
    expect(doc["error"]["message"].startswith("the manifests have ") and "errors; nothing was changed" in
           doc["error"]["message"], doc["error"])
    d = project({"dbreg.toml": '[targets.dev]\nurl = "postgres://u:secret@127.0.0.1:1/db"\n'})
    doc, err = failure_doc(["apply"], d, 3)
    expect(doc["error"]["message"].startswith("cannot connect to postgres://u:***@127.0.0.1:1/db"), doc["error"])
    expect("secret" not in json.dumps(doc) + err, "the password was printed")


@case
def json_failure_of_a_migration_names_package_migration_and_statement():
    d = project({"tomls/codes.toml": UNIQUE_PKG})
    rc, out, err = run(["apply", "-q", "--to", "@ydtb/codes@1.0.0"], d)
    expect(rc == 0, err)
    db = os.path.join(d, "ydtb.db")
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w')")
    con.execute("INSERT INTO ydtb_codes_items (id, workspace_id, code) VALUES ('a', 'w1', 'same'), ('b', 'w1', 'same')")
    con.commit()
    con.close()
    doc, err = failure_doc(["apply"], d, 4)
    e = doc["error"]
    expect((e["package"], e["migration"]) == ("@ydtb/codes", "0002_unique_code"), e)
    expect("UNIQUE" in (e["statement"] or "") and e["file"] == "tomls/codes.toml" and e["line"], e)
    expect("UNIQUE constraint failed" in e["message"], e)
    con = sqlite3.connect(db)
    expect(con.execute("SELECT count(*) FROM ydtb_codes_items").fetchone()[0] == 2, "rows changed")
    con.close()


@case
def json_failure_of_a_refused_statement_outside_a_migration_has_the_sqlstate():
    # cli.md: exit 3 when the target refuses a statement outside a migration;
    # the error says what the database said, SQLSTATE included.
    url, drop = pg_database()
    role = "dbreg_weak_%d" % os.getpid()
    try:
        subprocess.run(["psql", "-X", "-q", PG_URL], input="CREATE ROLE %s LOGIN PASSWORD 'weak-secret';\n"
                       "GRANT CONNECT ON DATABASE %s TO %s;\n" % (role, url.rsplit("/", 1)[1], role),
                       text=True, check=True, capture_output=True, timeout=60)
        scheme, rest = url.split("://", 1)
        weak = "%s://%s:weak-secret@%s" % (scheme, role, rest.split("@", 1)[1])
        d = project()
        # PostgreSQL 15 and later: no CREATE on schema public for PUBLIC.
        doc, err = failure_doc(["apply", "--target", weak], d, 3)
        e = doc["error"]
        expect(e["message"].startswith("cannot create the history tables") and e["sqlstate"] == "42501", e)
        expect("weak-secret" not in json.dumps(doc) + err, "the password was printed")
    finally:
        drop()
        subprocess.run(["psql", "-X", "-q", PG_URL], input="DROP ROLE IF EXISTS %s;" % role, text=True,
                       capture_output=True, timeout=60)


PG_SLEEP_PKG = """[package]
name = "@t/slow"
version = "1.0.0"
description = "a slow migration"

[dependencies]
"@ydtb/core" = "^1.0.0"

[[migrations]]
id = "0001_slow"
version = "1.0.0"
up_postgres = "SELECT pg_sleep(3);"
up_sqlite = "SELECT 1;"
down = "SELECT 1;"
"""


@case
def a_targets_statement_timeout_in_dbreg_toml_holds_for_its_migrations():
    # cli.md: statement_timeout of [targets.NAME] is SET for every migration.
    url, drop = pg_database()
    try:
        d = project({"tomls/slow.toml": PG_SLEEP_PKG,
                     "dbreg.toml": '[targets.pg]\nurl = "${SLOW_URL}"\nlock_timeout = "5s"\n'
                                   'statement_timeout = "300ms"\n'})
        t = time.time()
        doc, err = failure_doc(["apply", "--target", "pg"], d, 4, env={"SLOW_URL": url})
        e = doc["error"]
        expect(time.time() - t < 3 and e["sqlstate"] == "57014" and e["migration"] == "0001_slow", e)
        rc, out, err = run(["history", "--json", "--target", "pg"], d, env={"SLOW_URL": url})
        expect(rc == 0 and json.loads(out)["migrations"] == [], "not rolled back: " + out)
        # plan --sql is the same script for a DBA: it sets them first too.
        rc, script, err = run(["plan", "--sql", "--target", "pg"], d, env={"SLOW_URL": url})
        expect(rc == 0 and "\nSET lock_timeout = '5000ms';\nSET statement_timeout = '300ms';\n" in script, script[:400])
        t = time.time()
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url], input=script, text=True,
                           capture_output=True, timeout=60)
        expect(p.returncode != 0 and "statement timeout" in p.stderr and time.time() - t < 3, p.stderr)
        rc, out, err = run(["history", "--json", "--target", "pg"], d, env={"SLOW_URL": url})
        expect(rc == 0 and json.loads(out)["migrations"] == [], "the script was not rolled back: " + out)
    finally:
        drop()


@case
def json_an_interrupted_migration_says_what_the_server_does_and_that_holds():
    # review-7 #4: interrupted mid-statement, the process cancels the running
    # statement and closes its connection; PostgreSQL rolls back and frees
    # the registry lock. The document says so, and it is true (test_cancel.py
    # times it).
    import signal
    url, drop = pg_database()
    try:
        d = project({"tomls/slow.toml": PG_SLEEP_PKG})
        db = url.rsplit("/", 1)[1].split("?")[0]
        p = subprocess.Popen([DBREG, "apply", "--json", "--target", url], cwd=d, env=clitest.dbreg_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        active = ("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND query LIKE '%%pg_sleep(3)%%'"
                  " AND pid <> pg_backend_pid()" % db)
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None and subprocess.run(
                ["psql", "-X", "-qtA", PG_URL, "-c", active + " AND state = 'active'"],
                capture_output=True, text=True, timeout=60).stdout.strip() == "0":
            time.sleep(0.05)
        t = time.time()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        doc = json.loads(out)
        msg = doc["error"]["message"]
        expect(p.returncode == 143 and doc["exit_code"] == 143, out)
        expect("is rolled back" not in msg and "the running statements are cancelled" in msg, msg)
        # Well before the statement's end (3 s): the rollback and the lock's release.
        rc, out, err = run(["apply", "--json", "--lock-timeout", "10", "--target", url], d)
        expect(rc == 0 and time.time() - t < 8, "%d after %.1f s: %s" % (rc, time.time() - t, err))
        expect(subprocess.run(["psql", "-X", "-qtA", url, "-c", active], capture_output=True, text=True,
                              timeout=60).stdout.strip() == "0", "the interrupted statement still runs")
    finally:
        drop()


@case
def verify_reports_an_invalid_index_on_postgresql():
    # cli.md: verify reports INVALID indexes (what a failed CREATE INDEX
    # CONCURRENTLY leaves), exit 6, in "problems".
    url, drop = pg_database()
    try:
        d = project()
        rc, out, err = run(["apply", "-q", "--target", url], d)
        expect(rc == 0, err)
        rc, out, err = run(["verify", "--target", url], d)
        expect(rc == 0, out + err)
        subprocess.run(["psql", "-X", "-q", url, "-c", "UPDATE pg_index SET indisvalid = false"
                        " WHERE indexrelid = 'ydtb_basic_notes_pinned_idx'::regclass"],
                       check=True, capture_output=True, timeout=60)
        doc, err = failure_doc(["verify", "--target", url], d, 6)
        expect([(p["table"], "ydtb_basic_notes_pinned_idx" in p["message"] and "INVALID" in p["message"])
                for p in doc["problems"]] == [("ydtb_basic_notes", True)], doc["problems"])
    finally:
        drop()


@case
def json_an_interrupted_run_still_prints_its_one_document():
    # cli.md: exactly one JSON document whatever happens: init --wait
    # stopped by SIGINT or SIGTERM while it retries a refused connection.
    import signal
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    d = project()
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        p = subprocess.Popen([DBREG, "init", "--json", "--wait", "30", "--target",
                              "postgres://u:pw@127.0.0.1:%d/x" % port], cwd=d, env=clitest.dbreg_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        doc = json.loads(out)
        expect(p.returncode == code and doc["ok"] is False and doc["exit_code"] == code, "%s: %d %r" % (sig, p.returncode, out))
        expect(set(doc["error"]) == ERROR_KEYS and "interrupted" in doc["error"]["message"] and doc["diagnostics"] == [],
               doc)


def filled_pipe(nonblocking=False):
    """A pipe whose buffer is already full: (read end, write end)."""
    import fcntl
    r, w = os.pipe()
    fl = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    if not nonblocking:
        fcntl.fcntl(w, fcntl.F_SETFL, fl)
    return r, w


def drain(r):
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    return out.lstrip(b"x").decode()


def refused_url():
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "postgres://u:pw@127.0.0.1:%d/x" % port


@case
def json_an_interrupt_on_a_full_or_nonblocking_stdout_still_prints_one_document():
    # review-7 #2: a SIGTERM while the SIGINT document waits on a full pipe
    # wrote a second document; a non-blocking stdout (EAGAIN) wrote none.
    import signal
    d = project()
    for nonblocking, sigs in ((False, (signal.SIGINT, signal.SIGTERM)), (True, (signal.SIGINT,))):
        r, w = filled_pipe(nonblocking)
        p = subprocess.Popen([DBREG, "init", "--json", "--wait", "30", "--target", refused_url()], cwd=d,
                             env=clitest.dbreg_env(), stdout=w, stderr=subprocess.DEVNULL)
        os.close(w)
        time.sleep(1.0)
        for sig in sigs:
            p.send_signal(sig)
            time.sleep(0.3)
        out = drain(r)
        rc = p.wait(timeout=30)
        try:
            doc = json.loads(out)   # one document: a second is "Extra data"
        except ValueError as e:
            doc = {"unparsed": "%s: %r" % (e, out[:300])}
        expect(rc == 130 and doc.get("exit_code") == 130 and "interrupted by SIGINT" in doc["error"]["message"],
               "nonblocking=%s: exit %d, %r" % (nonblocking, rc, doc))


@case
def json_a_signal_while_the_document_is_written_does_not_change_the_exit_status():
    # review-7 #6: the run had ended and its document says exit 0; a SIGTERM
    # pending while it was written must not turn the exit into 143.
    import signal
    d = project()
    r, w = filled_pipe()
    p = subprocess.Popen([DBREG, "validate", "--json"], cwd=d, env=clitest.dbreg_env(), stdout=w,
                         stderr=subprocess.DEVNULL)
    os.close(w)
    # SIGINT and SIGTERM both blocked (SigBlk): it is writing the document.
    deadline = time.time() + 60
    while time.time() < deadline:
        with open("/proc/%d/status" % p.pid) as f:
            blk = int([x for x in f if x.startswith("SigBlk:")][0].split()[1], 16)
        if blk & (1 << (signal.SIGINT - 1)) and blk & (1 << (signal.SIGTERM - 1)):
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    out = drain(r)
    rc = p.wait(timeout=30)
    doc = json.loads(out)
    expect(doc["exit_code"] == 0 and rc == 0, "document says %d, exit %d" % (doc["exit_code"], rc))


@case
def json_failure_of_a_lock_timeout_on_postgres():
    url, drop = pg_database()
    holder = None
    try:
        d = project({"dbreg.toml": '[targets.dev]\nurl = "%s"\n' % url})
        holder = subprocess.Popen(["psql", "-X", "-q", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        holder.stdin.write("SELECT pg_advisory_lock(4783381683765084015);\n\\echo locked\n")
        holder.stdin.flush()
        expect(holder.stdout.readline().strip() in ("pg_advisory_lock", ""), "psql")
        deadline = time.time() + 20
        while time.time() < deadline and "locked" not in holder.stdout.readline():
            pass
        doc, err = failure_doc(["apply", "--lock-timeout", "1"], d, 5)
        expect("lock" in doc["error"]["message"], doc["error"])
    finally:
        if holder:
            holder.kill()
            holder.wait()
        drop()
@case
def a_no_op_apply_waits_for_the_lock_alike_with_and_without_json():
    # audit aeng 9: with nothing pending and another session holding the
    # registry lock, the human apply answered from the state file's caches
    # at once (exit 0), --json went the long way, waited and exited 5.
    url, drop = pg_database()
    holder = None
    try:
        d = project({"dbreg.toml": '[targets.dev]\nurl = "%s"\n' % url})
        time.sleep(0.2)   # files changed in the last 100 ms are not trusted (cache.c)
        rc, out, err = run(["apply", "--json"], d)
        first = json.loads(out)
        expect(rc == 0 and first["applied"] > 0, err)
        subprocess.run(["psql", "-X", "-q", url, "-c", "INSERT INTO ydtb_workspaces (id, name, slug)"
                        " VALUES ('w1', 'one', 'one')"], check=True, capture_output=True)
        rc, out, err = run(["apply"], d)   # the memo of a no-op
        expect(rc == 0 and "applied 0 migrations" in out, out + err)
        holder = subprocess.Popen(["psql", "-X", "-q", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        holder.stdin.write("SELECT pg_advisory_lock(4783381683765084015);\n\\echo locked\n")
        holder.stdin.flush()
        deadline = time.time() + 20
        while time.time() < deadline and "locked" not in holder.stdout.readline():
            pass
        for args in (["apply"], ["apply", "--json"], ["apply"], ["apply", "--json"]):
            t = time.time()
            rc, out, err = run(args + ["--lock-timeout", "2"], d)
            took = time.time() - t
            expect(rc == 0 and took < 1.5, "%s: exit %d after %.1f s: %s" % (args, rc, took, out + err))
            if "--json" in args:
                doc = json.loads(out)
                expect(doc["ok"] and doc["applied"] == 0 and doc["pending"] == 0 and doc["steps"] == []
                       and doc["target"] == first["target"] and doc["dialect"] == "postgres"
                       and set(doc) == set(first), doc)
        # With a migration pending, both wait and time out.
        with open(os.path.join(d, "tomls", "more.toml"), "w") as f:
            f.write('[package]\nname = "@t/more"\nversion = "1.0.0"\n\n[[migrations]]\nid = "0001_t"\n'
                    'version = "1.0.0"\nup = "UPDATE ydtb_workspaces SET name = name WHERE id = \'none\';"\n'
                    'down = "UPDATE ydtb_workspaces SET name = name WHERE id = \'none\';"\n')
        for args in (["apply"], ["apply", "--json"]):
            rc, out, err = run(args + ["--lock-timeout", "1"], d)
            expect(rc == 5, "%s: exit %d: %s" % (args, rc, out + err))
    finally:
        if holder:
            holder.kill()
            holder.wait()
        drop()


RESUME_PKG = """[package]
name = "@t/resume"
version = "1.0.0"

[[migrations]]
id = "0001_backfill"
version = "1.0.0"
transaction = false
up = \"\"\"
UPDATE ydtb_workspaces SET name = name WHERE id = 'none';
INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('r1', 'one', 'taken') ON CONFLICT (id) DO NOTHING;
UPDATE ydtb_workspaces SET name = 'ONE' WHERE id = 'r1';
\"\"\"
""".replace('\\"', '"')


@case
def a_non_transactional_failure_reports_and_resumes_at_its_statement():
    # Its second statement meets a row validate cannot know of (a taken slug).
    import sqlite3
    d = project()
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, out + err)
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    con.execute("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w0', 'zero', 'taken')")
    con.commit()
    with open(os.path.join(d, "tomls", "resume.toml"), "w") as fp:
        fp.write(RESUME_PKG)
    rc, out, err = run(["apply", "--json"], d)
    doc = json.loads(out)
    expect(rc == 4 and doc["statements_done"] == 1 and doc["statements_total"] == 3, out + err)
    expect("statement 1 of 3 completed and is recorded; the next run resumes at statement 2" in err, err)
    expect(re.search(r"tomls/resume\.toml:11:1: error: migration up 0001_backfill of @t/resume failed", err), err)
    con.execute("DELETE FROM ydtb_workspaces WHERE id = 'w0'")
    con.commit()
    con.close()
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "resumed @t/resume 0001_backfill at statement 2" in out, out + err)
    rc, out, err = run(["verify"], d)
    expect(rc == 0, out + err)


# A transaction = false migration whose third statement fails on a row
# ('bad'): statements 1 (an index verify checks) and 2 (a counter in
# ydtb_part_marks: how many times it ran) stay, recorded as its progress.
PART_PKG = """[package]
name = "@t/part"
version = "1.1.0"

[tables.ydtb_part_items]
description = "items"
workspace_scoped = true

[tables.ydtb_part_items.columns]
id = { type = "text", primary_key = true }
n  = { type = "integer", not_null = true }

[tables.ydtb_part_items.indexes]
ydtb_part_items_n_idx = { columns = ["n"] }

[tables.ydtb_part_marks]
description = "how many times each statement ran"
workspace_scoped = true

[tables.ydtb_part_marks.columns]
id = { type = "text", primary_key = true }
n  = { type = "integer", not_null = true }

[[migrations]]
id = "0001_create"
version = "1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS ydtb_part_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  n integer NOT NULL
);
CREATE INDEX IF NOT EXISTS ydtb_part_items_workspace_id_idx ON ydtb_part_items (workspace_id);
CREATE TABLE IF NOT EXISTS ydtb_part_marks (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  n integer NOT NULL
);
CREATE INDEX IF NOT EXISTS ydtb_part_marks_workspace_id_idx ON ydtb_part_marks (workspace_id);
\"\"\"
down = "DROP TABLE IF EXISTS ydtb_part_marks; DROP TABLE IF EXISTS ydtb_part_items;"

[[migrations]]
id = "0002_marks"
version = "1.1.0"
transaction = false
up = \"\"\"
CREATE INDEX IF NOT EXISTS ydtb_part_items_n_idx ON ydtb_part_items (n);
INSERT INTO ydtb_part_marks (id, workspace_id, n) SELECT 's1', id, 1 FROM ydtb_workspaces WHERE id = 'w1'
  ON CONFLICT (id) DO UPDATE SET n = ydtb_part_marks.n + 1;
UPDATE ydtb_part_items SET n = NULL WHERE id = 'bad';
INSERT INTO ydtb_part_marks (id, workspace_id, n) SELECT 's3', id, 1 FROM ydtb_workspaces WHERE id = 'w1'
  ON CONFLICT (id) DO UPDATE SET n = ydtb_part_marks.n + 1;
\"\"\"
down = "DROP INDEX IF EXISTS ydtb_part_items_n_idx; DELETE FROM ydtb_part_marks WHERE id IN ('s1', 's3');"
"""


def part_sql(url, d, q):
    """Rows of q on the case's target: PostgreSQL when url, else ydtb.db."""
    if url:
        p = subprocess.run(["psql", url, "-XtAqc", q], capture_output=True, text=True)
        expect(p.returncode == 0, "psql: %s: %s" % (q, p.stderr))
        return [tuple(line.split("|")) for line in p.stdout.splitlines() if line]
    import sqlite3
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    try:
        rows = [tuple("" if v is None else str(v) for v in r) for r in con.execute(q)]
        con.commit()
    finally:
        con.close()
    return rows


def part_project(url, dev=False):
    """@t/part stopped after statement 2 of 0002_marks on SQLite or PostgreSQL."""
    toml = '[targets.dev]\nurl = "%s"\n%s' % (url, "dev = true\n" if dev else "") if url else None
    d = project(dict({"tomls/part.toml": PART_PKG}, **({"dbreg.toml": toml} if toml else {})))
    rc, out, err = run(["apply", "-q", "--to", "@t/part@1.0.0"], d)
    expect(rc == 0, out + err)
    part_sql(url, d, "INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w1')")
    part_sql(url, d, "INSERT INTO ydtb_part_items (id, workspace_id, n) VALUES ('bad', 'w1', 0)")
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 4 and "statements 1-2 of 4 completed" in err, out + err)
    return d


def part_progress(url, d):
    return part_sql(url, d, "SELECT migration, statements_done FROM ydtb_registry_migrations"
                            " WHERE package = '@t/part' ORDER BY migration")


def part_down_undoes_what_ran(url):
    d = part_project(url)
    rc, out, err = run(["status", "-q"], d)
    expect("0002_marks: partially applied (2 of 4 statements); apply resumes at statement 3" in out, out + err)
    rc, out, err = run(["down", "@t/part", "--to", "1.0.0", "--dry-run"], d)
    expect(rc == 0 and "down @t/part 0002_marks (1.1.0) [outside a transaction] [partially applied (2 of 4"
           " statements): its down undoes them]" in out, out + err)
    rc, doc, err = run_json(["down", "@t/part", "--to", "1.0.0", "--dry-run"], d)
    expect([s["partially_applied"] for s in doc["steps"]] == [{"statements_done": 2, "statements_total": 4}], doc)
    rc, out, err = run(["down", "@t/part", "--to", "1.0.0"], d)
    expect(rc == 0 and "reverted 1 migration" in out, out + err)
    # What ran of it is undone, and its progress forgotten.
    expect(part_sql(url, d, "SELECT id, n FROM ydtb_part_marks") == [], part_sql(url, d, "SELECT * FROM ydtb_part_marks"))
    expect(part_progress(url, d) == [("0001_create", "")], part_progress(url, d))
    part_sql(url, d, "DELETE FROM ydtb_part_items WHERE id = 'bad'")
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0 and "resumed" not in out, out + err)
    expect(part_sql(url, d, "SELECT id, n FROM ydtb_part_marks ORDER BY id") == [("s1", "1"), ("s3", "1")],
           part_sql(url, d, "SELECT * FROM ydtb_part_marks"))
    rc, out, err = run(["verify", "-q"], d)
    expect(rc == 0, out + err)


@case
def down_past_a_partial_migration_runs_its_down_on_sqlite():
    part_down_undoes_what_ran(None)


@case
def down_past_a_partial_migration_runs_its_down_on_postgres():
    url, drop = pg_database()
    try:
        part_down_undoes_what_ran(url)
    finally:
        drop()


def part_reset_runs_it_whole(url):
    # reset takes every table down: the migration's first statement (the
    # index) must run again on the new tables, not be skipped as done.
    d = part_project(url, dev=True)
    rc, out, err = run(["reset", "-q"], d)
    expect(rc == 0, out + err)
    expect(all(r[1] == "" for r in part_progress(url, d)) and len(part_progress(url, d)) == 2, part_progress(url, d))
    rc, out, err = run(["verify", "-q"], d)
    expect(rc == 0, out + err)


@case
def reset_runs_a_partial_migration_in_full_on_sqlite():
    part_reset_runs_it_whole(None)


@case
def reset_runs_a_partial_migration_in_full_on_postgres():
    url, drop = pg_database()
    try:
        part_reset_runs_it_whole(url)
    finally:
        drop()


def part_script_resumes(url):
    d = part_project(url)
    part_sql(url, d, "DELETE FROM ydtb_part_items WHERE id = 'bad'")
    rc, script, err = run(["plan", "--sql", "--refresh", "-q"], d)
    expect(rc == 0, err)
    if url:
        p = subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=script, capture_output=True, text=True)
    else:
        p = subprocess.run(["sqlite3", "-bail", os.path.join(d, "ydtb.db")], input=script, capture_output=True, text=True)
    # Each statement ran once (the counter of statement 2 says 2 when the
    # script runs it again), and the history row is whole.
    expect(part_sql(url, d, "SELECT id, n FROM ydtb_part_marks ORDER BY id") == [("s1", "1"), ("s3", "1")],
           part_sql(url, d, "SELECT * FROM ydtb_part_marks"))
    expect(p.returncode == 0, p.stdout + p.stderr)
    expect("-- an earlier run stopped after statement 2 of 4: this resumes at statement 3" in script, script)
    expect("BEGIN;\nCOMMIT;" not in script, script)
    expect(part_progress(url, d) == [("0001_create", ""), ("0002_marks", "")], part_progress(url, d))
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 0 migrations" in out, out + err)
    expect(part_sql(url, d, "SELECT id, n FROM ydtb_part_marks ORDER BY id") == [("s1", "1"), ("s3", "1")],
           part_sql(url, d, "SELECT * FROM ydtb_part_marks"))
    rc, out, err = run(["verify", "-q"], d)
    expect(rc == 0, out + err)


@case
def plan_sql_resumes_a_partial_migration_on_sqlite():
    part_script_resumes(None)


@case
def plan_sql_resumes_a_partial_migration_on_postgres():
    url, drop = pg_database()
    try:
        part_script_resumes(url)
    finally:
        drop()


# manifest.md's ## Example, verbatim, and a core with only what manifest.md
# requires of one (ydtb_workspaces with id): no ydtb_tools.
MANIFEST_EXAMPLE = '''[package]
name = "@ydtb/basic"
version = "1.1.0"
description = "Notes for every workspace"

[dependencies]
"@ydtb/core" = "^1.0.0"

[tables.ydtb_basic_notes]
description = "A note written inside a workspace"
workspace_scoped = true

[tables.ydtb_basic_notes.columns]
id         = { type = "text", primary_key = true }
title      = { type = "text", not_null = true }
body       = { type = "text" }
pinned     = { type = "boolean", not_null = true, default = false }
created_at = { type = "timestamptz", not_null = true, default_sql = "CURRENT_TIMESTAMP" }

[tables.ydtb_basic_notes.indexes]
ydtb_basic_notes_created_idx = { columns = ["workspace_id", "created_at"] }

[[tools]]
id = "basic-notes"
name = "Notes"
icon = "note"

[[migrations]]
id = "0001_create_notes"
version = "1.0.0"
up = """
CREATE TABLE IF NOT EXISTS ydtb_basic_notes (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  title text NOT NULL,
  body text,
  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS ydtb_basic_notes_workspace_id_idx ON ydtb_basic_notes (workspace_id);
CREATE INDEX IF NOT EXISTS ydtb_basic_notes_created_idx ON ydtb_basic_notes (workspace_id, created_at);
"""
down = "DROP TABLE IF EXISTS ydtb_basic_notes;"

[[migrations]]
id = "0002_add_pinned"
version = "1.1.0"
up_postgres = "ALTER TABLE ydtb_basic_notes ADD COLUMN IF NOT EXISTS pinned boolean NOT NULL DEFAULT false;"
up_sqlite = "ALTER TABLE ydtb_basic_notes ADD COLUMN pinned integer NOT NULL DEFAULT 0;"
down_postgres = "ALTER TABLE ydtb_basic_notes DROP COLUMN IF EXISTS pinned;"
down_sqlite = "ALTER TABLE ydtb_basic_notes DROP COLUMN pinned;"
'''
CORE_WITHOUT_TOOLS = """[package]
name = "@ydtb/core"
version = "1.0.0"
kind = "core"

[tables.ydtb_workspaces]
description = "Workspaces"

[tables.ydtb_workspaces.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "0001_init"
version = "1.0.0"
up = "CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY);"
down = "DROP TABLE IF EXISTS ydtb_workspaces;"
"""


@case
def the_contracts_example_with_a_core_without_ydtb_tools_validates_clean_and_apply_notes_the_tools():
    # review-11 #1: DBR107 fired on manifest.md's own example. validate and
    # plan give no finding; apply and init (one target or a fleet) say once,
    # on standard error and outside the JSON, that the tools were not written.
    d = project({"tomls/core.toml": CORE_WITHOUT_TOOLS, "tomls/basic.toml": MANIFEST_EXAMPLE,
                 "dbreg.toml": '[targets.dev]\nurl = "sqlite:dev.db"\n'
                               '[fleets.f]\ntargets = ["sqlite:t1.db", "sqlite:t2.db"]\n'}, with_tomls=False)
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and (out + err).strip() == "2 packages, 0 errors, 0 warnings", "%d %s %s" % (rc, out, err))
    for cmd in (["validate", "--json"], ["plan", "--json"]):
        rc, out, err = run(cmd, d)
        expect(rc == 0 and json.loads(out)["diagnostics"] == [], "%s: %d %s %s" % (cmd, rc, out, err))
    note = ("dbreg: note: the [[tools]] of @ydtb/basic were not written: the core package declares no ydtb_tools "
            "table to hold them")
    # Each on a target it changes: a no-op apply may answer from the state
    # file's memo (198e72a: --json too), which writes no tools.
    for cmd in (["apply"], ["apply", "--json", "--target", "sqlite:j.db"], ["init", "--target", "sqlite:i.db"],
                ["apply", "--fleet", "f"], ["init", "--fleet", "f", "--json"]):
        rc, out, err = run(cmd, d)
        expect(rc == 0 and err.splitlines().count(note) == 1 and "DBR107" not in out + err,
               "%s: %d %s %s" % (cmd, rc, out, err))
        if "--json" in cmd:
            expect("tools" not in json.dumps(json.loads(out).get("diagnostics")), out)
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0 and err == "", "-q: %d %s" % (rc, err))


AMAN_CORE = """[package]
name = "@t/core"
version = "1.0.0"
kind = "core"

[tables.ydtb_workspaces]
description = "ws"
[tables.ydtb_workspaces.columns]
id = { type = "text", primary_key = true }

[tables.ydtb_tools]
description = "tools"
primary_key = ["id", "package_name"]
[tables.ydtb_tools.columns]
id = { type = "text", not_null = true }
name = { type = "text", not_null = true }
package_name = { type = "text", not_null = true }

[[migrations]]
id = "0001"
version = "1.0.0"
up = '''
CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ydtb_tools (id text NOT NULL, name text NOT NULL, package_name text NOT NULL,
  PRIMARY KEY (id, package_name));
'''
down = "DROP TABLE IF EXISTS ydtb_tools; DROP TABLE IF EXISTS ydtb_workspaces;"
"""

AMAN_A = """[package]
name = "@t/a"
version = "1.0.0"

[tables.ydtb_a]
description = "a"
workspace_scoped = true
[tables.ydtb_a.columns]
id = { type = "text", primary_key = true }

[[tools]]
id = "t1"
name = "T"

[[migrations]]
id = "0001"
version = "1.0.0"
up = '''
CREATE TABLE IF NOT EXISTS ydtb_a (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ydtb_a_workspace_id_idx ON ydtb_a (workspace_id);
'''
down = "DROP TABLE IF EXISTS ydtb_a;"
"""


AMAN_CORE_OK = AMAN_CORE.replace('primary_key = ["id", "package_name"]', 'primary_key = ["id"]').replace(
    "PRIMARY KEY (id, package_name)", "PRIMARY KEY (id)")


@case
def dbregs_own_tables_are_no_package_table():
    # Audit aman 7: a package could declare ydtb_registry_packages (and
    # create it); the only finding was a DBR047 that said "run generate"
    # about a table its migration does create, and with --allow DBR047 the
    # run failed on the target. DBR024 at the declaration (dbreg owns the
    # table, as a second package would), DBR046 at each statement that
    # makes or changes it, and no DBR047.
    for table in ("ydtb_registry_packages", "ydtb_registry_migrations"):
        a = AMAN_A.replace("ydtb_a", table).replace("[[tools]]\nid = \"t1\"\nname = \"T\"\n\n", "")
        d = project({"tomls/core.toml": AMAN_CORE_OK,
                     "tomls/a.toml": a}, with_tomls=False)
        rc, doc, err = run_json(["validate"], d)
        found = [(x["code"], x["line"], x["table"]) for x in doc["diagnostics"]]
        lines = a.split("\n")
        decl = lines.index("[tables.%s]" % table) + 1
        create = [i + 1 for i, l in enumerate(lines) if l.startswith("CREATE ")]
        expect(rc == 1 and found[0] == ("DBR024", decl, table) and
               [f for f in found if f[0] == "DBR046"][:2] == [("DBR046", create[0], table), ("DBR046", create[1], table)]
               and "DBR047" not in [f[0] for f in found], (table, rc, found))
        own = doc["diagnostics"][0]
        expect("is dbreg's own" in own["message"] and "another name" in own["hint"] and "generate" not in own["hint"],
               own)
        # Not declared, only created by a migration: DBR046.
        rc, doc, err = run_json(["validate"], project({"tomls/core.toml": AMAN_CORE_OK,
                                                       "tomls/a.toml": AMAN_A.replace("[[tools]]\nid = \"t1\"\nname = \"T\"\n\n", "")
                                                       + '\n[[migrations]]\nid = "0002"\nversion = "1.0.0"\n'
                                                       'up = "CREATE TABLE IF NOT EXISTS %s (x text PRIMARY KEY);"\n' % table},
                                                      with_tomls=False))
        found = [(x["code"], x["migration"]) for x in doc["diagnostics"] if "dbreg's own" in x["message"]]
        expect(rc == 1 and found == [("DBR046", "0002")], (table, doc["diagnostics"]))


@case
def a_dependency_whose_manifest_does_not_load_is_named_and_no_package_is_its_own_dependency():
    # Audit aman 10: with tomls/a.toml broken, @t/b's DBR030 for "@t/a" said
    # 'did you mean "@t/b"?', its own name. The hint now names the manifest
    # that did not load; without one, the nearest other package.
    b = ('[package]\nname = "@t/b"\nversion = "1.0.0"\n[dependencies]\n"@t/a" = "^1.0.0"\n')
    d = project({"tomls/core.toml": AMAN_CORE_OK, "tomls/a.toml": "x = = 1\n", "tomls/b.toml": b}, with_tomls=False)
    rc, doc, err = run_json(["validate"], d)
    dbr030 = [x for x in doc["diagnostics"] if x["code"] == "DBR030"]
    expect(rc == 1 and len(dbr030) == 1 and dbr030[0]["hint"] == 'tomls/a.toml does not load (DBR001) and may be the '
           'manifest of "@t/a": fix it first', dbr030)
    os.remove(os.path.join(d, "tomls", "a.toml"))
    rc, doc, err = run_json(["validate"], d)
    dbr030 = [x for x in doc["diagnostics"] if x["code"] == "DBR030"]
    expect(rc == 1 and len(dbr030) == 1 and dbr030[0]["hint"] == 'add the manifest of "@t/a" to the package folders',
           dbr030)


@case
def findings_about_the_package_section_name_the_package():
    # Audit aman 10: DBR013/DBR014 inside [package] had "package": null
    # (the name was read after the keys were checked); DBR011 had it.
    a = AMAN_A.replace('version = "1.0.0"\n\n[tables', 'version = "1.0.0"\nnme = "x"\ndescription = 1\n\n[tables', 1)
    d = project({"tomls/core.toml": AMAN_CORE_OK, "tomls/a.toml": a}, with_tomls=False)
    rc, doc, err = run_json(["validate"], d)
    found = sorted((x["code"], x["package"]) for x in doc["diagnostics"] if x["code"] in ("DBR013", "DBR014"))
    expect(rc == 1 and found == [("DBR013", "@t/a"), ("DBR014", "@t/a")], doc["diagnostics"])


@case
def a_tool_id_twice_in_one_package_says_so():
    # Audit aman 10: the hint was "tool ids are unique across packages"
    # for a duplicate inside one package.
    a = AMAN_A.replace('[[tools]]\nid = "t1"\nname = "T"\n', '[[tools]]\nid = "t1"\nname = "T"\n\n[[tools]]\nid = "t1"\nname = "U"\n')
    d = project({"tomls/core.toml": AMAN_CORE_OK, "tomls/a.toml": a}, with_tomls=False)
    rc, doc, err = run_json(["validate"], d)
    found = [x for x in doc["diagnostics"] if x["code"] == "DBR050"]
    first = a.split("\n").index("[[tools]]") + 2
    expect(rc == 1 and len(found) == 1 and found[0]["line"] == first + 4 and
           found[0]["message"] == 'tool id "t1" is declared twice in this package (first at line %d)' % first and
           "across packages" not in found[0]["hint"], found)


@case
def a_second_manifest_of_a_package_is_dbr012_alone():
    # Audit aman 10: after DBR012 the copy's migrations got DBR046
    # "creates table ydtb_a, which belongs to @t/a" in a file declaring @t/a.
    d = project({"tomls/core.toml": AMAN_CORE_OK, "tomls/a.toml": AMAN_A, "tomls/b.toml": AMAN_A}, with_tomls=False)
    rc, doc, err = run_json(["validate"], d)
    found = [(x["code"], x["file"]) for x in doc["diagnostics"] if x["severity"] == "error"]
    expect(rc == 1 and found == [("DBR012", "tomls/b.toml")], doc["diagnostics"])


@case
def dbr048_names_the_table_of_the_statement():
    # Audit aman 10: DBR048 for CREATE INDEX CONCURRENTLY ... ON ydtb_a had "table": null.
    a = AMAN_A + ('\n[[migrations]]\nid = "0002"\nversion = "1.0.0"\nup_sqlite = "SELECT 1;"\n'
                  'up_postgres = "CREATE INDEX CONCURRENTLY IF NOT EXISTS ydtb_a_x_idx ON ydtb_a (id);"\n')
    d = project({"tomls/core.toml": AMAN_CORE_OK, "tomls/a.toml": a}, with_tomls=False)
    rc, doc, err = run_json(["validate"], d)
    found = [(x["table"], x["migration"]) for x in doc["diagnostics"] if x["code"] == "DBR048"]
    expect(rc == 1 and found == [("ydtb_a", "0002")], doc["diagnostics"])


@case
def a_tools_table_whose_id_is_not_unique_alone_is_dbr016_at_the_core():
    # Audit aman 3b: validate passed and apply failed with exit 3 on
    # "ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE
    # constraint". Now DBR016 at the core's primary_key, naming the column.
    d = project({"tomls/core.toml": AMAN_CORE, "tomls/a.toml": AMAN_A}, with_tomls=False)
    rc, doc, err = run_json(["validate"], d)
    found = [x for x in doc["diagnostics"] if x["code"] == "DBR016"]
    pk_line = AMAN_CORE.split("\n").index('primary_key = ["id", "package_name"]') + 1
    expect(rc == 1 and len(found) == 1 and found[0]["file"] == "tomls/core.toml" and found[0]["line"] == pk_line
           and found[0]["column_name"] == "id" and found[0]["table"] == "ydtb_tools"
           and "ON CONFLICT (id)" in found[0]["message"] and "primary key" in found[0]["hint"], (rc, doc))
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "error[DBR016]" in err, (rc, out, err))
    # id unique on its own (a unique column, beside the same primary key): clean, and apply writes the tool.
    fixed = AMAN_CORE.replace('id = { type = "text", not_null = true }', 'id = { type = "text", not_null = true, unique = true }')
    fixed = fixed.replace("id text NOT NULL, name", "id text NOT NULL UNIQUE, name")
    with open(os.path.join(d, "tomls", "core.toml"), "w") as fp:
        fp.write(fixed)
    rc, doc, err = run_json(["validate"], d)
    expect(rc == 0 and not [x for x in doc["diagnostics"] if x["code"] == "DBR016"], (rc, doc))
    rc, out, err = run(["apply", "-q"], d)
    expect(rc == 0, (rc, out, err))
    con = sqlite3.connect(os.path.join(d, "ydtb.db"))
    expect(con.execute("SELECT id, package_name FROM ydtb_tools").fetchall() == [("t1", "@t/a")], "tools")
    con.close()
    # A missing column is named in column_name too.
    with open(os.path.join(d, "tomls", "core.toml"), "w") as fp:
        fp.write(AMAN_CORE.replace('package_name = { type = "text", not_null = true }\n', "")
                 .replace('primary_key = ["id", "package_name"]', 'primary_key = ["id"]'))
    rc, doc, err = run_json(["validate"], d)
    found = [(x["file"], x["column_name"]) for x in doc["diagnostics"] if x["code"] == "DBR016"]
    expect(rc == 1 and found == [("tomls/a.toml", "package_name")], (rc, doc))


IGNORED_RULES = """[package]
name = "@ydtb/legacy"
version = "1.0.0"
description = "Rules a comment cannot silence"

[dependencies]
"@ydtb/core" = "^1.0.0"

[tables.ydtb_legacy_items]
description = "An item"
workspace_scoped = true

[tables.ydtb_legacy_items.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "001"
version = "1.0.0"
up = \"\"\"
-- dbreg:ignore DBR046 made before the rules
CREATE TABLE IF NOT EXISTS ydtb_legacy_items (id text PRIMARY KEY);
-- dbreg:ignore DBR043 runs once
CREATE INDEX ydtb_legacy_items_id_idx ON ydtb_legacy_items (id);
\"\"\"
"""


@case
def a_dbreg_ignore_comment_naming_an_isolation_rule_says_it_cannot_suppress_it():
    # manifest.md: isolation and schema rules are never suppressed by a
    # comment. The finding stays an error and says why the comment did
    # nothing; a code the comment may suppress (DBR043) becomes DBR105.
    d = project({"tomls/legacy.toml": IGNORED_RULES}, with_tomls=["core.toml"])
    rc, out, err = run(["validate"], d)
    lines = [x for x in err.splitlines() if "legacy.toml" in x]
    refused = [x for x in lines if "error[DBR046]" in x]
    expect(rc == 1 and len(refused) == 1 and "tomls/legacy.toml:21:1:" in refused[0] and
           "(a dbreg:ignore comment cannot suppress DBR046: only warnings and DBR043 can be)" in refused[0],
           "%d %s" % (rc, err))
    expect(any("warning[DBR105]: DBR043 suppressed by a dbreg:ignore comment (runs once)" in x for x in lines) and
           not any("DBR105" in x and "DBR046" in x for x in lines), err)
    rc, doc, err = run_json(["validate"], d)
    found = [x for x in doc["diagnostics"] if x["code"] == "DBR046"]
    expect(rc == 1 and len(found) == 1 and "cannot suppress DBR046" in found[0]["message"], json.dumps(doc))


HELD_DEPENDENT_PKG = """[package]
name = "@t/needs"
version = "1.0.0"
description = "needs the notes of basic 1.1.0"

[dependencies]
"@ydtb/basic" = "^1.1.0"

[[migrations]]
id = "0001_nothing"
version = "1.0.0"
up = "SELECT 1;"
down = "SELECT 1;"
"""


def target_query(url, db, sql):
    """The rows of sql on the target (PostgreSQL when url, else the SQLite file db)."""
    if url:
        p = subprocess.run(["psql", "-X", "-qtA", "-F", "|", url, "-c", sql], capture_output=True, text=True,
                           timeout=60, check=True)
        return [tuple(line.split("|")) for line in p.stdout.splitlines() if line]
    import sqlite3
    con = sqlite3.connect(db)
    try:
        return [tuple(str(v) for v in row) for row in con.execute(sql).fetchall()]
    finally:
        con.close()


@case
def a_pin_breaks_only_the_dependents_that_end_installed():
    # --to held a package below its dependents' ranges: DBR031 named every
    # dependent, also one held at 0.0.0 (not installed, nor installing), so
    # `apply --to a@0.0.0 --to b@0.0.0` with b needing a was refused. A
    # dependent breaks when it ends installed (applied, or applied by this
    # plan) and its range fails the held version; down likewise.
    d = project({"tomls/needs.toml": HELD_DEPENDENT_PKG})
    targets = [(None, [])]
    drop = None
    if PG_URL:
        url, drop = pg_database()
        targets.append((url, ["--target", url]))
    try:
        for url, extra in targets:
            if not url and os.path.exists(os.path.join(d, "ydtb.db")):
                os.remove(os.path.join(d, "ydtb.db"))
            db = os.path.join(d, "ydtb.db")
            where = url or "sqlite"
            none = ["--to", "@ydtb/core@0.0.0", "--to", "@ydtb/basic@0.0.0", "--to", "@t/needs@0.0.0"]
            for cmd in (["plan"], ["apply"], ["init"]):
                rc, out, err = run(cmd + none + extra, d)
                expect(rc == 0 and "DBR031" not in err, "%s %s: %d %s" % (where, cmd, rc, out + err))
            expect(not url and not os.path.exists(db) or
                   url and target_query(url, None, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'ydtb%'")
                   == [("0",)], "%s: nothing held at 0.0.0 was installed" % where)
            # @t/needs installing (no pin) needs basic 1.1.0: held at 0.0.0 or
            # 1.0.0, it breaks; core held at 0.0.0 breaks basic (installing).
            for pins, broken in (([("@ydtb/core", "0.0.0"), ("@ydtb/basic", "0.0.0")],
                                  "cannot take @ydtb/basic to 0.0.0: 1 dependent would break: @t/needs (needs ^1.1.0)"),
                                 ([("@ydtb/core", "0.0.0"), ("@t/needs", "0.0.0")],
                                  "cannot take @ydtb/core to 0.0.0: 1 dependent would break: @ydtb/basic (needs ^1.0.0)"),
                                 ([("@ydtb/basic", "1.0.0")],
                                  "cannot take @ydtb/basic to 1.0.0: 1 dependent would break: @t/needs (needs ^1.1.0)")):
                args = [a for p in pins for a in ("--to", "%s@%s" % p)]
                for cmd in (["plan"], ["apply"], ["init"]):
                    rc, out, err = run(cmd + args + extra, d)
                    found = [l for l in err.splitlines() if "error[DBR031]" in l]
                    expect(rc == 1 and len(found) == 1 and broken in found[0], "%s %s %s: %d %s" %
                           (where, cmd, args, rc, out + err))
            # basic at 1.0.0 with @t/needs held back: applied.
            rc, out, err = run(["apply", "--to", "@ydtb/basic@1.0.0", "--to", "@t/needs@0.0.0"] + extra, d)
            expect(rc == 0 and "DBR031" not in err, "%s: %d %s" % (where, rc, out + err))
            installed = dict(target_query(url, db, "SELECT package, migration FROM ydtb_registry_migrations"))
            expect("@t/needs" not in installed and "@ydtb/basic" in installed, "%s: %s" % (where, installed))
            for sql in ("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w')",
                        "INSERT INTO ydtb_basic_notes (id, workspace_id, title) VALUES ('n1', 'w1', 'kept')"):
                if url:
                    subprocess.run(["psql", "-X", "-q", url, "-c", sql], check=True, capture_output=True, timeout=60)
                else:
                    import sqlite3
                    con = sqlite3.connect(db)
                    con.execute(sql)
                    con.commit()
                    con.close()
            # init takes basic up, @t/needs still held: fine; then down of
            # basic while @t/needs is not installed is fine too.
            rc, out, err = run(["init", "--to", "@t/needs@0.0.0"] + extra, d)
            expect(rc == 0 and "DBR031" not in err, "%s init: %d %s" % (where, rc, out + err))
            rc, out, err = run(["down", "@ydtb/basic", "--to", "1.0.0"] + extra, d)
            expect(rc == 0 and "reverted 3 migrations" in out, "%s down: %d %s" % (where, rc, out + err))
            rc, out, err = run(["apply", "-q"] + extra, d)
            expect(rc == 0, "%s: %d %s" % (where, rc, out + err))
            # Installed now: basic may not go below ^1.1.0, by a pin or down.
            rc, out, err = run(["down", "@ydtb/basic", "--to", "1.0.0"] + extra, d)
            expect(rc == 1 and "@t/needs (needs ^1.1.0)" in err, "%s down: %d %s" % (where, rc, out + err))
            rc, out, err = run(["apply", "--to", "@ydtb/basic@1.1.0", "--to", "@t/needs@1.0.0"] + extra, d)
            expect(rc == 0 and "applied 0 migrations" in out, "%s: %d %s" % (where, rc, out + err))
            expect(target_query(url, db, "SELECT title FROM ydtb_basic_notes") == [("kept",)], "%s: the row" % where)
    finally:
        if drop:
            drop()


# Two packages of tools alone, whose names sort before (@a/early) and after
# (@z/late) the others: the tools sync runs in plan order (core first, ties
# by name), so a tool moved between them is synced by the package that
# lost it first one way round and last the other.
def tools_package(name, tools, version="1.0.0"):
    """The package's manifest; at 1.1.0 with one migration (a step to plan)."""
    text = '[package]\nname = "%s"\nversion = "%s"\ndescription = "tools"\n\n' % (name, version)
    text += '[dependencies]\n"@ydtb/core" = "^1.0.0"\n'
    for tool in tools:
        text += '\n[[tools]]\nid = "%s"\nname = "%s"\n' % (tool, tool.title())
    if version != "1.0.0":
        text += '\n[[migrations]]\nid = "0001_step"\nversion = "%s"\nup = "SELECT 1;"\n' % version
    return text


def tools_project(dialect, early, late):
    """A project of tomls/ plus @a/early and @z/late declaring those tools,
    applied on a fresh target, with workspaces w1 and w2 having each tool
    turned on with settings: (folder, env, sql, write, cleanup)."""
    toml, env, sql, cleanup = lifecycle_target(dialect)
    try:
        d = project({"dbreg.toml": toml, "tomls/early.toml": tools_package("@a/early", early),
                     "tomls/late.toml": tools_package("@z/late", late)})
        rc, out, err = run(["apply", "-q"], d, env)
        expect(rc == 0, out + err)
        sql = lifecycle_sql(d, sql)
        rows = ", ".join("('%s', '%s', '{\"on\": \"%s-%s\"}')" % (w, t, w, t) for t in early + late for w in ("w1", "w2"))
        sql("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W1', 'w1'), ('w2', 'W2', 'w2');"
            " INSERT INTO ydtb_workspace_tools (workspace_id, tool_id, settings) VALUES %s;" % rows)
    except BaseException:
        cleanup()
        raise

    def write(early, late, version="1.0.0"):
        for name, f, tools in (("@a/early", "early", early), ("@z/late", "late", late)):
            with open(os.path.join(d, "tomls", f + ".toml"), "w") as fp:
                fp.write(tools_package(name, tools, version))
    return d, env, sql, write, cleanup


def workspace_tools(sql):
    """ydtb_workspace_tools with each tool's owner: sorted (workspace, tool, settings, package)."""
    got = sql("SELECT w.workspace_id, w.tool_id, w.settings, t.package_name FROM ydtb_workspace_tools w"
              " JOIN ydtb_tools t ON t.id = w.tool_id")
    return sorted(tuple(r.split("|")) for r in got.splitlines() if r)


def a_tool_moved_between_packages_keeps_every_workspaces_rows(dialect):
    # The audit (aeng, 1): moving [[tools]] to another package deleted the
    # row (its package's DELETE ran first), and ON DELETE CASCADE took every
    # workspace's enablement and settings with it. Now the upsert re-owns it.
    d, env, sql, write, cleanup = tools_project(dialect, ["early-tool"], ["late-tool"])
    try:
        def rows(owner):
            return sorted((w, t, '{"on": "%s-%s"}' % (w, t), owner[t]) for t in owner for w in ("w1", "w2"))
        expect(workspace_tools(sql) == rows({"early-tool": "@a/early", "late-tool": "@z/late"}), workspace_tools(sql))
        # early-tool to @z/late: the package losing it is synced first.
        write([], ["early-tool", "late-tool"])
        rc, doc, err = run_json(["apply"], d, env=env)
        expect(rc == 0 and doc["applied"] == 0 and not [g for g in doc["diagnostics"] if g["code"] == "DBR103"],
               json.dumps(doc) + err)
        expect(workspace_tools(sql) == rows({"early-tool": "@z/late", "late-tool": "@z/late"}), workspace_tools(sql))
        # Both to @a/early: the package losing them is synced last.
        write(["early-tool", "late-tool"], [])
        rc, out, err = run(["apply"], d, env)
        expect(rc == 0 and "DBR103" not in err, out + err)
        expect(workspace_tools(sql) == rows({"early-tool": "@a/early", "late-tool": "@a/early"}), workspace_tools(sql))
        # The script of plan --sql moves them the same way (it writes the
        # tools of the packages with a step: both, at 1.1.0), run by the
        # dialect's own client (sqlite3 with foreign keys on, as apply runs).
        write([], ["early-tool", "late-tool"], "1.1.0")
        rc, out, err = run(["plan", "--sql", "--refresh"], d, env)
        expect(rc == 0, out + err)
        client = (["psql", env["DBREG_PG"], "-XqAt", "-v", "ON_ERROR_STOP=1"] if dialect == "postgres"
                  else ["sqlite3", "-bail", "-cmd", "PRAGMA foreign_keys = ON", os.path.join(d, "ydtb.db")])
        p = subprocess.run(client, input=out, capture_output=True, text=True, timeout=60)
        expect(p.returncode == 0, p.stdout + p.stderr)
        expect(workspace_tools(sql) == rows({"early-tool": "@z/late", "late-tool": "@z/late"}), workspace_tools(sql))
        rc, doc, err = run_json(["apply"], d, env=env)
        expect(rc == 0 and doc["applied"] == 0, json.dumps(doc) + err)
    finally:
        cleanup()


@case
def a_tool_moved_between_packages_keeps_every_workspaces_rows_sqlite():
    a_tool_moved_between_packages_keeps_every_workspaces_rows("sqlite")


@case
def a_tool_moved_between_packages_keeps_every_workspaces_rows_postgres():
    a_tool_moved_between_packages_keeps_every_workspaces_rows("postgres")


def a_removed_tool_is_warned_about_then_deleted_with_its_rows(dialect):
    # A tool no package declares any more is deleted, and its rows in
    # ydtb_workspace_tools go with it (ON DELETE CASCADE): plan and apply say
    # so first (DBR103), naming the tool and how many workspaces lose it.
    d, env, sql, write, cleanup = tools_project(dialect, ["early-tool", "kept-tool"], [])
    try:
        write(["kept-tool"], [])
        want = ('warning[DBR103]: tool "early-tool" of @a/early is declared by no package any more: the run deletes'
                ' it from ydtb_tools, and ON DELETE CASCADE its 2 rows in ydtb_workspace_tools (2 workspaces)')
        rc, out, err = run(["plan", "--refresh"], d, env)
        expect(rc == 0 and want in err, out + err)
        rc, doc, err = run_json(["plan", "--refresh"], d, env=env)
        found = [g for g in doc["diagnostics"] if g["code"] == "DBR103" and "early-tool" in g["message"]]
        expect(rc == 0 and len(found) == 1 and found[0]["package"] == "@a/early" and found[0]["table"] == "ydtb_tools"
               and found[0]["file"] == "tomls/early.toml" and found[0]["hint"], json.dumps(doc))
        expect(len(workspace_tools(sql)) == 4, "plan changed the target: %s" % workspace_tools(sql))
        rc, out, err = run(["apply"], d, env)
        expect(rc == 0 and want in err, out + err)
        expect(workspace_tools(sql) == [(w, "kept-tool", '{"on": "%s-kept-tool"}' % w, "@a/early") for w in ("w1", "w2")],
               workspace_tools(sql))
        expect(sql("SELECT count(*) FROM ydtb_tools WHERE id = 'early-tool'") == "0", "early-tool kept")
        # Gone: the next run warns no more.
        rc, doc, err = run_json(["apply"], d, env=env)
        expect(rc == 0 and not [g for g in doc["diagnostics"] if g["code"] == "DBR103"], json.dumps(doc))
        # A package taken down to nothing loses its tools, but not one another
        # package declares now: kept-tool moved to @z/late (not applied), then
        # @a/early down; @z/late, out of the down's scope, re-owns it.
        write(["kept-tool", "early-only"], [])
        rc, out, err = run(["apply", "-q"], d, env)
        expect(rc == 0, out + err)
        sql("INSERT INTO ydtb_workspace_tools (workspace_id, tool_id, settings) VALUES ('w1', 'early-only', '{}')")
        write(["early-only"], ["kept-tool"])
        rc, out, err = run(["down", "@a/early", "--to", "0.0.0"], d, env)
        expect(rc == 0 and 'tool "early-only" of @a/early' in err and "(1 workspace)" in err
               and 'tool "kept-tool"' not in err, out + err)
        expect(workspace_tools(sql) == [(w, "kept-tool", '{"on": "%s-kept-tool"}' % w, "@z/late") for w in ("w1", "w2")],
               workspace_tools(sql))
    finally:
        cleanup()


@case
def a_removed_tool_is_warned_about_then_deleted_with_its_rows_sqlite():
    a_removed_tool_is_warned_about_then_deleted_with_its_rows("sqlite")


@case
def a_removed_tool_is_warned_about_then_deleted_with_its_rows_postgres():
    a_removed_tool_is_warned_about_then_deleted_with_its_rows("postgres")


if __name__ == "__main__":
    # Extra arguments name the cases to run (all when none).
    sys.exit(main(only=tuple(sys.argv[3:])))
