#!/usr/bin/env python3
"""The development loop end to end: development targets and --allow, reset,
suppression comments, and `dbreg watch` driven the way an editor saves.

usage: test_devloop.py DBREG TOMLS_DIR
Each case builds a project in a fresh temporary folder and runs build/dbreg
there against real SQLite files, and against the PostgreSQL server of
tests/run (DBREG_TEST_PG_URL; the cases fail without it unless
DBREG_TEST_NO_PG=1). Every wait is bounded. Prints TAP."""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, expect, main, pg_database, run  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "dl")
DBREG, TOMLS, PG_URL = clitest.DBREG, clitest.TOMLS, clitest.PG_URL
# The core package's migrations, so a new one changes no figure here.
CORE_MIGRATIONS = open(os.path.join(TOMLS, "core.toml"), encoding="utf-8").read().count("\n[[migrations]]\n")
def write(path, text):
    """As an editor saves: a temporary file renamed over the target."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), ".%s.swp" % os.path.basename(path))
    with open(tmp, "w") as fp:
        fp.write(text)
    os.rename(tmp, path)


def project(files=None, core=True):
    """A project with the real core package (unless core=False) and `files`."""
    return clitest.project(files, with_tomls=["core.toml"] if core else [])


def psql(url, sql):
    p = subprocess.run(["psql", url, "-XtAqc", sql], capture_output=True, text=True, timeout=60)
    expect(p.returncode == 0, "psql %s: %s" % (sql, p.stderr))
    return p.stdout.strip()


def pg_snapshot(url):
    """Every relation and column of the public schema, and the rows of the dbreg tables."""
    cols = psql(url, "select table_name || '.' || column_name from information_schema.columns "
                     "where table_schema = 'public' order by 1")
    return cols


def memo(up, down="DROP TABLE IF EXISTS ydtb_memo_items;", columns='title = { type = "text" }',
         extra_migrations=""):
    return """[package]
name = "@ydtb/memo"
version = "1.0.0"
description = "memos"

[tables.ydtb_memo_items]
description = "a memo"
workspace_scoped = true

[tables.ydtb_memo_items.columns]
id = { type = "text", primary_key = true }
%s

[[migrations]]
id = "0001_items"
version = "1.0.0"
up = \"\"\"
%s
\"\"\"
down = "%s"
%s""" % (columns, up, down, extra_migrations)


NOT_IDEMPOTENT = """CREATE TABLE ydtb_memo_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  title text
);
CREATE INDEX IF NOT EXISTS ydtb_memo_items_workspace_id_idx ON ydtb_memo_items (workspace_id);"""


def sqlite_tables(path):
    db = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in db.execute("select name from sqlite_master where type = 'table'"))
    finally:
        db.close()


# ---- development targets, --allow, reset -------------------------------------

@case
def allow_on_a_development_target_applies_with_dbr105():
    d = project({"tomls/memo.toml": memo(NOT_IDEMPOTENT)})
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "error[DBR043]" in err, "without --allow: %d %s" % (rc, err))
    expect(not os.path.exists(os.path.join(d, "ydtb.db")), "the refused run created the database")
    rc, out, err = run(["apply", "--allow", "DBR043"], d)
    expect(rc == 0, "exit %d: %s" % (rc, err))
    expect("warning[DBR105]: DBR043 bypassed by --allow on a development target" in err, err)
    expect("ydtb_memo_items" in sqlite_tables(os.path.join(d, "ydtb.db")), "table not created")
    # The bypass is for that run: the next run without it refuses again.
    write(os.path.join(d, "tomls", "memo.toml"), memo(NOT_IDEMPOTENT + "\nSELECT 1;"))
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "error[DBR043]" in err, "a later run without --allow: %d %s" % (rc, err))
    # It bypasses what it names, nothing else: the edited applied body is drift.
    rc, out, err = run(["apply", "--allow", "DBR043"], d)
    expect(rc == 1 and "error[DBR045]" in err, "%d %s" % (rc, err))


@case
def allow_refused_on_a_target_marked_dev_false():
    d = project({"tomls/memo.toml": memo(NOT_IDEMPOTENT),
                 "dbreg.toml": '[targets.dev]\nurl = "sqlite:shared.db"\ndev = false\n'})
    rc, out, err = run(["apply", "--allow", "DBR043"], d)
    expect(rc == 2 and "--allow is for development targets only, and target dev (sqlite:shared.db) is not one" in err,
           "the refusal names the target: %d %s" % (rc, err))
    expect(not os.path.exists(os.path.join(d, "shared.db")), "the refused run created the database")
    rc, out, err = run(["apply", "--allow", "DBR999"], d)
    expect(rc == 2 and "DBR999" in err, "%d %s" % (rc, err))
    rc, out, err = run(["apply", "--allow", "DBR043", "--target", "sqlite::memory:"], d)
    expect(rc == 0, "sqlite::memory: is always a development target: %d %s" % (rc, err))


@case
def allow_on_postgres_without_dev_exits_2_and_leaves_it_untouched():
    url, drop = pg_database()
    try:
        d = project({"tomls/memo.toml": memo(NOT_IDEMPOTENT.replace("CREATE TABLE ydtb_memo_items",
                                                                      "CREATE TABLE IF NOT EXISTS ydtb_memo_items")),
                     "dbreg.toml": '[targets.pg]\nurl = "%s"\n' % url})
        rc, out, err = run(["apply", "--target", "pg"], d)
        expect(rc == 0, "first apply: %d %s" % (rc, err))
        psql(url, "insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w'); "
                  "insert into ydtb_memo_items (id, workspace_id, title) values ('m1', 'w1', 'kept')")
        before = pg_snapshot(url)
        hist = psql(url, "select count(*) from ydtb_registry_migrations")
        write(os.path.join(d, "tomls", "memo.toml"),
              memo(NOT_IDEMPOTENT.replace("CREATE TABLE ydtb_memo_items", "CREATE TABLE IF NOT EXISTS ydtb_memo_items"),
                   columns='title = { type = "text" }\nbody = { type = "text" }',
                   extra_migrations='\n[[migrations]]\nid = "0002_more"\nversion = "1.0.0"\n'
                                    'up = "ALTER TABLE ydtb_memo_items ADD COLUMN body text;"\n'))
        for args in (["apply", "--target", "pg", "--allow", "DBR043"],
                     ["init", "--target", "pg", "--allow", "DBR043"],
                     ["apply", "--target", url, "--allow", "DBR043"],
                     ["reset", "--target", "pg"]):
            rc, out, err = run(args, d)
            expect(rc == 2, "%s: exit %d %s" % (args, rc, err))
            expect("development targets only" in err and "***" not in err.replace(":***@", ""), err)
        expect(pg_snapshot(url) == before, "the target changed")
        expect(psql(url, "select count(*) from ydtb_registry_migrations") == hist, "history changed")
        expect(psql(url, "select title from ydtb_memo_items") == "kept", "data changed")
        # Marked dev = true, the same flag is accepted.
        with open(os.path.join(d, "dbreg.toml"), "a") as fp:
            fp.write("dev = true\n")
        rc, out, err = run(["apply", "--target", "pg", "--allow", "DBR043"], d)
        expect(rc == 0 and "warning[DBR105]" in err, "dev = true: %d %s" % (rc, err))
        expect("body" in psql(url, "select string_agg(column_name, ',') from information_schema.columns "
                                   "where table_name = 'ydtb_memo_items'"), "0002 not applied")
    finally:
        drop()


@case
def reset_runs_every_down_then_every_up_on_a_development_target():
    d = project({"tomls/memo.toml": memo(NOT_IDEMPOTENT.replace("CREATE TABLE ydtb_memo_items",
                                                                  "CREATE TABLE IF NOT EXISTS ydtb_memo_items"))})
    rc, out, err = run(["apply"], d)
    expect(rc == 0, err)
    db = os.path.join(d, "ydtb.db")
    con = sqlite3.connect(db)
    con.execute("insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w')")
    con.execute("insert into ydtb_memo_items (id, workspace_id, title) values ('m1', 'w1', 'gone')")
    con.commit()
    con.close()
    rc, out, err = run(["reset"], d)
    expect(rc == 0, "reset: %d %s" % (rc, err))
    n = CORE_MIGRATIONS + 1
    expect("reverted %d migrations, applied %d migrations" % (n, n) in out, out)
    con = sqlite3.connect(db)
    expect(con.execute("select count(*) from ydtb_memo_items").fetchone()[0] == 0, "rows survived the reset")
    expect(con.execute("select count(*) from ydtb_registry_migrations").fetchone()[0] == n, "history")
    con.close()


@case
def reset_refused_on_a_target_that_is_not_a_development_one():
    d = project({"tomls/memo.toml": memo(NOT_IDEMPOTENT.replace("CREATE TABLE ydtb_memo_items",
                                                                  "CREATE TABLE IF NOT EXISTS ydtb_memo_items")),
                 "dbreg.toml": '[targets.dev]\nurl = "sqlite:keep.db"\ndev = false\n'})
    rc, out, err = run(["apply"], d)
    expect(rc == 0, err)
    db = os.path.join(d, "keep.db")
    con = sqlite3.connect(db)
    con.execute("insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w')")
    con.commit()
    con.close()
    before = open(db, "rb").read()
    rc, out, err = run(["reset"], d)
    expect(rc == 2 and "reset is for development targets only" in err, "%d %s" % (rc, err))
    expect(open(db, "rb").read() == before, "the target changed")
    rc, out, err = run(["reset", "--target", "postgres://app:secret@127.0.0.1:1/app"], d)
    expect(rc == 2 and "secret" not in err, "%d %s" % (rc, err))
    # The same file by its path, relative, absolute or roundabout, is the
    # database that said dev = false: refused too, naming the target.
    for spelling in ["sqlite:keep.db", "sqlite:" + db, "sqlite:./keep.db"]:
        for args in (["reset"], ["apply", "--allow", "DBR043"]):
            rc, out, err = run(args + ["--target", spelling], d)
            expect(rc == 2 and "it is the database of target dev, which says dev = false" in err,
                   "%s %s: %d %s" % (args[0], spelling, rc, err))
            expect(open(db, "rb").read() == before, "%s %s: the target changed" % (args[0], spelling))
    # Another file is a development target as ever.
    rc, out, err = run(["reset", "--target", "sqlite:other.db"], d)
    expect(rc == 0, "%d %s" % (rc, err))
    # A name saying dev = true for that file does not undo its dev = false.
    with open(os.path.join(d, "dbreg.toml"), "a") as fp:
        fp.write('[targets.mine]\nurl = "sqlite:keep.db"\ndev = true\n')
    rc, out, err = run(["reset", "--target", "mine"], d)
    expect(rc == 2 and "its database is target dev's too, which says dev = false" in err, "%d %s" % (rc, err))
    # The hint names the target to change: mine already says dev = true.
    expect("hint: if it is a development database, say dev = true in [targets.dev] of dbreg.toml" in err, err)
    expect(open(db, "rb").read() == before, "mine: the target changed")
    # A target that does not say dev = true is none, though another name of
    # its database says so (the audit: reset --target prod emptied the
    # database that [targets.local] calls a development one). Refused
    # before connecting: the server need not exist.
    url = "postgres://app:secret@127.0.0.1:1/app"
    with open(os.path.join(d, "dbreg.toml"), "a") as fp:
        fp.write('[targets.local]\nurl = "%s"\ndev = true\n[targets.prod]\nurl = "%s"\n' % (url, url))
    rc, out, err = run(["reset", "--target", "prod"], d)
    expect(rc == 2 and "target prod" in err and "is not one" in err and "secret" not in err, "%d %s" % (rc, err))
    rc, out, err = run(["reset", "--target", "local"], d)
    expect(rc == 3, "local is a development target, refused only by the server: %d %s" % (rc, err))


# ---- suppression comments ------------------------------------------------------

@case
def a_suppression_comment_silences_exactly_one_statements_dbr043():
    up = """-- dbreg:ignore DBR043 the first deploy creates it once
CREATE TABLE ydtb_memo_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  title text
);
CREATE INDEX ydtb_memo_items_workspace_id_idx ON ydtb_memo_items (workspace_id);
CREATE INDEX ydtb_memo_items_title_idx ON ydtb_memo_items (title); -- dbreg:ignore DBR043,DBR103 same line
CREATE INDEX ydtb_memo_items_t2_idx ON ydtb_memo_items (title, id);"""
    d = project({"tomls/memo.toml": memo(up)})
    rc, out, err = run(["validate", "--json"], d)
    doc = json.loads(out)
    by = {}
    for x in doc["diagnostics"]:
        by.setdefault(x["line"], []).append(x)
    # Lines in the manifest: the comment is on line 18, the CREATE TABLE on 19.
    first = [x for x in doc["diagnostics"] if x["code"] == "DBR105" and "first deploy" in x["message"]]
    expect(len(first) == 1 and first[0]["line"] == 19, doc)
    expect(not any(x["code"] == "DBR043" and x["line"] == 19 for x in doc["diagnostics"]), doc)
    # The next statement, without a comment, is still reported.
    expect(any(x["code"] == "DBR043" and x["line"] == 24 for x in doc["diagnostics"]), doc)
    same = [x for x in doc["diagnostics"] if x["line"] == 25]
    expect([x["code"] for x in same] == ["DBR105", "DBR107"] and "(same line)" in same[0]["message"], same)
    # An index on a table the migration creates blocks no one: no DBR103,
    # so the comment's DBR103 suppresses nothing, and says so.
    expect("names DBR103" in same[1]["message"] and same[1]["column"] == 91, same)
    # A trailing comment belongs to its own line's statement, not the next one.
    expect(any(x["code"] == "DBR043" and x["line"] == 26 for x in doc["diagnostics"]), doc)
    expect(rc == 1, "the uncommented statements are still errors")


@case
def a_suppression_comment_cannot_silence_dbr020_or_dbr046():
    text = memo("""-- dbreg:ignore DBR020,DBR046 we want this
CREATE TABLE IF NOT EXISTS notes (id text PRIMARY KEY);""", down="DROP TABLE IF EXISTS notes;")
    text = text.replace("ydtb_memo_items", "notes")
    d = project({"tomls/memo.toml": text})
    rc, out, err = run(["validate"], d)
    expect(rc == 1, "exit %d" % rc)
    expect("error[DBR020]" in err and "error[DBR046]" in err, err)
    expect(not any("DBR105" in l and "memo.toml" in l for l in err.splitlines()), err)


@case
def a_suppression_comment_with_a_code_that_is_none_says_so_where_it_is():
    # DBR430 for DBR043: it suppressed nothing and said nothing. Now a
    # warning at the code (line 18, after "-- dbreg:ignore "), once, and the
    # DBR043 it meant to suppress is still an error. The hint names only the
    # codes a statement's finding can carry (review-11 #6).
    up = "-- dbreg:ignore DBR430 the first deploy creates it once\n" + NOT_IDEMPOTENT
    d = project({"tomls/memo.toml": memo(up)})
    rc, out, err = run(["validate"], d)
    lines = [l for l in err.splitlines() if "DBR107" in l]
    expect(lines == ['tomls/memo.toml:18:17: warning[DBR107]: dbreg:ignore names DBR430, which is no dbreg code: it '
                     'suppresses nothing (hint: name the code of the finding to suppress; a comment can suppress '
                     'DBR043, DBR103)'], err)
    expect(rc == 1 and "tomls/memo.toml:19:1: error[DBR043]" in err, "%d %s" % (rc, err))


@case
def a_suppression_comment_naming_a_code_no_statement_carries_says_so_where_it_is():
    # DBR047 is reported at the declared table and DBR101 at the table too:
    # a comment on the CREATE TABLE naming them suppressed nothing and said
    # nothing (1ba0399: validate printed the DBR047 error alone). Now DBR107
    # at each code, with the code's title, and the DBR047 stays an error.
    up = ("-- dbreg:ignore DBR047, DBR101 the column is text on purpose\n" +
          NOT_IDEMPOTENT.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS "))
    d = project({"tomls/memo.toml": memo(up, columns='title = { type = "integer" }')})
    rc, out, err = run(["validate"], d)
    lines = [l for l in err.splitlines() if "DBR107" in l]
    expect(lines == [
        "tomls/memo.toml:18:17: warning[DBR107]: dbreg:ignore names DBR047 (the schema that migrations produce "
        "differs from the declared tables), which no statement's finding carries: it suppresses nothing (hint: a "
        "comment can suppress DBR043, DBR103; mend what DBR047 reports where it is reported, or pass --allow DBR047 "
        "for a development target)",
        "tomls/memo.toml:18:25: warning[DBR107]: dbreg:ignore names DBR101 (no index led by workspace_id), which no "
        "statement's finding carries: it suppresses nothing (hint: a comment can suppress DBR043, DBR103; DBR101 is "
        "reported where it is found, and no comment there suppresses it)"], err)
    expect(rc == 1 and "error[DBR047]" in err and "DBR043" not in err.replace("DBR043, DBR103", ""),
           "%d %s" % (rc, err))



@case
def a_suppression_comment_that_suppresses_nothing_says_so_at_its_code():
    # The audit's cases, each silent before: DBR043 on a statement that is
    # idempotent, a comment a blank line away from its statement (no
    # statement takes it), and DBR021 where the finding is DBR046 (a comment
    # cannot suppress either). A DBR043 that suppresses the finding of its
    # statement (the second on its line shares the comment) says nothing.
    up = ("-- dbreg:ignore DBR043 kept from an older version\n"
          "\n"
          "CREATE TABLE IF NOT EXISTS ydtb_memo_items (  -- dbreg:ignore DBR043 it has IF NOT EXISTS\n"
          "  id text PRIMARY KEY,\n"
          "  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,\n"
          "  title text\n"
          ");\n"
          "SELECT 1; CREATE INDEX ydtb_memo_items_workspace_id_idx ON ydtb_memo_items (workspace_id); "
          "-- dbreg:ignore DBR043 runs once\n"
          "-- dbreg:ignore DBR021 its workspace_id comes later\n"
          "CREATE TABLE IF NOT EXISTS ydtb_memo_other (id text PRIMARY KEY);")
    d = project({"tomls/memo.toml": memo(up)})
    rc, out, err = run(["validate", "--json"], d)
    doc = json.loads(out)
    got = sorted((x["line"], x["column"], x["message"].split(": it suppresses")[0])
                 for x in doc["diagnostics"] if x["code"] == "DBR107")
    lines = up.split("\n")
    col = lines[2].index("DBR043") + 1
    expect(got == [
        (18, 17, "dbreg:ignore names DBR043 (statement that is not idempotent) on a line that belongs to no statement"),
        (20, col, "dbreg:ignore names DBR043 (statement that is not idempotent), but its statement has no such "
                  "finding"),
        (26, 17, "dbreg:ignore names DBR021 (package table without workspace_id), which a comment cannot suppress"),
    ], "\n".join(map(str, got)))
    expect(all(x["severity"] == "warning" and x["hint"] for x in doc["diagnostics"] if x["code"] == "DBR107"), out)
    used = [x for x in doc["diagnostics"] if x["code"] == "DBR105" and x["line"] == 25]
    expect(len(used) == 1 and "runs once" in used[0]["message"], out)
    expect(any(x["code"] == "DBR046" and x["line"] == 27 for x in doc["diagnostics"]), out)

# ---- dbreg watch ---------------------------------------------------------------

import queue
import socket
import threading
import urllib.parse

MEMO_HEAD = """[package]
name = "@ydtb/memo"
version = "1.0.0"
description = "memos"

[tables.ydtb_memo_items]
description = "a memo"
workspace_scoped = true

[tables.ydtb_memo_items.columns]
id = { type = "text", primary_key = true }
title = { type = "text" }
%s
"""

MEMO_0001 = '''
[[migrations]]
id = "0001_items"
version = "1.0.0"
up = """
CREATE TABLE IF NOT EXISTS ydtb_memo_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  title text
);
CREATE INDEX IF NOT EXISTS ydtb_memo_items_workspace_id_idx ON ydtb_memo_items (workspace_id);
"""
down = "DROP TABLE IF EXISTS ydtb_memo_items;"
'''

TAGS_TABLE = """
[tables.ydtb_memo_tags]
description = "a tag"
workspace_scoped = true

[tables.ydtb_memo_tags.columns]
id = { type = "text", primary_key = true }
label = { type = "text", not_null = true }
%s
"""

MEMO_0002 = '''
[[migrations]]
id = "0002_tags"
version = "1.0.0"
up = """
CREATE TABLE IF NOT EXISTS ydtb_memo_tags (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  label text NOT NULL%s
);
CREATE INDEX IF NOT EXISTS ydtb_memo_tags_workspace_id_idx ON ydtb_memo_tags (workspace_id);
"""
down = "DROP TABLE IF EXISTS ydtb_memo_tags;"
'''

MEMO_0003 = '''
[[migrations]]
id = "0003_note"
version = "1.0.0"
up_postgres = "ALTER TABLE ydtb_memo_items ADD COLUMN IF NOT EXISTS note text;"
up_sqlite = "ALTER TABLE ydtb_memo_items ADD COLUMN note text;"
down_postgres = "ALTER TABLE ydtb_memo_items DROP COLUMN IF EXISTS note;"
down_sqlite = "ALTER TABLE ydtb_memo_items DROP COLUMN note;"
'''


def memo_state(step):
    """The manifest an editor saves at each step of the scenario."""
    if step == 1:
        return MEMO_HEAD % "" + MEMO_0001
    if step == 2:
        return MEMO_HEAD % (TAGS_TABLE % "") + MEMO_0001 + MEMO_0002 % ""
    if step == 3:
        return (MEMO_HEAD % ('note = { type = "text" }\n' + TAGS_TABLE % "") + MEMO_0001 + MEMO_0002 % ""
                + MEMO_0003)
    if step == 4:
        return (MEMO_HEAD % ('note = { type = "text" }\n' + TAGS_TABLE % 'color = { type = "text" }')
                + MEMO_0001 + MEMO_0002 % ",\n  color text" + MEMO_0003)
    if step == 5:
        return MEMO_HEAD % (TAGS_TABLE % 'color = { type = "text" }') + MEMO_0001 + MEMO_0002 % ",\n  color text"
    raise ValueError(step)


def err_has(watch, pred, timeout=10):
    """Whether a stderr line of watch satisfies pred within timeout
    (another thread reads them: a round's report can come before)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not any(pred(x) for x in watch.err):
        time.sleep(0.05)
    return any(pred(x) for x in watch.err)


class HumanWatch:
    """A running `dbreg watch` in human form: its stdout lines waited for
    by pattern, its stderr kept; every wait bounded."""

    def __init__(self, d, args=()):
        self.proc = subprocess.Popen([DBREG, "watch"] + list(args), cwd=d, env=clitest.dbreg_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out = queue.Queue()
        self.err = []
        threading.Thread(target=lambda: [self.out.put(x) for x in self.proc.stdout], daemon=True).start()
        threading.Thread(target=lambda: [self.err.append(x) for x in self.proc.stderr], daemon=True).start()

    def line_like(self, pattern, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                x = self.out.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                break
            if re.search(pattern, x):
                return x
        raise AssertionError("no line like %r; stderr: %s" % (pattern, "".join(self.err)[-2000:]))

    def err_has(self, pred, timeout=10):
        return err_has(self, pred, timeout)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=20)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Watch:
    """A running `dbreg watch --json`: rounds read from its NDJSON, each
    wait bounded, the process killed at the end whatever happened."""

    def __init__(self, d, args=()):
        self.proc = subprocess.Popen([DBREG, "watch", "--json"] + list(args), cwd=d, env=clitest.dbreg_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.err = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def round(self, timeout=30):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no report within %d s; stderr: %s" % (timeout, "".join(self.err)[-2000:]))
        expect(line is not None, "watch ended early (exit %s): %s" % (self.proc.poll(), "".join(self.err)[-2000:]))
        return json.loads(line)

    def fds(self):
        base = "/proc/%d/fd" % self.proc.pid
        out = []
        for name in os.listdir(base):
            try:
                out.append(os.readlink(os.path.join(base, name)))
            except OSError:
                pass
        return sorted(out)

    def stop(self, timeout=20):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError("watch did not stop on SIGTERM within %d s" % timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def changes_of(doc, what):
    return {(c["change"], c["name"]) for c in doc["changes"] if c["what"] == what}


def watch_scenario(d, columns, tables, data, add_data):
    """The editor's session of the issue, against whatever database the
    project's target is; columns(table), tables() and data() read it back."""
    path = os.path.join(d, "tomls", "memo.toml")
    w = Watch(d)
    try:
        first = w.round(timeout=60)
        expect(first["ok"] and first["status"] == "applied" and first["apply"] is True, first)
        add_data()
        fds = w.fds()
        # 1. A migration added: applied, the report names the new table.
        write(path, memo_state(2))
        r = w.round()
        expect(r["ok"] and r["status"] == "applied", r)
        expect(("added", "ydtb_memo_tags") in changes_of(r, "table"), r["changes"])
        expect(("added", "0002_tags") in changes_of(r, "migration"), r["changes"])
        expect([f["path"] for f in r["files"]] == ["tomls/memo.toml"], r["files"])
        expect([s["migration"] for s in r["steps"] if s["applied"]] == ["0002_tags"], r["steps"])
        expect("ydtb_memo_tags" in tables(), tables())
        # 2. Broken TOML: the error, the database unchanged, the loop alive.
        before = (tables(), columns("ydtb_memo_items"), data())
        write(path, memo_state(2).replace("[package]", "[package", 1))
        r = w.round()
        expect(not r["ok"] and r["status"] == "not applied", r)
        expect(any(x["code"] == "DBR001" and x["file"] == "tomls/memo.toml" for x in r["diagnostics"]), r)
        expect((tables(), columns("ydtb_memo_items"), data()) == before, "the database changed")
        expect(w.proc.poll() is None, "the loop died")
        # 3. Fixed (with one more migration): applied.
        write(path, memo_state(3))
        r = w.round()
        expect(r["ok"] and r["status"] == "applied", r)
        expect([s["migration"] for s in r["steps"] if s["applied"]] == ["0003_note"], r["steps"])
        expect("note" in columns("ydtb_memo_items"), columns("ydtb_memo_items"))
        # A save that changes nothing is no round at all: the next report is
        # the next real change's.
        write(path, memo_state(3))
        time.sleep(0.5)
        # 4. An applied migration edited: its down, then its new up (and the
        # later one of the package around it), the new column in the database.
        write(path, memo_state(4))
        r = w.round()
        expect(r["ok"] and r["status"] == "applied", r)
        ran = [(s["direction"], s["migration"]) for s in r["steps"] if s["applied"]]
        expect(ran == [("down", "0003_note"), ("down", "0002_tags"), ("up", "0002_tags"), ("up", "0003_note")], ran)
        expect(("changed", "0002_tags") in changes_of(r, "migration"), r["changes"])
        expect(("added", "color") in changes_of(r, "column"), r["changes"])
        expect("color" in columns("ydtb_memo_tags"), columns("ydtb_memo_tags"))
        expect(data() == before[2], "rows of the untouched table were lost: %s" % (data(),))
        # An applied migration taken out of the manifest: the down it had runs.
        write(path, memo_state(5))
        r = w.round()
        expect(r["ok"] and r["status"] == "applied", r)
        ran = [(s["direction"], s["migration"]) for s in r["steps"] if s["applied"]]
        expect(ran == [("down", "0003_note")], ran)
        expect(("removed", "0003_note") in changes_of(r, "migration"), r["changes"])
        expect("note" not in columns("ydtb_memo_items"), columns("ydtb_memo_items"))
        expect(data() == before[2], "rows lost: %s" % (data(),))
        # 5. The package's file deleted: reported, nothing dropped.
        os.unlink(path)
        r = w.round()
        expect(("removed", "tomls/memo.toml") in {(f["change"], f["path"]) for f in r["files"]}, r["files"])
        expect(("removed", "@ydtb/memo") in changes_of(r, "package"), r["changes"])
        expect(any(x["code"] == "DBR105" and "no longer registered" in x["message"] for x in r["diagnostics"]), r)
        expect(not any(s["applied"] for s in r["steps"]), r["steps"])
        expect({"ydtb_memo_items", "ydtb_memo_tags"} <= set(tables()), tables())
        # No descriptor leaked over five rounds.
        expect(w.fds() == fds, "descriptors before %s after %s" % (fds, w.fds()))
        rc = w.stop()
        expect(rc == 0, "exit %d: %s" % (rc, "".join(w.err)[-2000:]))
        expect(not any("Sanitizer" in x for x in w.err), "".join(w.err))
    finally:
        w.kill()


@case
def watch_reads_the_history_again_after_another_run_wrote_the_target():
    # The watch keeps the history it read between rounds; another run that
    # takes the package down meanwhile (another connection's commit) makes
    # the next round read it again and plan every migration anew, not only
    # the one the edit added.
    d = project({"tomls/memo.toml": memo_state(2)})
    db = os.path.join(d, "ydtb.db")
    path = os.path.join(d, "tomls", "memo.toml")
    w = Watch(d)
    try:
        first = w.round(timeout=60)
        expect(first["ok"] and first["status"] == "applied", first)
        write(path, memo_state(2) + "\n# a comment: a round that applies nothing\n")
        r = w.round()
        expect(r["ok"] and r["status"] == "up to date", r)
        rc, out, err = run(["down", "@ydtb/memo", "--to", "0.0.0"], d)
        expect(rc == 0, "down: exit %d: %s" % (rc, err))
        expect("ydtb_memo_items" not in sqlite_tables(db), sqlite_tables(db))
        write(path, memo_state(3))
        r = w.round()
        ran = [s["migration"] for s in r["steps"] if s["applied"]]
        expect(r["ok"] and r["status"] == "applied" and ran == ["0001_items", "0002_tags", "0003_note"],
               "%s %s" % (ran, r))
        expect({"ydtb_memo_items", "ydtb_memo_tags"} <= set(sqlite_tables(db)), sqlite_tables(db))
        rc = w.stop()
        expect(rc == 0, "exit %d: %s" % (rc, "".join(w.err)[-2000:]))
    finally:
        w.kill()


@case
def watch_records_each_round_in_the_state_file_and_ends_on_sighup():
    # The copy of the target's history was written once, when watch ended
    # on SIGINT or SIGTERM: an offline plan meanwhile planned what watch had
    # applied, and a closed terminal (SIGHUP, not handled) or a kill left it
    # so for good, with no mark to warn (the audit).
    d = project({"tomls/memo.toml": memo_state(1)})
    path = os.path.join(d, "tomls", "memo.toml")
    w = Watch(d)
    try:
        first = w.round(timeout=60)
        expect(first["ok"] and first["status"] == "applied", first)
        write(path, memo_state(2))
        r = w.round()
        expect(r["ok"] and r["status"] == "applied", r)
        rc, out, err = run(["plan", "--json"], d)   # offline, while watch runs
        doc = json.loads(out)
        expect(rc == 0 and doc["steps"] == [] and "stale" not in err, "%d %s %s" % (rc, out, err))
        w.proc.send_signal(signal.SIGHUP)
        expect(w.proc.wait(timeout=30) == 0, "watch on SIGHUP: exit %s" % w.proc.poll())
        rc, out, err = run(["history", "--offline", "--json"], d)
        ids = [m["migration"] for m in json.loads(out)["migrations"]]
        expect("0002_tags" in ids, ids)
    finally:
        w.kill()


SLOW_SQLITE = """
[[migrations]]
id = "0100_slow"
version = "1.0.0"
up_sqlite = \"\"\"
UPDATE ydtb_workspaces SET name = 'changed' WHERE id = 'w1';
UPDATE ydtb_workspaces SET slug = slug WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
  WHERE x < 300000000) SELECT count(*) FROM c) > 0;
\"\"\"
up_postgres = "SELECT 1;"
down = "SELECT 1;"
"""


@case
def watch_interrupted_while_a_sqlite_round_applies_rolls_it_back():
    # SQLite has no cancel: SIGINT during a round let the migration run to
    # its commit (watch exited 5 s later, the row changed, the migration in
    # the history), where an interrupted apply ends and rolls back (the
    # audit). The process ends as apply's does; the database rolls back.
    d = project({"tomls/memo.toml": memo_state(1)})
    db = os.path.join(d, "ydtb.db")
    path = os.path.join(d, "tomls", "memo.toml")
    w = Watch(d)
    try:
        first = w.round(timeout=60)
        expect(first["ok"] and first["status"] == "applied", first)
        con = sqlite3.connect(db)
        con.execute("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'kept', 'w1')")
        con.commit()
        con.close()
        before = sqlite_history(db)
        write(path, memo_state(1) + SLOW_SQLITE)
        # The round's transaction has begun once its journal is there.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not os.path.exists(db + "-journal"):
            time.sleep(0.02)
        time.sleep(0.3)
        t = time.monotonic()
        w.proc.send_signal(signal.SIGINT)
        rc = w.proc.wait(timeout=30)
        took = time.monotonic() - t
        expect(rc == 130 and took < 3, "exit %s after %.1f s: %s" % (rc, took, "".join(w.err)[-1000:]))
        expect("interrupted while a round applied" in "".join(w.err), "".join(w.err)[-1000:])
        con = sqlite3.connect(db)
        name = con.execute("SELECT name FROM ydtb_workspaces WHERE id = 'w1'").fetchone()[0]
        con.close()
        expect(name == "kept" and sqlite_history(db) == before, "the round committed: %s" % name)
    finally:
        w.kill()


@case
def watch_follows_an_editor_on_sqlite():
    d = project({"tomls/memo.toml": memo_state(1)})
    db = os.path.join(d, "ydtb.db")

    def q(sql):
        con = sqlite3.connect(db, timeout=10)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def add():
        con = sqlite3.connect(db, timeout=10)
        con.execute("insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w')")
        con.execute("insert into ydtb_memo_items (id, workspace_id, title) values ('m1', 'w1', 'kept')")
        con.commit()
        con.close()

    watch_scenario(d, lambda t: sorted(r[1] for r in q("pragma table_info(%s)" % t)),
                   lambda: sorted(r[0] for r in q("select name from sqlite_master where type = 'table'")),
                   lambda: q("select id, title from ydtb_memo_items order by id"), add)
    # The state file followed the target once, at the end of the session.
    rc, out, err = run(["history", "--offline", "--json"], d)
    expect(rc == 0, err)
    ids = [m["migration"] for m in json.loads(out)["migrations"]]
    expect("0002_tags" in ids and "0003_note" not in ids, ids)
    # reset cannot undo the removed package (its downs went with its file):
    # it says so, and with --allow DBR045 resets the rest and leaves those.
    rc, out, err = run(["reset"], d)
    expect(rc == 1 and "error[DBR045]" in err and "@ydtb/memo" in err, "%d %s" % (rc, err))
    rc, out, err = run(["reset", "--allow", "DBR045"], d)
    expect(rc == 0 and "warning[DBR105]: DBR045 bypassed" in err, "%d %s" % (rc, err))
    expect("ydtb_memo_tags" in sqlite_tables(db), sqlite_tables(db))
    # The lock and the file are released: another run writes at once.
    con = sqlite3.connect(db, timeout=1)
    con.execute("BEGIN IMMEDIATE")
    con.rollback()
    con.close()


ERROR_KEYS = {"message", "detail", "hint", "sqlstate", "file", "line", "column", "package", "migration", "statement"}


@case
def watch_json_reports_a_failed_round_as_a_failed_command_does():
    # cli.md: a failure adds "ok": false, "exit_code" and the "error" object;
    # watch --json prints one such document per round.
    d = project({"tomls/memo.toml": memo_state(1)})
    path = os.path.join(d, "tomls", "memo.toml")
    w = Watch(d)
    try:
        r = w.round(timeout=60)
        expect(r["ok"] and r["exit_code"] == 0 and r["error"] is None, r)
        con = sqlite3.connect(os.path.join(d, "ydtb.db"), timeout=10)
        con.execute("insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w')")
        con.execute("insert into ydtb_memo_items (id, workspace_id, title) values ('m1', 'w1', 'kept')")
        con.commit()
        con.close()
        # Broken TOML: the manifests' errors, exit code 1.
        write(path, memo_state(1).replace("[package]", "[package", 1))
        r = w.round()
        expect(not r["ok"] and r["exit_code"] == 1 and set(r["error"]) == ERROR_KEYS, r)
        # A migration that only the target's rows make fail: exit code 4,
        # and the error names package, migration, statement and where.
        bad = ('\n[[migrations]]\nid = "0002_clear"\nversion = "1.0.0"\n'
               'up = "UPDATE ydtb_memo_items SET workspace_id = NULL WHERE id IS NOT NULL;"\ndown = "SELECT 1;"\n')
        write(path, memo_state(1) + bad)
        r = w.round()
        e = r["error"]
        expect(not r["ok"] and r["exit_code"] == 4 and set(e) == ERROR_KEYS, r)
        expect(e["package"] == "@ydtb/memo" and e["migration"] == "0002_clear" and e["file"] == "tomls/memo.toml"
               and e["line"] and "UPDATE ydtb_memo_items" in e["statement"] and "NOT NULL" in e["message"], e)
        # The package folder gone: no registry at all this round, still a
        # failed command's document, with the reason stderr gives.
        shutil.rmtree(os.path.join(d, "tomls"))
        r = w.round()
        e = r["error"]
        expect(not r["ok"] and r["exit_code"] != 0 and r["diagnostics"] == [] and r["target"] == "sqlite:ydtb.db"
               and set(e) == ERROR_KEYS and "cannot read the package folder tomls" in e["message"], r)
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()


def sqlite_history(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("select package, migration, checksum from ydtb_registry_migrations "
                           "order by package, migration").fetchall()
    finally:
        con.close()


def toml_error_at(text, broken, fixed):
    """text with its first `fixed` written as `broken`, and the line and
    column where a TOML parser stops: the end of the broken line."""
    at = text.index(fixed)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + len(broken) + 1
    return text.replace(fixed, broken, 1), line, column


@case
def watch_keeps_a_manifest_that_does_not_parse_as_it_last_loaded():
    # A manifest saved half way through an edit (a table header not closed)
    # was reported as the package removed: its tables and migrations
    # "removed", and after the fix every one of them "added" again. Now the
    # round is the file's DBR001 at its line and column, with a hint, and
    # nothing else; nothing is planned, the target is as it was; the fix's
    # round shows what changed since the last good load, and applies it.
    d = project({"tomls/memo.toml": memo_state(1)})
    db = os.path.join(d, "ydtb.db")
    path = os.path.join(d, "tomls", "memo.toml")
    w = Watch(d)
    try:
        r = w.round(timeout=60)
        expect(r["ok"] and r["status"] == "applied", r)
        con = sqlite3.connect(db, timeout=10)
        con.execute("insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w')")
        con.execute("insert into ydtb_memo_items (id, workspace_id, title) values ('m1', 'w1', 'kept')")
        con.commit()
        con.close()
        before = (sqlite_tables(db), sqlite_history(db))
        broken, line, column = toml_error_at(memo_state(2), "[tables.ydtb_memo_tags", "[tables.ydtb_memo_tags]")
        write(path, broken)
        r = w.round()
        errs = [x for x in r["diagnostics"] if x["severity"] == "error"]
        expect([(x["code"], x["file"], x["line"], x["column"]) for x in errs] ==
               [("DBR001", "tomls/memo.toml", line, column)] and errs[0]["hint"], r["diagnostics"])
        expect(not r["ok"] and r["exit_code"] == 1 and r["status"] == "not applied" and r["steps"] == [], r)
        expect(r["changes"] == [], "a file that does not parse removed nothing: %s" % r["changes"])
        expect([(f["change"], f["path"]) for f in r["files"]] == [("changed", "tomls/memo.toml")], r["files"])
        expect((sqlite_tables(db), sqlite_history(db)) == before, "the target changed")
        # Saved again, still broken the same way: no round. Another file's
        # change meanwhile keeps the error (the package stands in still).
        write(path, broken)
        write(os.path.join(d, "tomls", "late.toml"), '[package]\nname = "@ydtb/late"\nversion = "1.0.0"\n')
        r = w.round()
        expect([f["path"] for f in r["files"]] == ["tomls/late.toml"], r["files"])
        expect([(x["code"], x["line"]) for x in r["diagnostics"] if x["severity"] == "error"] == [("DBR001", line)],
               r["diagnostics"])
        expect({(c["what"], c["change"], c["name"]) for c in r["changes"]} == {("package", "added", "@ydtb/late")},
               r["changes"])
        expect(not r["ok"] and r["steps"] == [] and (sqlite_tables(db), sqlite_history(db)) == before, r)
        # Fixed: only what changed since the last good load, and applied.
        write(path, memo_state(2))
        r = w.round()
        expect(r["ok"] and r["status"] == "applied" and r["applied"] == 1, r)
        expect(sorted((c["what"], c["change"], c["name"]) for c in r["changes"]) ==
               [("migration", "added", "0002_tags"), ("table", "added", "ydtb_memo_tags")], r["changes"])
        expect([s["migration"] for s in r["steps"] if s["applied"]] == ["0002_tags"], r["steps"])
        expect("ydtb_memo_tags" in sqlite_tables(db) and sqlite_history(db)[:len(before[1])] == before[1],
               sqlite_history(db))
        con = sqlite3.connect(db, timeout=10)
        expect(con.execute("select title from ydtb_memo_items").fetchall() == [("kept",)], "rows lost")
        con.close()
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()
    # --allow DBR001 makes the finding a warning, not the stand-in a package
    # to plan from: still nothing planned, nothing removed.
    w = Watch(d, ["--allow", "DBR001"])
    try:
        r = w.round(timeout=60)
        expect(r["ok"] and r["status"] == "up to date", r)
        before = (sqlite_tables(db), sqlite_history(db))
        write(path, broken)
        r = w.round()
        expect(any(x["code"] == "DBR105" and "DBR001" in x["message"] for x in r["diagnostics"]), r["diagnostics"])
        expect(not r["ok"] and r["exit_code"] == 1 and r["steps"] == [] and r["changes"] == [] and
               "1 manifest does not load" in r["error"]["message"], r)
        expect((sqlite_tables(db), sqlite_history(db)) == before, "the target changed")
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()


LATE = """[package]
name = "@ydtb/late"
version = "1.0.0"
description = "a package in a folder dbreg.toml lists later"

[tables.ydtb_late_items]
description = "an item"
workspace_scoped = true

[tables.ydtb_late_items.columns]
id = { type = "text", primary_key = true }
%s
[[migrations]]
id = "0001_items"
version = "1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS ydtb_late_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ydtb_late_items_workspace_id_idx ON ydtb_late_items (workspace_id);
\"\"\"
down = "DROP TABLE IF EXISTS ydtb_late_items;"
%s"""

LATE_0002 = """
[[migrations]]
id = "0002_note"
version = "1.0.0"
up_postgres = "ALTER TABLE ydtb_late_items ADD COLUMN IF NOT EXISTS note text;"
up_sqlite = "ALTER TABLE ydtb_late_items ADD COLUMN note text;"
down_postgres = "ALTER TABLE ydtb_late_items DROP COLUMN IF EXISTS note;"
down_sqlite = "ALTER TABLE ydtb_late_items DROP COLUMN note;"
"""


def late(step):
    return LATE % ("", "") if step == 1 else LATE % ('note = { type = "text" }\n', LATE_0002)


@case
def watch_reads_a_package_folder_made_after_dbreg_toml_listed_it_and_one_made_again():
    # Listed first and made after (the usual order), or removed and made
    # again (a branch switched and back): the folder was never watched, so
    # its manifest and every later edit in it made no round (the audit).
    d = project({"tomls/memo.toml": memo_state(1)})
    db = os.path.join(d, "ydtb.db")
    write(os.path.join(d, "dbreg.toml"), '[registry]\npackages = ["tomls", "more"]\n')
    w = Watch(d)
    try:
        r = w.round(timeout=60)   # more/ is not there: said, the loop goes on
        os.mkdir(os.path.join(d, "more"))
        write(os.path.join(d, "more", "late.toml"), late(1))
        r = w.round()
        expect(r["ok"] and any(p == "@ydtb/late" for p, _, _ in sqlite_history(db)), r)
        write(os.path.join(d, "more", "late.toml"), late(2))
        r = w.round()
        expect(r["ok"] and r["applied"] == 1, r)
        # Removed and made again: read (the round says so, though nothing
        # changed) and watched again.
        shutil.rmtree(os.path.join(d, "more"))
        r = w.round()
        expect(not r["ok"] and "cannot read the package folder" in r["error"]["message"], r)
        os.mkdir(os.path.join(d, "more"))
        write(os.path.join(d, "more", "late.toml"), late(2))
        r = w.round()
        expect(r["ok"] and r["changes"] == [], r)
        write(os.path.join(d, "more", "late.toml"), late(2) + "\n# an edit\n")
        r = w.round()
        expect(r["ok"] and [f["path"] for f in r["files"]] == ["more/late.toml"], r)
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()


@case
def watch_reads_a_package_folder_made_deeper_down_and_one_made_again_with_its_parents():
    # Only a folder made directly in the project folder was awaited: one
    # listed as pkgs/sub/more, made after (one folder at a time, or all at
    # once), or removed with its parents and made again (a branch switched),
    # was never watched, and its manifests made no round.
    d = project({"tomls/memo.toml": memo_state(1)})
    db = os.path.join(d, "ydtb.db")
    write(os.path.join(d, "dbreg.toml"), '[registry]\npackages = ["tomls", "pkgs/sub/more"]\n')
    more = os.path.join(d, "pkgs", "sub", "more")
    w = Watch(d)
    try:
        r = w.round(timeout=60)   # pkgs/sub/more is not there: said, the loop goes on
        expect(not r["ok"] and "cannot reload" in r["error"]["message"], r)
        for part in ["pkgs", "pkgs/sub", "pkgs/sub/more"]:   # one at a time, each watched before the next
            os.mkdir(os.path.join(d, part))
            time.sleep(0.3)
        write(os.path.join(more, "late.toml"), late(1))
        r = w.round()
        expect(r["ok"] and any(p == "@ydtb/late" for p, _, _ in sqlite_history(db)), r)
        write(os.path.join(more, "late.toml"), late(2))
        r = w.round()
        expect(r["ok"] and r["applied"] == 1 and [f["path"] for f in r["files"]] == ["pkgs/sub/more/late.toml"], r)
        # Removed with its parents, and made again at once (mkdir -p runs
        # ahead of the watches), its manifest written at once too.
        for again in range(2):
            shutil.rmtree(os.path.join(d, "pkgs"))
            r = w.round()
            expect(not r["ok"] and "cannot read the package folder" in r["error"]["message"], r)
            write(os.path.join(more, "late.toml"), late(2))
            r = w.round()
            expect(r["ok"] and r["changes"] == [], r)
            write(os.path.join(more, "late.toml"), late(2) + "\n# edit %d\n" % again)
            r = w.round()
            expect(r["ok"] and [f["path"] for f in r["files"]] == ["pkgs/sub/more/late.toml"], r)
        # Moved in whole, made elsewhere.
        shutil.rmtree(os.path.join(d, "pkgs"))
        r = w.round()
        expect(not r["ok"], r)
        staging = os.path.join(d, "staging")
        write(os.path.join(staging, "sub", "more", "late.toml"), late(2))
        os.rename(staging, os.path.join(d, "pkgs"))
        r = w.round()
        expect(r["ok"] and r["changes"] == [], r)
        write(os.path.join(more, "late.toml"), late(2) + "\n# moved in\n")
        r = w.round()
        expect(r["ok"] and [f["path"] for f in r["files"]] == ["pkgs/sub/more/late.toml"], r)
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()


@case
def watch_follows_dbreg_toml_its_package_folders_and_its_target():
    # dbreg.toml was read once, at start: a package folder added to
    # [registry] packages while watch ran was neither loaded nor watched,
    # and dev = false said later still let watch apply. Now a change of its
    # content is a round with the new project: the folder's package
    # applied, its later edits picked up; dev = false stops the applying
    # and dev = true resumes it; a target naming another database is said
    # in every round, and nothing is applied until it names this one again.
    d = project({"tomls/memo.toml": memo_state(1), "more/late.toml": late(1)})
    db = os.path.join(d, "ydtb.db")
    toml = os.path.join(d, "dbreg.toml")
    w = Watch(d)
    try:
        r = w.round(timeout=60)
        expect(r["ok"] and r["status"] == "applied", r)
        expect(not any(p == "@ydtb/late" for p, _, _ in sqlite_history(db)), "late applied before it was listed")
        registry = '[registry]\npackages = ["tomls", "more"]\n'
        write(toml, registry)
        r = w.round()
        expect(r["ok"] and r["status"] == "applied" and r["applied"] == 1, r)
        expect({(f["change"], f["path"]) for f in r["files"]} == {("changed", "dbreg.toml"),
                                                                   ("added", "more/late.toml")}, r["files"])
        expect(("added", "@ydtb/late") in changes_of(r, "package"), r["changes"])
        expect(("@ydtb/late", "0001_items") in [(p, m) for p, m, _ in sqlite_history(db)], sqlite_history(db))
        # An edit inside the new folder: only that file, and applied.
        write(os.path.join(d, "more", "late.toml"), late(2))
        r = w.round()
        expect(r["ok"] and [f["path"] for f in r["files"]] == ["more/late.toml"], r)
        expect([s["migration"] for s in r["steps"] if s["applied"]] == ["0002_note"], r["steps"])
        # The same content saved again: no round; the next one is the next change's.
        write(toml, registry)
        time.sleep(0.5)
        # dev = false for the same database: nothing applied from then on.
        target = '[targets.dev]\nurl = "sqlite:ydtb.db"\ndev = %s\n'
        write(toml, registry + target % "false")
        r = w.round()
        expect(r["apply"] is False and r["ok"] and r["status"] == "up to date", r)
        expect([f["path"] for f in r["files"]] == ["dbreg.toml"] and r["changes"] == [], r)
        before = (sqlite_tables(db), sqlite_history(db))
        write(os.path.join(d, "tomls", "memo.toml"), memo_state(2))
        r = w.round()
        expect(r["apply"] is False and r["status"] == "pending" and [s["migration"] for s in r["steps"]] ==
               ["0002_tags"] and not any(s["applied"] for s in r["steps"]), r)
        expect((sqlite_tables(db), sqlite_history(db)) == before, "applied to a target marked dev = false")
        write(toml, registry + target % "true")
        r = w.round()
        expect(r["apply"] is True and r["status"] == "applied" and r["applied"] == 1, r)
        # Another database for the target: said, each round, nothing applied.
        before = (sqlite_tables(db), sqlite_history(db))
        write(toml, registry + '[targets.dev]\nurl = "sqlite:other.db"\n')
        r = w.round()
        expect(not r["ok"] and r["exit_code"] == 2 and r["status"] == "not applied" and r["target"] == "sqlite:ydtb.db"
               and "now names another database" in r["error"]["message"] and "sqlite:other.db" in
               r["error"]["message"] and "start dbreg watch anew" in r["error"]["message"], r)
        write(os.path.join(d, "tomls", "memo.toml"), memo_state(3))
        r = w.round()
        expect(not r["ok"] and r["exit_code"] == 2 and "another database" in r["error"]["message"], r)
        expect((sqlite_tables(db), sqlite_history(db)) == before, "the target changed")
        expect(not os.path.exists(os.path.join(d, "other.db")), "the other database was made")
        # Named again, in another spelling of the same file (the state
        # file's key is the same): the round applies what waited.
        write(toml, registry + '[targets.dev]\nurl = "sqlite:./ydtb.db"\n')
        r = w.round()
        expect(r["ok"] and [s["migration"] for s in r["steps"] if s["applied"]] == ["0003_note"], r)
        write(toml, registry + '[targets.dev]\nurl = "sqlite:%s"\n' % db)
        write(os.path.join(d, "tomls", "memo.toml"), memo_state(3) + "\n# again\n")
        r = w.round()
        expect(r["ok"] and r["exit_code"] == 0, r)
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()


@case
def watch_keeps_the_files_of_a_package_folder_spelled_another_way():
    # packages = ["tomls"] saved as ["./tomls"] or ["tomls/"] names the same
    # files: their names were the spelling's ("./tomls/memo.toml",
    # "tomls//memo.toml"), so the round listed every manifest as removed and
    # added, and findings moved to the new names. Now the folder is spelled
    # plainly when dbreg.toml is read: only dbreg.toml changed.
    d = project({"tomls/memo.toml": memo_state(1)})
    toml = os.path.join(d, "dbreg.toml")
    write(toml, '[registry]\npackages = ["tomls"]\n')
    w = Watch(d)
    try:
        r = w.round(timeout=60)
        expect(r["ok"], r)
        for spelling in ["./tomls", "tomls/", ".//tomls/./", "tomls"]:
            write(toml, '[registry]\npackages = ["%s"]\n' % spelling)
            r = w.round()
            expect(r["ok"] and r["files"] == [{"change": "changed", "path": "dbreg.toml"}] and r["changes"] == [],
                   (spelling, r["files"], r["changes"]))
        write(os.path.join(d, "tomls", "memo.toml"), memo_state(2))
        r = w.round()
        expect(r["ok"] and r["files"] == [{"change": "changed", "path": "tomls/memo.toml"}], r["files"])
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()


def offline_history(d, state=None):
    """The migrations of the state file's copy of the target's history."""
    rc, out, err = run(["history", "--offline", "--json"] + (["--state", state] if state else []), d)
    expect(rc == 0, "%d %s %s" % (rc, out, err))
    return [m["migration"] for m in json.loads(out)["migrations"]]


@case
def watch_records_its_rounds_in_the_state_file_dbreg_toml_names_now():
    # [registry] state was read once, at start: after dbreg.toml named
    # another state file, watch went on recording in the old one, and an
    # offline plan or history with the new one knew nothing of what it
    # applied. Now the round that reads it says so once (stderr; the NDJSON
    # line's "state"), the new file gets the target's history copy at once,
    # and each later round records there; another spelling of the same
    # file changes nothing.
    d = project({"tomls/memo.toml": memo_state(1)})
    toml = os.path.join(d, "dbreg.toml")
    w = Watch(d)
    try:
        r = w.round(timeout=60)
        expect(r["ok"] and r["status"] == "applied", r)
        write(toml, '[registry]\nstate = "other/state.db"\n')
        r = w.round()
        expect(r["ok"] and r["files"] == [{"change": "changed", "path": "dbreg.toml"}], r)
        expect("0001_items" in offline_history(d), "the new state file has no copy of the history")
        write(os.path.join(d, "tomls", "memo.toml"), memo_state(2))
        r = w.round()
        expect(r["ok"] and r["applied"] == 1, r)
        expect("0002_tags" in offline_history(d), offline_history(d))
        expect("0002_tags" not in offline_history(d, ".dbreg/state.db"), "recorded in the old state file")
        rc, out, err = run(["plan", "--json"], d)   # offline, with the new file
        expect(rc == 0 and json.loads(out)["steps"] == [], "%d %s %s" % (rc, out, err))
        expect(r["state"] == "other/state.db", r)
        # Another spelling of the same file: nothing said, nothing moved.
        write(toml, '[registry]\nstate = "%s"\n' % os.path.join(d, "other", ".", "state.db"))
        r = w.round()
        expect(r["ok"] and r["state"] == "other/state.db", r)
        # One that is no state file: said, and the rounds stay where they were.
        with open(os.path.join(d, "notes.txt"), "w") as fp:
            fp.write("not a database\n" * 100)
        write(toml, '[registry]\nstate = "notes.txt"\n')
        r = w.round()
        expect(r["ok"] and r["state"] == "other/state.db", r)
        expect(open(os.path.join(d, "notes.txt")).read() == "not a database\n" * 100, "notes.txt was written")
        err_has(w, lambda x: "notes.txt" in x and "state file" in x)
        said = [x for x in w.err if "state file" in x]
        expect(len(said) == 2 and "names another state file: rounds are recorded in other/state.db" in said[0] and
               ".dbreg/state.db" in said[0] and "notes.txt" in said[1] and "still recorded in other/state.db" in said[1],
               w.err)
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()


@case
def watch_reports_a_dbreg_toml_with_errors_and_goes_on_with_the_last_good_one():
    # A dbreg.toml saved half way (an array not closed): the round is its
    # DBR001 at line and column with the hint, in the NDJSON document and
    # on stderr; nothing applied; the loop goes on with the last good
    # project (a manifest edit meanwhile is applied as ever); fixed, the
    # round reads it and goes on.
    d = project({"tomls/memo.toml": memo_state(1), "more/late.toml": late(1)})
    db = os.path.join(d, "ydtb.db")
    toml = os.path.join(d, "dbreg.toml")
    good = '[registry]\npackages = ["tomls", "more"]\n'
    broken = '[registry]\npackages = ["tomls", "more"\n'
    w = Watch(d)
    try:
        r = w.round(timeout=60)
        expect(r["ok"], r)
        before = (sqlite_tables(db), sqlite_history(db))
        write(toml, broken)
        r = w.round()
        expect(not r["ok"] and r["exit_code"] == 1 and r["status"] == "not applied" and r["steps"] == [] and
               r["target"] == "sqlite:ydtb.db" and set(r["error"]) == ERROR_KEYS and
               "dbreg.toml has 1 error" in r["error"]["message"], r)
        diags = [(x["code"], x["severity"], x["file"], x["line"], x["column"]) for x in r["diagnostics"]]
        expect(diags == [("DBR001", "error", "dbreg.toml", 3, 1)] and r["diagnostics"][0]["hint"], r["diagnostics"])
        expect([(f["change"], f["path"]) for f in r["files"]] == [("changed", "dbreg.toml")] and r["changes"] == [], r)
        expect((sqlite_tables(db), sqlite_history(db)) == before, "the target changed")
        # Saved again as broken: no round. A manifest edit: a round that
        # says dbreg.toml's error again (it was forgotten: a green round)
        # and applies nothing until it parses (the edit being typed there
        # may be dev = false).
        write(toml, broken)
        write(os.path.join(d, "tomls", "memo.toml"), memo_state(2))
        r = w.round()
        expect(not r["ok"] and r["exit_code"] == 1 and [f["path"] for f in r["files"]] == ["tomls/memo.toml"]
               and "dbreg.toml has 1 error" in r["error"]["message"]
               and [x["code"] for x in r["diagnostics"]] == ["DBR001"], r)
        expect((sqlite_tables(db), sqlite_history(db)) == before, "applied while dbreg.toml was broken")
        # Fixed: read, the manifest's edit and its folder's package applied.
        write(toml, good)
        r = w.round()
        expect(r["ok"] and r["exit_code"] == 0 and r["error"] is None and r["applied"] == 2, r)
        expect(("added", "@ydtb/late") in changes_of(r, "package"), r["changes"])
        expect(w.stop() == 0, "".join(w.err)[-2000:])
    finally:
        w.kill()
    # The same in words: the error where an editor opens it, and the round's verdict.
    p = HumanWatch(d)
    try:
        p.line_like(r"watching 3 packages")
        write(toml, broken)
        p.line_like(r"#2: dbreg\.toml changed")
        p.line_like(r"^  not applied: dbreg\.toml has 1 error \(its last good content stays in use; nothing is "
                  r"applied until it parses\); the database is unchanged$")
        expect(p.err_has(lambda x: x.startswith("dbreg.toml:3:1: error[DBR001]: invalid TOML") and "(hint: " in x),
               "".join(p.err))
        write(toml, good)
        p.line_like(r"#3: dbreg\.toml changed")
        expect(p.stop() == 0, "exit after SIGINT")
    finally:
        p.kill()


@case
def watch_json_that_fails_before_its_first_round_is_one_line_too():
    # cli.md: watch --json is NDJSON, one document a line. A watch that never
    # got to a round (a usage error, a target it cannot reach, a dbreg.toml
    # with errors) printed its one failure document over several lines.
    d = project({"tomls/memo.toml": memo_state(1)})
    for args, code in ((["--bogus"], 2), (["--target", "postgres://u:pw@127.0.0.1:1/x"], 3), ([], 1)):
        if code == 1:
            with open(os.path.join(d, "dbreg.toml"), "w") as fp:
                fp.write("[targetz]\n")
        rc, out, err = run(["watch", "--json"] + args, d)
        lines = out.splitlines()
        expect(rc == code and len(lines) == 1, "%s: exit %d, %d lines: %r" % (args, rc, len(lines), out))
        doc = json.loads(lines[0])
        expect(doc["ok"] is False and doc["exit_code"] == code and set(doc["error"]) == ERROR_KEYS, doc)
        expect(code != 1 or [x["code"] for x in doc["diagnostics"]] == ["DBR013"], doc)


@case
def watch_follows_an_editor_on_postgres_marked_dev():
    url, drop = pg_database()
    try:
        d = project({"tomls/memo.toml": memo_state(1),
                     "dbreg.toml": '[targets.dev]\nurl = "%s"\ndev = true\n' % url})

        def add():
            psql(url, "insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w'); "
                      "insert into ydtb_memo_items (id, workspace_id, title) values ('m1', 'w1', 'kept')")

        watch_scenario(d, lambda t: sorted(psql(url, "select column_name from information_schema.columns "
                                                     "where table_name = '%s'" % t).split()),
                       lambda: sorted(psql(url, "select tablename from pg_tables where schemaname = 'public'").split()),
                       lambda: psql(url, "select id, title from ydtb_memo_items order by id"), add)
        # The session ended: no connection of dbreg's is left on the database.
        left = psql(url, "select count(*) from pg_stat_activity where datname = current_database() "
                         "and pid <> pg_backend_pid()")
        expect(left == "0", "connections left: " + left)
    finally:
        drop()


SLOW_POSTGRES = """
[[migrations]]
id = "0100_slow"
version = "1.0.0"
up_postgres = "UPDATE ydtb_workspaces SET name = 'changed' WHERE id = 'w1'; SELECT pg_sleep(30);"
up_sqlite = "SELECT 1;"
down = "SELECT 1;"
"""


@case
def watch_interrupted_while_a_postgres_round_applies_says_so():
    # The cancel rolls the round back; its NDJSON line read as a failed
    # migration ("canceling statement due to user request", exit_code 4),
    # where an interrupted apply says interrupted (130; the audit).
    url, drop = pg_database()
    try:
        d = project({"tomls/memo.toml": memo_state(1),
                     "dbreg.toml": '[targets.dev]\nurl = "%s"\ndev = true\n' % url})
        w = Watch(d)
        try:
            first = w.round(timeout=60)
            expect(first["ok"] and first["status"] == "applied", first)
            psql(url, "insert into ydtb_workspaces (id, name, slug) values ('w1', 'kept', 'w1')")
            write(os.path.join(d, "tomls", "memo.toml"), memo_state(1) + SLOW_POSTGRES)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and psql(url, "select count(*) from pg_stat_activity where "
                                                           "query like '%pg_sleep(30)%' and pid <> pg_backend_pid()") != "1":
                time.sleep(0.05)
            w.proc.send_signal(signal.SIGINT)
            r = w.round()
            expect(not r["ok"] and r["status"] == "interrupted" and r["exit_code"] == 130
                   and r["error"]["message"].startswith("interrupted while the round applied"), r)
            expect(w.proc.wait(timeout=30) == 0, "watch after SIGINT: exit %s" % w.proc.poll())
        finally:
            w.kill()
        expect(psql(url, "select name from ydtb_workspaces where id = 'w1'") == "kept", "the round committed")
    finally:
        drop()


class Gate:
    """A TCP proxy to the test server that can go down (refusing
    connections and cutting the ones it carries) and come back on its port."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.upstream = (u.hostname, u.port)
        self.sockets = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = url.replace(u.netloc, u.netloc.rsplit("@", 1)[0] + "@127.0.0.1:%d" % self.port, 1)
        self.up()

    def up(self):
        if self.listener is None:
            self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self):
        self.listener.shutdown(socket.SHUT_RDWR)   # wakes the accept (close alone would not)
        self.listener.close()
        self.listener = None
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets = []

    def _accept(self, listener):
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            u = socket.create_connection(self.upstream)
            self.sockets += [c, u]
            clitest.splice(c, u)


@case
def watch_connects_again_when_the_server_ended_its_session():
    # A server restart, idle_session_timeout or a DBA's pg_terminate_backend
    # ends the session watch holds; the next round connects again and goes
    # on, and nothing already there is lost. A server still down fails the
    # round (exit code 3) and the round after it connects.
    url, drop = pg_database()
    try:
        gate = Gate(url)
        d = project({"tomls/memo.toml": memo_state(1),
                     "dbreg.toml": '[targets.dev]\nurl = "%s"\ndev = true\n' % gate.url})
        db = url.rsplit("/", 1)[1].split("?", 1)[0]
        kick = ("select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '%s' "
                "and application_name = 'dbreg'" % db)
        w = Watch(d)
        try:
            r = w.round(timeout=60)
            expect(r["ok"] and r["applied"] > 0, r)
            psql(url, "insert into ydtb_workspaces (id, name, slug) values ('w1', 'W', 'w'); "
                      "insert into ydtb_memo_items (id, workspace_id, title) values ('m1', 'w1', 'kept')")
            expect(psql(url, kick) == "1", "no session of watch's to end")
            write(os.path.join(d, "tomls", "memo.toml"), memo_state(2))
            r = w.round()
            expect(r["ok"] and r["status"] == "applied" and r["applied"] == 1, "after the kill: %s" % r)
            gate.down()
            write(os.path.join(d, "tomls", "memo.toml"), memo_state(3))
            r = w.round()
            expect(not r["ok"] and r["exit_code"] == 3 and r["applied"] == 0 and
                   r["error"]["message"].startswith("cannot connect to postgresql://") and
                   " again: " in r["error"]["message"], "server down: %s" % r)
            gate.up()
            write(os.path.join(d, "tomls", "memo.toml"), memo_state(3) + "\n# saved again\n")
            r = w.round()
            expect(r["ok"] and r["status"] == "applied" and r["applied"] == 1, "server back: %s" % r)
            expect(w.stop() == 0, "exit")
        finally:
            w.kill()
        expect(psql(url, "select id, title, note from ydtb_memo_items") == "m1|kept|", "data")
        expect(psql(url, "select count(*) from ydtb_registry_migrations where package = '@ydtb/memo'") == "3",
               "history")
    finally:
        drop()


@case
def watch_follows_an_edit_in_a_linked_package_folder():
    # The folders the registry reads are the folders watch watches: a
    # package folder linked in (a monorepo's) is both.
    d = project({"tomls/memo.toml": memo_state(1)})
    ext = os.path.join(d, "ext")
    os.mkdir(ext)
    shutil.move(os.path.join(d, "tomls", "memo.toml"), os.path.join(ext, "memo.toml"))
    os.symlink(ext, os.path.join(d, "tomls", "linked"))
    w = Watch(d)
    try:
        r = w.round(timeout=60)
        expect(r["ok"] and r["applied"] > 0, r)
        write(os.path.join(ext, "memo.toml"), memo_state(2))
        r = w.round()
        expect(r["ok"] and r["applied"] == 1 and ("added", "ydtb_memo_tags") in changes_of(r, "table"), r)
        # A folder linked in while watch runs brings its package, and is
        # watched from then on.
        ext2 = os.path.join(d, "ext2")
        os.mkdir(ext2)
        write(os.path.join(ext2, "late.toml"), '[package]\nname = "@ydtb/late"\nversion = "1.0.0"\n')
        os.symlink(ext2, os.path.join(d, "tomls", "linked2"))
        r = w.round()
        expect(r["ok"] and ("added", "@ydtb/late") in changes_of(r, "package"), r)
        write(os.path.join(ext2, "late.toml"), '[package]\nname = "@ydtb/late"\nversion = "1.0.0"\n'
                                              'description = "seen"\n')
        r = w.round()
        expect(r["ok"] and [f["path"] for f in r["files"]] == ["tomls/linked2/late.toml"], r)
        expect(w.stop() == 0, "exit")
    finally:
        w.kill()


@case
def watch_on_postgres_without_dev_applies_nothing():
    url, drop = pg_database()
    try:
        d = project({"tomls/memo.toml": memo_state(1), "dbreg.toml": '[targets.dev]\nurl = "%s"\n' % url})
        rc, out, err = run(["watch", "--allow", "DBR043"], d, timeout=30)
        expect(rc == 2 and "development targets only" in err, "%d %s" % (rc, err))
        rc, out, err = run(["watch", "--json", "--allow", "DBR043"], d, timeout=30)
        doc = json.loads(out)
        expect(rc == 2 and doc["ok"] is False and doc["exit_code"] == 2 and
               "development targets only" in doc["error"]["message"], "%d %s %s" % (rc, out, err))
        w = Watch(d)
        try:
            r = w.round(timeout=60)
            expect(r["ok"] and r["apply"] is False and r["status"] == "pending", r)
            expect(len(r["steps"]) > 0 and not any(s["applied"] for s in r["steps"]), r)
            expect(w.stop() == 0, "exit")
        finally:
            w.kill()
        expect(psql(url, "select count(*) from pg_tables where schemaname = 'public'") == "0", "tables created")
    finally:
        drop()



@case
def verbose_validate_and_watch_say_what_was_checked_and_why():
    d = project({"tomls/memo.toml": memo_state(1)})
    rc, out, err = run(["validate", "-v"], d)
    expect(rc == 0, err)
    expect(re.search(r"^  validate: 2 manifests read in [0-9.]+ ms$", err, re.M), err)
    expect(re.search(r"^  validate: SQL checks of all 2 packages \(a full validation\) in [0-9.]+ ms$", err, re.M), err)
    # watch -v in human form: the report on stdout, what was re-checked on stderr.
    p = HumanWatch(d, ["-v", "--no-apply"])
    try:
        p.line_like(r"watching 2 packages, target sqlite:.*ydtb\.db \(--no-apply\)")
        write(os.path.join(d, "tomls", "memo.toml"), memo_state(2))
        p.line_like(r"#2: tomls/memo\.toml changed \(\d+ ms\)")
        p.line_like(r"^  \+ table ydtb_memo_tags \(@ydtb/memo\)$")
        p.line_like(r"^  pending up @ydtb/memo 0002_tags$")
        p.err_has(lambda x: "round 2:" in x)
        log = "".join(p.err)
        expect("reload: read tomls/memo.toml (its manifest changed)" in log, log)
        expect("reload: checking the SQL of @ydtb/memo: its manifest changed" in log, log)
        expect(re.search(r"reload: 1 of 2 manifests read in [0-9.]+ ms; graph and rules over 2 packages in [0-9.]+ ms; "
                         r"SQL checks of 1 package in [0-9.]+ ms", log), log)
        expect(re.search(r"round 2: reload [0-9.]+ ms \(1 read, 1 re-checked\)", log), log)
        expect(p.stop() == 0, "exit after SIGINT")
    finally:
        p.kill()
    expect(not os.path.exists(os.path.join(d, "ydtb.db")) or "ydtb_memo_tags" not in sqlite_tables(os.path.join(d, "ydtb.db")),
           "--no-apply applied")


if __name__ == "__main__":
    sys.exit(main(timed=True, only=sys.argv[3:]))
