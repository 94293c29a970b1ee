#!/usr/bin/env python3
"""The state file (core/src/state.c) is checked, not trusted: a file that is
not one (garbage, truncated, another program's SQLite database, a newer
dbreg's, one missing a table, one with a damaged page) is refused by every
command that opens it with one error and a hint, and left byte for byte as
it was; a run whose record the state file refuses after the target
committed fails, saying that the target WAS changed, and the mark it left
makes the next offline plan and status warn until --refresh.

usage: test_statefile.py DBREG TOMLS_DIR [CASE...]
Real SQLite state files and targets, and the PostgreSQL test server
(DBREG_TEST_PG_URL). Prints TAP."""
import fcntl
import hashlib
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
from clitest import case, expect, main, project, run, run_json  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "statefile", timeout=120)

# A package of the test's own, whose second migration changes every row of
# a table that holds rows, on both dialects.
ZSTATE = """[package]
name = "@ydtb/zstate"
version = "1.0.0"
description = "A package whose migrations change the rows of notes"

[dependencies]
"@ydtb/core" = "^1.0.0"
"@ydtb/basic" = "^1.0.0"

[[migrations]]
id = "001_zstate"
version = "1.0.0"
up_postgres = "UPDATE ydtb_basic_notes SET body = 'one';"
up_sqlite = "UPDATE ydtb_basic_notes SET body = 'one';"
"""
SECOND = """
[[migrations]]
id = "002_zstate"
version = "1.0.0"
up_postgres = "UPDATE ydtb_basic_notes SET body = 'two';"
up_sqlite = "UPDATE ydtb_basic_notes SET body = 'two';"
"""
ROWS = ("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'One', 'one');"
        "INSERT INTO ydtb_basic_notes (id, workspace_id, title) VALUES ('n1', 'w1', 'a'), ('n2', 'w1', 'b'),"
        " ('n3', 'w1', 'c');")
PG_LOCK_KEY = 4783381683765084015   # the registry's advisory lock (drivers/postgres)
# Every command that opens the state file, with its arguments.
COMMANDS = [["plan"], ["plan", "--refresh"], ["status"], ["history"], ["verify"], ["apply"], ["init"],
            ["validate"], ["down", "@ydtb/zstate", "--to", "0.0.0"], ["baseline", "@ydtb/zstate@1.0.0"],
            ["accept", "@ydtb/zstate", "001_zstate"], ["reset"]]


def shown(url):
    """url as dbreg shows it: its password redacted."""
    return re.sub(r":[^:@/]*@", ":***@", url)


def sha(path):
    with open(path, "rb") as fp:
        return hashlib.sha256(fp.read()).hexdigest()


class Project:
    """A project with zstate, applied to target (a SQLite file t.db unless
    a URL is given), with three notes; its state file at .dbreg/state.db."""

    def __init__(self, target=None, psql=None):
        self.d = project({"tomls/zstate.toml": ZSTATE})
        self.state = os.path.join(self.d, ".dbreg", "state.db")
        self.db = os.path.join(self.d, "t.db")
        self.target = target or "sqlite:t.db"
        self.psql = psql
        rc, out, err = self.run(["apply"])
        expect(rc == 0, "the first apply failed: %s%s" % (out, err))
        self.sql(ROWS)
        rc, out, err = self.run(["apply"])   # its first migration on the rows
        expect(rc == 0, (out, err))

    def run(self, args, state=None, json=False, **kw):
        args = args + ["--target", self.target] if "validate" not in args else list(args)
        if state:
            args += ["--state", state]
        return (run_json if json else run)(args, self.d, **kw)

    def sql(self, text):
        if self.psql:
            return self.psql(text)
        c = sqlite3.connect(self.db)
        c.executescript(text)
        c.close()

    def query(self, text):
        if self.psql:
            return self.psql(text).strip()
        c = sqlite3.connect(self.db)
        rows = c.execute(text).fetchall()
        c.close()
        return "|".join(str(v) for r in rows for v in r)

    def add_second(self):
        with open(os.path.join(self.d, "tomls", "zstate.toml"), "a") as fp:
            fp.write(SECOND)
        # Validated now, so that the run below writes nothing to the state
        # file after its mark but the record of what it ran.
        rc, out, err = self.run(["plan"])
        expect(rc == 0 and "002_zstate" in out, (out, err))

    def marks(self):
        """The rows of runs_open, or None when the state file has no such table."""
        c = sqlite3.connect("file:%s?mode=ro" % self.state, uri=True, timeout=10)
        try:
            return c.execute("SELECT target, command FROM runs_open").fetchall()
        except sqlite3.OperationalError:
            return None
        finally:
            c.close()

    def wait_for_mark(self, p, what):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.marks():
                return
            if p.poll() is not None:
                raise AssertionError("%s ended before it marked its run: %r" % (what, p.communicate()))
            time.sleep(0.02)
        p.kill()
        raise AssertionError("%s never marked its run in the state file: %r" % (what, p.communicate()))


# ---- 1. a file that is not a state file -------------------------------------------

def bad_files(p):
    """{name: (path, words its refusal must say)}, each made from p's state file or from scratch."""
    d = os.path.join(p.d, "bad")
    os.makedirs(d)
    out = {}

    def path(name):
        return os.path.join(d, name)

    with open(path("garbage.db"), "wb") as fp:
        fp.write(bytes((i * 37 + 11) % 256 for i in range(8192)))
    out["garbage"] = (path("garbage.db"), "not a SQLite database")
    with open(path("text.db"), "w") as fp:
        fp.write("state = nothing\n")
    out["text"] = (path("text.db"), "not a SQLite database")
    shutil.copy(p.state, path("truncated.db"))
    os.truncate(path("truncated.db"), os.path.getsize(p.state) // 2)
    out["truncated"] = (path("truncated.db"), "truncated")
    c = sqlite3.connect(path("foreign.db"))
    c.executescript("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                    "INSERT INTO customers (name) VALUES ('ann'), ('bob');")
    c.close()
    out["foreign"] = (path("foreign.db"), "without dbreg's schema (schema version 0; tables customers)")
    c = sqlite3.connect(path("other-app.db"))
    c.executescript("PRAGMA application_id = 42; PRAGMA user_version = 3; CREATE TABLE packages (x);")
    c.close()
    out["other-app"] = (path("other-app.db"), "another program's SQLite database (application_id 0x0000002a")
    shutil.copy(p.state, path("newer.db"))
    c = sqlite3.connect(path("newer.db"))
    c.execute("PRAGMA user_version = 99")
    c.close()
    out["newer"] = (path("newer.db"), "written by a newer dbreg (schema version 99")
    shutil.copy(p.state, path("missing.db"))
    c = sqlite3.connect(path("missing.db"))
    c.execute("DROP TABLE history")
    c.close()
    out["missing"] = (path("missing.db"), "has no table history")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o600)
    return out


def expect_refused(rc, doc, err, path, says, what):
    e = doc.get("error") or {}
    msg, hint = e.get("message") or "", e.get("hint") or ""
    expect(rc == 1 and doc.get("ok") is False and doc.get("exit_code") == 1,
           "%s: exit %d, want 1 with ok=false: %s\n%s" % (what, rc, doc, err))
    # Left as it is by the open's checks; a damage found by a later read,
    # after the run may have written other pages, stops its use.
    done = "dbreg stopped using it" if "while the state file was asked" in msg else "left as it is"
    expect(("state file %s is not usable: " % path) in msg and says in msg and done in msg,
           "%s: the error does not name the file and what is wrong (%r): %r" % (what, says, msg))
    if "written by a newer dbreg" in msg:
        expect(hint.startswith("run a dbreg of that version or newer") and "mv " not in hint, (what, hint))
    else:
        expect("mv %s" % path in hint and "plan --refresh" in hint and "history tables are the truth" in hint,
               "%s: no hint to move it aside and --refresh: %r" % (what, hint))
    expect(("  hint: %s\n" % hint) in err and err.count("is not usable") == 1,
           "%s: standard error does not say it once, with the hint:\n%s" % (what, err))


@case
def every_command_refuses_a_file_that_is_not_a_state_file_and_leaves_it_as_it_is():
    p = Project()
    before_rows = p.query("SELECT count(*) FROM ydtb_basic_notes")
    before_hist = p.query("SELECT count(*) FROM ydtb_registry_migrations")
    before_target = sha(p.db)
    for name, (path, says) in sorted(bad_files(p).items()):
        digest = sha(path)
        for cmd in COMMANDS:
            what = "%s on %s" % (" ".join(cmd), name)
            rc, doc, err = p.run(cmd, state=path, json=True)
            expect_refused(rc, doc, err, path, says, what)
            expect(sha(path) == digest, "%s: the file was written" % what)
            beside = [n for n in os.listdir(os.path.dirname(path)) if n.endswith(("-wal", "-shm", "-journal"))]
            expect(not beside, "%s: SQLite files were left beside it: %s" % (what, beside))
        # The human form says the same, on standard error.
        rc, out, err = p.run(["plan"], state=path)
        # A newer dbreg's file is sound: not to be moved aside.
        hint = "  hint: run a dbreg of that version or newer" if name == "newer" else "  hint: move it aside"
        expect(rc == 1 and "dbreg: state file %s is not usable: " % path in err and hint in err,
               (name, rc, out, err))
    # Through DBREG_STATE as through --state; and nothing reached the target.
    path, says = os.path.join(p.d, "bad", "foreign.db"), "without dbreg's schema"
    rc, doc, err = run_json(["apply", "--target", p.target], p.d, env={"DBREG_STATE": path})
    expect_refused(rc, doc, err, path, says, "apply with DBREG_STATE")
    expect(before_rows == "3" and p.query("SELECT count(*) FROM ydtb_basic_notes") == before_rows,
           "the rows changed")
    expect(p.query("SELECT count(*) FROM ydtb_registry_migrations") == before_hist, "the history changed")
    expect(sha(p.db) == before_target, "the target file was written")


@case
def a_device_a_fifo_or_a_folder_is_not_a_state_file():
    # /dev/null was opened as a database: "disk I/O error", and a
    # world-writable /dev/null-journal written beside it (as root, in
    # /dev); a FIFO the same; validate used it silently (the audit).
    p = Project()
    fifo = os.path.join(p.d, "fifo.db")
    os.mkfifo(fifo)
    folder = os.path.join(p.d, "folder.db")
    os.mkdir(folder)
    journal = "/dev/null-journal"
    existed = os.path.exists(journal)
    for path, says in ((os.devnull, "it is not a regular file"), (fifo, "it is not a regular file"),
                       (folder, "it is a folder, not a file")):
        for cmd in (["plan"], ["status", "--offline"], ["validate"], ["apply"]):
            rc, doc, err = p.run(cmd, state=path, json=True)
            expect_refused(rc, doc, err, path, says, "%s on %s" % (cmd[0], path))
    expect(existed or not os.path.exists(journal), "a journal was written beside /dev/null")
    expect(os.listdir(folder) == [], os.listdir(folder))


@case
def a_read_only_state_file_whose_wal_holds_commits_is_not_read_without_them():
    # Read-only, the file is read alone (immutable): commits still in its
    # WAL were missing from every offline answer, without a word (the
    # audit). Refused, saying why; as root the folder's modes do not
    # stop the write, so the read-only open is taken by its own entry.
    p = Project()
    holder = sqlite3.connect(p.state)
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute("SELECT count(*) FROM history").fetchall()   # a reader that holds off the checkpoint
    p.add_second()
    rc, out, err = p.run(["apply"])
    expect(rc == 0, (out, err))
    copy = os.path.join(p.d, "ro")
    os.makedirs(copy)
    for suffix in ("", "-wal"):
        shutil.copy(p.state + suffix, os.path.join(copy, "state.db" + suffix))
    holder.close()
    expect(os.path.getsize(os.path.join(copy, "state.db-wal")) > 32, "the WAL holds nothing")
    if os.geteuid() == 0:
        os.chmod(copy, 0o500)
        os.chmod(os.path.join(copy, "state.db"), 0o400)
        os.chmod(os.path.join(copy, "state.db-wal"), 0o400)
        subprocess.run(["chown", "-R", "nobody", copy], check=True)
        for folder in (os.path.dirname(p.d), p.d):   # nobody reads the project
            os.chmod(folder, 0o755)
        r = subprocess.run(["runuser", "-u", "nobody", "--", clitest.DBREG, "plan", "--json", "--target",
                            p.target, "--state", os.path.join(copy, "state.db")], cwd=p.d,
                           env=clitest.dbreg_env(), capture_output=True, text=True, timeout=60)
        doc = json.loads(r.stdout)
        expect(r.returncode == 1 and "its last changes are in" in doc["error"]["message"],
               "%d %s %s" % (r.returncode, r.stdout, r.stderr))


@case
def a_damaged_page_is_said_as_the_open_checks_say_it():
    # A page inside the file that SQLite finds broken when it reads it:
    # not seen by the cheap checks of the open, reported by the read with
    # the same error and hint.
    p = Project()
    path = os.path.join(p.d, "damaged.db")
    shutil.copy(p.state, path)
    c = sqlite3.connect(path)
    root = c.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'history'").fetchone()[0]
    size = c.execute("PRAGMA page_size").fetchone()[0]
    c.close()
    with open(path, "r+b") as fp:
        fp.seek((root - 1) * size)
        fp.write(b"\xff" * size)
    for cmd in (["plan"], ["status", "--offline"], ["history", "--offline"]):
        rc, doc, err = p.run(cmd, state=path, json=True)
        expect_refused(rc, doc, err, path, "it is damaged (SQLite: database disk image is malformed", " ".join(cmd))
    # Found only when read (the cheap checks do not read every page): the
    # records written before it (the validated registry) are in the file,
    # but the damaged page is as it was, not rewritten or "repaired".
    with open(path, "rb") as fp:
        fp.seek((root - 1) * size)
        expect(fp.read(size) == b"\xff" * size, "the damaged page was rewritten")


@case
def a_new_state_file_is_marked_as_dbregs():
    p = Project()
    c = sqlite3.connect(p.state)
    app, version = c.execute("PRAGMA application_id").fetchone()[0], c.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    c.close()
    expect(app == 0x64627267 and "runs_open" in tables and version >= 11, (hex(app), version, tables))


@case
def a_file_caught_half_way_through_a_checkpoint_is_not_taken_for_a_truncated_one():
    # A checkpoint writes page 1 (the header, with the grown page count)
    # before the pages it counts: for a while the file is shorter than its
    # header says, while the WAL still holds every frame. Another run's
    # checkpoint, or one a crash cut short, must not read as truncation.
    import struct
    p = Project()
    work = os.path.join(p.d, "ckpt")
    os.makedirs(work)
    c = sqlite3.connect(p.state)
    c.execute("PRAGMA wal_autocheckpoint = 0")
    c.execute("CREATE TABLE IF NOT EXISTS filler (x TEXT)")   # grows the file in the WAL only
    c.executemany("INSERT INTO filler VALUES (?)", [("x" * 3000,) for _ in range(200)])
    c.commit()
    copy = os.path.join(work, "state.db")
    shutil.copy(p.state, copy)
    shutil.copy(p.state + "-wal", copy + "-wal")
    c.close()
    with open(copy + "-wal", "rb") as fp:
        wal = fp.read()
    page = struct.unpack(">I", wal[8:12])[0]
    first = None   # the last frame of page 1: the header the checkpoint writes first
    for at in range(32, len(wal) - 24 - page + 1, 24 + page):
        if struct.unpack(">I", wal[at:at + 4])[0] == 1:
            first = wal[at + 24:at + 24 + page]
    expect(first is not None, "no frame of page 1 in the WAL")
    with open(copy, "r+b") as fp:
        fp.write(first)
    pages, size = struct.unpack(">I", first[28:32])[0], os.path.getsize(copy)
    expect(pages * page > size, "the copy is not shorter than its header says: %d pages of %d, %d bytes"
           % (pages, page, size))
    rc, doc, err = p.run(["plan"], state=copy, json=True)
    expect(rc == 0 and doc.get("ok", True), "refused: %d %s %s" % (rc, doc, err))


@case
def runs_sharing_one_state_file_at_once_leave_it_sound():
    # Closing any descriptor of a file drops the process's POSIX locks on
    # it, SQLite's too: the open check read the header through a descriptor
    # it closed while its connection was open, so another run checkpointed
    # and reset the WAL under it, and four apply/down loops on four targets
    # sharing the state file damaged it within a second (the audit).
    import threading
    d = project()
    with open(os.path.join(d, "dbreg.toml"), "w") as fp:
        fp.write("".join('[targets.%s]\nurl = "sqlite:%s.db"\n' % (n, n) for n in "abcd"))
    failures = []

    def loop(name):
        for _ in range(4):
            for args in (["apply", "-q"], ["down", "@ydtb/basic", "--to", "0.0.0", "-q"]):
                rc, out, err = run(args + ["--target", name], d)
                if rc != 0:
                    failures.append((name, args[0], rc, err[-300:]))
    threads = [threading.Thread(target=loop, args=(n,)) for n in "abcd"]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    expect(failures == [], "runs failed: %s" % failures[:3])
    c = sqlite3.connect(os.path.join(d, ".dbreg", "state.db"))
    check = c.execute("PRAGMA integrity_check").fetchall()
    c.close()
    expect(check == [("ok",)], "the state file: %s" % check[:3])


# ---- 2. a record refused after the target committed -------------------------------

def refused_record(p, hold, release, cmd="apply", args=None):
    """Runs `cmd` with a pending migration while hold() keeps the target's
    registry lock; once the run has marked the state file, takes the state
    file's write lock and release()s the target: the run commits, then the
    state file refuses its record (locked past its busy timeout).
    Returns (exit code, document, stderr)."""
    p.add_second()
    hold()
    args = [clitest.DBREG, cmd] + (args or ["--target", p.target]) + ["--json"]
    proc = subprocess.Popen(args, cwd=p.d, env=clitest.dbreg_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    locker = None
    try:
        p.wait_for_mark(proc, cmd)
        locker = sqlite3.connect(p.state, timeout=10, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        release()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        release()
        if locker:
            locker.execute("ROLLBACK")
            locker.close()
    return proc.returncode, clitest.parse_json(proc.returncode, out, err), err


def expect_refused_record(p, rc, doc, err, cmd="apply"):
    e = doc.get("error") or {}
    msg, hint = e.get("message") or "", e.get("hint") or ""
    expect(rc == 1 and doc["ok"] is False and doc["exit_code"] == 1 and doc.get("applied") == 1,
           "%s: exit %d, want 1, ok=false and applied=1: %s\n%s" % (cmd, rc, doc, err))
    expect(("%s WAS changed (1 migration committed), but the state file .dbreg/state.db" % shown(p.target)) in msg
           and "database is locked" in msg, "%s: the error does not say what happened: %r" % (cmd, msg))
    expect("plan --refresh" in hint and "may be stale" in hint, "%s: hint %r" % (cmd, hint))
    expect(("dbreg: %s" % msg) in err, "%s: standard error does not say it:\n%s" % (cmd, err))
    # The target was changed, rows included; the copy was not.
    expect(p.query("SELECT count(*) FROM ydtb_basic_notes WHERE body = 'two'") == "3", "the rows were not changed")
    expect(p.marks(), "the mark of the run is gone")


def expect_offline_warns(p, want):
    for cmd, fresh in ((["plan"], "with --refresh"), (["status", "--offline"], "with --refresh"),
                       (["history", "--offline"], "without --offline")):
        rc, doc, err = p.run(cmd, json=True)
        said = "copy of %s's history may be stale" % shown(p.target) in err and "hint: run %s" % fresh in err
        expect(rc == 0 and said == want and ("stale_copy" in doc) == want,
               "%s: exit %d, warned %s, want %s: %s\n%s" % (" ".join(cmd), rc, said, want, doc, err))


def after_refusal_refresh_resynchronises(p):
    # The copy says 002 is pending; it is not, which the warning says.
    expect_offline_warns(p, True)
    rc, out, err = p.run(["plan"])
    expect("002_zstate" in out, (out, err))
    rc, out, err = p.run(["plan", "--refresh"])
    expect(rc == 0 and "up to date" in out and "may be stale" not in err, (rc, out, err))
    expect(not p.marks(), "--refresh left the mark")
    expect_offline_warns(p, False)
    rc, out, err = p.run(["plan"])
    expect(rc == 0 and "up to date" in out, (out, err))


def sqlite_lock(p):
    fd = os.open(p.db, os.O_RDONLY)
    held = [fd]

    def hold():
        fcntl.flock(fd, fcntl.LOCK_EX)

    def release():
        if held:
            fcntl.flock(held[0], fcntl.LOCK_UN)
            os.close(held.pop())
    return hold, release


@case
def sqlite_a_record_refused_after_the_commit_fails_the_run_and_offline_plan_warns():
    p = Project()
    hold, release = sqlite_lock(p)
    rc, doc, err = refused_record(p, hold, release)
    expect_refused_record(p, rc, doc, err)
    after_refusal_refresh_resynchronises(p)


@case
def init_says_a_refused_record_as_apply_does():
    p = Project()
    hold, release = sqlite_lock(p)
    rc, doc, err = refused_record(p, hold, release, cmd="init")
    expect_refused_record(p, rc, doc, err, cmd="init")
    # A later run reads the target and records its history: no mark.
    rc, out, err = p.run(["apply"])
    expect(rc == 0 and "applied 0 migrations" in out and not p.marks(), (rc, out, err, p.marks()))
    expect_offline_warns(p, False)


@case
def postgres_a_record_refused_after_the_commit_fails_the_run_and_offline_plan_warns():
    url, drop = clitest.pg_database()
    clitest.cleanups.append(drop)

    def psql(text):
        r = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", url], input=text, text=True,
                           capture_output=True, timeout=60)
        expect(r.returncode == 0, r.stderr)
        return r.stdout
    p = Project(target=url, psql=psql)
    holder = subprocess.Popen(["psql", "-X", "-At", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    clitest.cleanups.append(lambda: holder.poll() is None and holder.kill())

    def hold():
        holder.stdin.write("SELECT pg_advisory_lock(%d);\n" % PG_LOCK_KEY)
        holder.stdin.flush()
        holder.stdout.readline()   # held

    def release():
        if holder.poll() is None:
            holder.stdin.close()
            holder.wait(timeout=30)
    rc, doc, err = refused_record(p, hold, release)
    expect_refused_record(p, rc, doc, err)
    after_refusal_refresh_resynchronises(p)


@case
def fleet_a_record_refused_after_the_commit_fails_the_run_and_offline_plan_warns():
    p = Project()
    with open(os.path.join(p.d, "dbreg.toml"), "w") as fp:
        fp.write('[fleets.f]\ntargets = ["sqlite:t.db"]\njobs = 1\n')
    hold, release = sqlite_lock(p)
    rc, doc, err = refused_record(p, hold, release, args=["--fleet", "f"])
    e = doc.get("error") or {}
    msg, hint = e.get("message") or "", e.get("hint") or ""
    expect(rc == 1 and doc["ok"] is False and doc["exit_code"] == 1 and doc["targets"][0]["applied"] == 1,
           "exit %d, want 1, ok=false, applied=1: %s\n%s" % (rc, doc, err))
    expect("fleet f: 1 target WAS changed, but the state file .dbreg/state.db could not record the run" in msg
           and "database is locked" in msg and "plan --fleet f --refresh" in hint, (msg, hint))
    expect(p.query("SELECT count(*) FROM ydtb_basic_notes WHERE body = 'two'") == "3", "the rows were not changed")
    rc, out, err = run(["plan", "--fleet", "f"], p.d)
    expect(rc == 0 and "copy of sqlite:t.db's history may be stale" in err, (rc, out, err))
    # In the JSON documents too, per target, as one target's says it.
    for cmd in (["plan", "--fleet", "f"], ["status", "--fleet", "f"]):
        rc, doc, err = run_json(cmd + ["--json"], p.d)
        stale = doc.get("stale_copy")
        expect(rc == 0 and stale and stale[0]["target"] == "sqlite:t.db" and stale[0]["command"], (cmd, doc))
    rc, out, err = run(["plan", "--fleet", "f", "--refresh"], p.d)
    expect(rc == 0 and "may be stale" not in err and not p.marks(), (rc, out, err, p.marks()))
    rc, out, err = run(["plan", "--fleet", "f"], p.d)
    expect(rc == 0 and "may be stale" not in err, (rc, out, err))
    expect_offline_warns(p, False)


@case
def a_run_beside_another_leaves_its_mark_alone():
    # One mark per target: a second run that gave up on the lock (exit 5)
    # dropped the first run's mark while that one still ran, so when the
    # first died after its commit, nothing warned (the audit). Each run
    # drops its own mark, and a history write those of runs whose process
    # is gone.
    p = Project()
    p.add_second()
    hold, release = sqlite_lock(p)
    hold()
    try:
        first = subprocess.Popen([clitest.DBREG, "apply", "--target", p.target], cwd=p.d, env=clitest.dbreg_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.wait_for_mark(first, "apply")
        rc, out, err = p.run(["apply", "--lock-timeout", "1"])
        expect(rc == 5, "the second run: %d %s" % (rc, err))
        expect(p.marks(), "the second run took the first one's mark away")
        first.send_signal(signal.SIGKILL)
        first.communicate()
    finally:
        release()
    expect_offline_warns(p, True)
    rc, out, err = p.run(["plan", "--refresh"])
    expect(rc == 0, (rc, out, err))
    expect(not p.marks(), "a history write left a dead run's mark: %s" % p.marks())
    expect_offline_warns(p, False)


@case
def a_run_killed_before_its_record_leaves_a_mark_that_a_later_run_clears():
    p = Project()
    p.add_second()
    hold, release = sqlite_lock(p)
    hold()
    try:
        proc = subprocess.Popen([clitest.DBREG, "apply", "--target", p.target], cwd=p.d, env=clitest.dbreg_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.wait_for_mark(proc, "apply")
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    finally:
        release()
    expect_offline_warns(p, True)
    rc, out, err = p.run(["apply"])
    expect(rc == 0 and "applied 1 migration" in out, (rc, out, err))
    expect(not p.marks(), p.marks())
    expect_offline_warns(p, False)


@case
def a_run_with_nothing_pending_leaves_no_mark():
    p = Project()
    for cmd in (["apply"], ["apply", "--json"], ["init"]):
        rc, out, err = p.run(cmd)
        expect(rc == 0 and p.marks() == [], (cmd, rc, out, err, p.marks()))


# ---- 3. an interrupt: the run records what the target holds ----------------------

# Runs long after an UPDATE of the notes: pg_sleep on PostgreSQL, on SQLite a
# count over a five-way join of 200 workspaces (empty in validate's replay).
SLOW_JOIN = ", ".join("ydtb_workspaces w%d" % i for i in range(5))
SLOW = {"postgres": "SELECT pg_sleep(30)", "sqlite": "SELECT count(*) FROM " + SLOW_JOIN}
QUICK = {"postgres": "SELECT pg_sleep(0)", "sqlite": "SELECT 1"}
SLOW_PKG = """[package]
name = "@t/slow"
version = "1.0.0"
description = "changes the notes, then runs long"

[dependencies]
"@ydtb/basic" = "^1.0.0"

[[migrations]]
id = "0001_slow"
version = "1.0.0"
up_postgres = "UPDATE ydtb_basic_notes SET body = 'slow'; %(postgres)s;"
up_sqlite = "UPDATE ydtb_basic_notes SET body = 'slow'; %(sqlite)s;"
down = "SELECT 1;"
"""
# A migration that commits, then one outside a transaction whose first
# statement commits on its own before the long one.
SPLIT_PKG = """[package]
name = "@t/split"
version = "1.0.0"
description = "a migration in a transaction, then one outside any"

[dependencies]
"@ydtb/basic" = "^1.0.0"

[[migrations]]
id = "0001_inside"
version = "1.0.0"
up = "UPDATE ydtb_basic_notes SET body = 'inside';"
down = "SELECT 1;"

[[migrations]]
id = "0002_outside"
version = "1.0.0"
transaction = false
up_postgres = \"\"\"
UPDATE ydtb_basic_notes SET title = title || '+';
%(postgres)s;
UPDATE ydtb_basic_notes SET title = title || '!';
\"\"\"
up_sqlite = \"\"\"
UPDATE ydtb_basic_notes SET title = title || '+';
%(sqlite)s;
UPDATE ydtb_basic_notes SET title = title || '!';
\"\"\"
down = "SELECT 1;"
"""
WORKSPACES = {"postgres": "INSERT INTO ydtb_workspaces (id, name, slug) SELECT 'x' || g, 'X' || g, 'x-' || g"
                          " FROM generate_series(1, 200) g;",
              "sqlite": "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 200)"
                        " INSERT INTO ydtb_workspaces (id, name, slug) SELECT 'x' || n, 'X' || n, 'x-' || n FROM g;"}
NOTES = "SELECT id, title, body FROM ydtb_basic_notes ORDER BY id"


def interrupt_targets():
    """(dialect, Project) for a SQLite file and a fresh PostgreSQL database,
    each with 200 workspaces more (the SQLite join's rows)."""
    out = [("sqlite", Project())]
    url, drop = clitest.pg_database()
    clitest.cleanups.append(drop)

    def psql(text):
        r = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", url], input=text, text=True,
                           capture_output=True, timeout=60)
        expect(r.returncode == 0, r.stderr)
        return r.stdout
    out.append(("postgres", Project(target=url, psql=psql)))
    for dialect, p in out:
        p.sql(WORKSPACES[dialect])
    return out


def pkg(p, name, text, dialect, slow):
    with open(os.path.join(p.d, "tomls", name), "w") as fp:
        fp.write(text % (SLOW if slow else QUICK))
    # Validated and registered now: the interrupted run's state file writes
    # are its mark and its record.
    rc, out, err = p.run(["plan"])
    expect(rc == 0, (dialect, out, err))


def interrupt_when(p, dialect, args, ready, sig):
    """Starts dbreg ARGS on p's target, sends sig once ready() (the long
    statement runs, 0.3 s after), returns (process, stdout, stderr)."""
    proc = subprocess.Popen([clitest.DBREG] + args + ["--target", p.target], cwd=p.d, env=clitest.dbreg_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    expect(proc.poll() is None and ready(), "%s: the long statement never ran: %r" % (dialect, proc.poll()))
    time.sleep(0.3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc, out, err


def long_statement_runs(p, dialect, marker):
    """Whether the target runs the long statement: PostgreSQL's activity;
    on SQLite the notes' update that precedes it (journal or committed)."""
    if dialect == "postgres":
        return p.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(30)%%'"
                       " AND state = 'active' AND pid <> pg_backend_pid()") == "1"
    if marker == "journal":
        return os.path.exists(p.db + "-journal")
    return p.query("SELECT count(*) FROM ydtb_basic_notes WHERE title LIKE '%+'") == "3"


def expect_interrupted(proc, sig, json_doc, out, err, what):
    if json_doc:
        doc = clitest.parse_json(proc.returncode, out, err)
        expect(proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig] and doc["exit_code"] ==
               proc.returncode and "interrupted by" in doc["error"]["message"], "%s: %s" % (what, out))
        return doc
    expect(proc.returncode == -sig and "dbreg: interrupted by " in err and "failed:" not in err,
           "%s: exit %d: %s" % (what, proc.returncode, err[-800:]))
    return None


@case
def an_interrupt_that_rolled_back_leaves_no_mark():
    # A run marks itself before it takes the target's lock; SIGINT during
    # its one transaction rolled it back, but the process ended with the
    # mark in place, so every offline plan, status and history after it
    # warned of a stale copy that was right. The run now rolls back,
    # records the history it reads again (no change) and its mark goes.
    for dialect, p in interrupt_targets():
        for cmd, sig, json_doc in (("apply", signal.SIGINT, False), ("apply", signal.SIGTERM, True),
                                   ("init", signal.SIGINT, False)):
            what = "%s %s %s%s" % (dialect, cmd, signal.Signals(sig).name, " --json" if json_doc else "")
            pkg(p, "slow.toml", SLOW_PKG, dialect, True)
            before = p.query(NOTES)
            proc, out, err = interrupt_when(p, dialect, [cmd] + (["--json"] if json_doc else []),
                                            lambda: long_statement_runs(p, dialect, "journal"), sig)
            doc = expect_interrupted(proc, sig, json_doc, out, err, what)
            expect(not doc or doc["applied"] == 0, "%s: %s" % (what, doc))
            expect(p.query(NOTES) == before, "%s: the notes changed: %s" % (what, p.query(NOTES)))
            expect(p.query("SELECT count(*) FROM ydtb_registry_migrations WHERE package = '@t/slow'") == "0",
                   "%s: the migration is recorded" % what)
            expect(p.marks() == [], "%s: the run left its mark: %s" % (what, p.marks()))
            expect_offline_warns(p, False)
            rc, out, err = p.run(["plan"])
            expect(rc == 0 and "0001_slow" in out, "%s: %s" % (what, out + err))
        pkg(p, "slow.toml", SLOW_PKG, dialect, False)
        rc, out, err = p.run(["apply"])
        expect(rc == 0 and "applied 1 migration" in out and p.query("SELECT DISTINCT body FROM ydtb_basic_notes")
               == "slow", "%s: the next run: %s" % (dialect, out + err))


@case
def an_interrupt_after_a_split_part_committed_records_what_stays():
    # The first migration committed, and statement 1 of the one outside a
    # transaction: SIGINT during statement 2 left the mark (and the copy
    # behind). The run now reads the history again and records it: no
    # mark, no warning, and the offline plan is right (0002 pending, to
    # resume at statement 2), as the next run then does.
    for dialect, p in interrupt_targets():
        pkg(p, "split.toml", SPLIT_PKG, dialect, True)
        proc, out, err = interrupt_when(p, dialect, ["apply"], lambda: long_statement_runs(p, dialect, "title"),
                                        signal.SIGINT)
        expect_interrupted(proc, signal.SIGINT, False, out, err, dialect)
        expect("1 migration committed before it stays applied" in err and "statements it completed stay" in err,
               "%s: %s" % (dialect, err))
        expect(p.query("SELECT DISTINCT body FROM ydtb_basic_notes") == "inside" and
               p.query("SELECT count(*) FROM ydtb_basic_notes WHERE title LIKE '%+'") == "3", "%s: what stays: %s"
               % (dialect, p.query(NOTES)))
        expect(p.marks() == [], "%s: the run left its mark: %s" % (dialect, p.marks()))
        expect_offline_warns(p, False)
        rc, doc, err = p.run(["plan"], json=True)
        steps = [(x["package"], x["migration"]) for x in doc["steps"]]
        expect(rc == 0 and steps == [("@t/split", "0002_outside")], "%s: the offline plan: %s" % (dialect, steps))
        pkg(p, "split.toml", SPLIT_PKG, dialect, False)
        rc, out, err = p.run(["apply"])
        expect(rc == 0 and "resumed @t/split 0002_outside at statement 2" in out and
               p.query("SELECT count(*) FROM ydtb_basic_notes WHERE title LIKE '%+!'") == "3",
               "%s: the next run: %s %s" % (dialect, out + err, p.query(NOTES)))


@case
def an_interrupt_while_waiting_for_the_lock_ends_at_once_and_leaves_no_mark():
    # The mark is written before the run waits for the target's lock: a
    # Ctrl-C during that wait changed nothing, and must leave nothing.
    for dialect, p in interrupt_targets():
        pkg(p, "slow.toml", SLOW_PKG, dialect, False)
        before = p.query(NOTES)
        if dialect == "sqlite":
            hold, release = sqlite_lock(p)
        else:
            holder = subprocess.Popen(["psql", "-X", "-At", p.target], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
            clitest.cleanups.append(lambda: holder.poll() is None and holder.kill())

            def hold():
                holder.stdin.write("SELECT pg_advisory_lock(%d);\n" % PG_LOCK_KEY)
                holder.stdin.flush()
                holder.stdout.readline()

            def release():
                if holder.poll() is None:
                    holder.stdin.close()
                    holder.wait(timeout=30)
        hold()
        try:
            proc = subprocess.Popen([clitest.DBREG, "apply", "--target", p.target], cwd=p.d,
                                    env=clitest.dbreg_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            p.wait_for_mark(proc, "apply")
            time.sleep(0.3)
            t = time.time()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            took = time.time() - t
        finally:
            release()
        expect_interrupted(proc, signal.SIGINT, False, out, err, dialect)
        expect(took < 2.0, "%s: the run went on %.1f s after the signal" % (dialect, took))
        expect(p.marks() == [] and p.query(NOTES) == before, "%s: %s %s" % (dialect, p.marks(), p.query(NOTES)))
        expect_offline_warns(p, False)



@case
def a_run_whose_session_the_server_ends_records_its_failure_and_leaves_no_mark():
    # audit aeng 8: pg_terminate_backend during a migration ended the run
    # with exit 4 and its "failed" event, but the history could not be read
    # again on the dead session, so the mark stayed and every offline
    # command after it warned that the run "was stopped". The history is
    # read on a new session then: the copy is right and the mark goes,
    # also after a split part committed (the offline plan lists what is
    # left) and for init.
    url, drop = clitest.pg_database()
    clitest.cleanups.append(drop)

    def psql(text):
        r = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", url], input=text, text=True,
                           capture_output=True, timeout=60)
        expect(r.returncode == 0, r.stderr)
        return r.stdout
    p = Project(target=url, psql=psql)
    p.sql(WORKSPACES["postgres"])

    def terminate(args, marker):
        proc = subprocess.Popen([clitest.DBREG] + args + ["--target", p.target], cwd=p.d, env=clitest.dbreg_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not long_statement_runs(p, "postgres", marker) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        expect(proc.poll() is None, "the long statement never ran: %r" % proc.poll())
        p.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(30)%%'"
                " AND pid <> pg_backend_pid()")
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err

    for cmd in ("apply", "init"):
        pkg(p, "slow.toml", SLOW_PKG, "postgres", True)
        before = p.query(NOTES)
        rc, out, err = terminate([cmd], "journal")
        expect(rc == 4 and "57P01" in err, "%s: exit %d: %s" % (cmd, rc, err[-1500:]))
        expect(p.query(NOTES) == before, "%s: the notes changed" % cmd)
        expect(p.marks() == [], "%s: the run left its mark: %s" % (cmd, p.marks()))
        expect_offline_warns(p, False)
        c = sqlite3.connect("file:%s?mode=ro" % p.state, uri=True)
        last = c.execute("SELECT event, outcome FROM events WHERE event = ? ORDER BY id DESC LIMIT 1",
                         (cmd,)).fetchall()
        c.close()
        expect(last == [(cmd, "failed")], "%s: the last event: %s" % (cmd, last))
    pkg(p, "slow.toml", SLOW_PKG, "postgres", False)
    rc, out, err = p.run(["apply"])
    expect(rc == 0 and "applied 1 migration" in out, out + err)
    pkg(p, "split.toml", SPLIT_PKG, "postgres", True)
    rc, out, err = terminate(["apply"], "title")
    # Its progress record after the statement fails on the dead session too (exit 3).
    expect(rc in (3, 4) and "1 migration committed before the failure stays applied" in err,
           "split: exit %d: %s" % (rc, err[-1500:]))
    expect(p.marks() == [], "split: the run left its mark: %s" % p.marks())
    expect_offline_warns(p, False)
    rc, doc, err = p.run(["plan"], json=True)
    steps = [(x["package"], x["migration"]) for x in doc["steps"]]
    expect(rc == 0 and steps == [("@t/split", "0002_outside")], "split: the offline plan: %s" % steps)

if __name__ == "__main__":
    sys.exit(main(only=sys.argv[3:]))
