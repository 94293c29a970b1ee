#!/usr/bin/env python3
"""An interrupt cancels the statement the database is running (review-7 #4):
SIGINT or SIGTERM while a migration runs a long statement ends the run at
once, the server stops the statement at once (not when it would have ended),
the rows stay as they were, and a retry straight after gets the registry
lock. One PostgreSQL target, a fleet of them (its second SIGINT), a watch
round, a cancel the server never answers, SQLite.

usage: test_cancel.py DBREG TOMLS_DIR [CASE...]   (prints TAP)"""
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, expect, main, need_pg, pg_drop, pg_name, pg_url, project, run  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "cancel", timeout=120)
PG_URL = clitest.PG_URL

# Changes every workspace row, then runs long: 30 s on PostgreSQL, and on
# SQLite a count over a five-way join of the 200 rows (empty, so instant,
# in validate's replay).
RECOUNT = """[package]
name = "@t/recount"
version = "1.0.0"
description = "A slow recount of the workspaces"

[dependencies]
"@ydtb/core" = "^1.0.0"

[[migrations]]
id = "0001_recount"
version = "1.0.0"
up_postgres = "UPDATE ydtb_workspaces SET name = name || ' (recounted)'; SELECT pg_sleep(%(secs)d);"
up_sqlite = "UPDATE ydtb_workspaces SET name = name || ' (recounted)'; SELECT count(*) FROM %(join)s;"
down = "UPDATE ydtb_workspaces SET name = replace(name, ' (recounted)', '');"
"""
SLOW_JOIN = ", ".join("ydtb_workspaces w%d" % i for i in range(5))
SEED = ("INSERT INTO ydtb_workspaces (id, name, slug) "
        "SELECT 'w' || g, 'Workspace ' || g, 'ws-' || g FROM generate_series(1, 200) g")
ROWS = "SELECT id, name, slug FROM ydtb_workspaces ORDER BY id"
HISTORY = "SELECT package, migration FROM ydtb_registry_migrations ORDER BY package, migration"
SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def recount(d, slow):
    """Adds (or rewrites) the recount package: slow, or quick for the retry."""
    with open(os.path.join(d, "tomls", "recount.toml"), "w") as f:
        f.write(RECOUNT % {"secs": 30 if slow else 0, "join": SLOW_JOIN if slow else "ydtb_workspaces"})


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-qtA", url, "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True,
                       text=True, timeout=60)
    expect(p.returncode == 0, p.stderr)
    return p.stdout.strip()


def pg_state(url):
    """What a test compares before and after: every row, the history."""
    return psql(url, ROWS), psql(url, HISTORY)


def sleeping(dbs):
    """How many backends of the databases (names) still have the long
    statement as their query, in any state: 0 once each has ended."""
    names = ", ".join("'%s'" % n for n in dbs)
    return int(psql(PG_URL, "SELECT count(*) FROM pg_stat_activity WHERE datname IN (%s)"
                    " AND query LIKE '%%pg_sleep(30)%%' AND pid <> pg_backend_pid()" % names))


def active(dbs):
    names = ", ".join("'%s'" % n for n in dbs)
    return int(psql(PG_URL, "SELECT count(*) FROM pg_stat_activity WHERE datname IN (%s) AND state = 'active'"
                    " AND query LIKE '%%pg_sleep(30)%%' AND pid <> pg_backend_pid()" % names))


def locked(dbs):
    """How many of the databases (names) a session holds an advisory lock
    in (the registry lock): 0 once each worker has unlocked or closed."""
    names = ", ".join("'%s'" % n for n in dbs)
    return int(psql(PG_URL, "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                    " WHERE l.locktype = 'advisory' AND l.granted AND d.datname IN (%s)" % names))


def until(cond, seconds, p=None):
    """Polls cond until it holds (True) or seconds pass (False); stops early when p ended."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        if p is not None and p.poll() is not None:
            return cond()
        time.sleep(0.02)
    return cond()


def start(args, d, env=None):
    return subprocess.Popen([clitest.DBREG] + args, cwd=d, env=clitest.dbreg_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def interrupted(p, sig, json_doc, took, out, err, planned=True):
    """The process ended as the signal says: by it, or with --json by the document,
    which has the keys of the run's plan (planned) and what the run committed."""
    expect(took < 2.0, "the run went on %.1f s after the signal" % took)
    if not json_doc:
        expect(p.returncode == -sig, "exit %d, want killed by %d: %s" % (p.returncode, sig, err[-800:]))
        # And says why, as the JSON document would.
        said = "dbreg: interrupted by %s before the run ended; the running statements are cancelled" % (
            "SIGINT" if sig == signal.SIGINT else "SIGTERM")
        expect(said in err, "nothing said on stderr: %r" % err[-800:])
        return
    doc = json.loads(out)
    code = SIGNALS[sig]
    expect(p.returncode == code and doc["exit_code"] == code and doc["ok"] is False, out)
    expect("are cancelled" in doc["error"]["message"], doc["error"]["message"])
    if planned:
        expect(doc.get("dialect") in ("postgres", "sqlite") and isinstance(doc.get("target"), str)
               and len(doc.get("steps", [])) > 0 and doc.get("applied") == 0
               and all(set(st) >= {"package", "migration", "version", "direction", "transaction", "checksum"}
                       for st in doc["steps"]), "the plan's keys are missing: %s" % out)


def pg_seeded():
    """A database with core and basic applied and 200 workspaces in it."""
    need_pg()
    name = pg_name()
    psql(PG_URL, "CREATE DATABASE %s" % name)
    url = pg_url(name)
    d = project()
    rc, out, err = run(["apply", "-q", "--target", url], d)
    expect(rc == 0, err)
    psql(url, SEED)
    return name, url, d


@case
def an_interrupt_cancels_a_postgresql_migrations_long_statement():
    # SIGINT and SIGTERM, with and without --json, 1 s into pg_sleep(30)
    # after an UPDATE of 200 rows.
    for sig, json_doc in ((signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False),
                          (signal.SIGTERM, True)):
        what = "%s%s" % (signal.Signals(sig).name, " --json" if json_doc else "")
        name, url, d = pg_seeded()
        try:
            before = pg_state(url)
            recount(d, slow=True)
            p = start(["apply", "--target", url] + (["--json"] if json_doc else []), d)
            expect(until(lambda: active([name]) == 1, 60, p), "%s: the long statement never ran" % what)
            time.sleep(1.0)
            t = time.time()
            p.send_signal(sig)
            out, err = p.communicate(timeout=60)
            took = time.time() - t
            interrupted(p, sig, json_doc, took, out, err)
            # At once: the cancel was sent before the process ended.
            expect(until(lambda: sleeping([name]) == 0, 1.0),
                   "%s: the server still runs the statement %.1f s after the signal" % (what, time.time() - t))
            print("# %s: exit %.0f ms after the signal, the statement gone by %.0f ms"
                  % (what, took * 1000, (time.time() - t) * 1000))
            expect(pg_state(url) == before, "%s: the rows or the history changed" % what)
            # The registry lock is free: no wait for it, no exit 5.
            recount(d, slow=False)
            rc, out, err = run(["apply", "--lock-timeout", "0", "--target", url], d)
            expect(rc == 0, "%s: the retry: exit %d: %s" % (what, rc, err[-800:]))
            expect(psql(url, "SELECT count(*) FROM ydtb_workspaces WHERE name LIKE '%(recounted)'") == "200",
                   "%s: the retry did not recount once" % what)
        finally:
            pg_drop([name])


SPLIT = """[package]
name = "@t/split"
version = "1.0.0"
description = "a migration in a transaction, then two statements outside one, a long one between"

[[migrations]]
id = "0000_inside"
version = "1.0.0"
up = "SELECT 1;"
down = "SELECT 1;"

[[migrations]]
id = "0001_outside"
version = "1.0.0"
transaction = false
up_postgres = \"\"\"
UPDATE ydtb_workspaces SET name = name || ' (first)' WHERE name NOT LIKE '%%(first)';
SELECT pg_sleep(%(secs)d);
UPDATE ydtb_workspaces SET name = name || ' (third)' WHERE name NOT LIKE '%%(third)';
\"\"\"
up_sqlite = "SELECT 1;"
down = "SELECT 1;"
"""


@case
def an_interrupt_inside_a_transaction_false_migration_says_what_stays():
    # Statement 1 of 3 commits on its own; SIGINT during statement 2 said
    # only that "the database rolls back the open transaction" (the fault
    # audit). It says now that the completed statements stay and the next
    # run resumes after them; and the next run does, running none twice.
    for json_doc in (False, True):
        name, url, d = pg_seeded()
        try:
            with open(os.path.join(d, "tomls", "split.toml"), "w") as f:
                f.write(SPLIT % {"secs": 30})
            p = start(["apply", "--target", url] + (["--json"] if json_doc else []), d)
            expect(until(lambda: active([name]) == 1, 60, p), "the long statement never ran")
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
            said = (json.loads(out)["error"]["message"] if json_doc else err)
            # The first migration committed before the split: the document
            # counts it, and the words say it.
            expect(not json_doc or json.loads(out).get("applied") == 1, out)
            expect(json_doc or "\n  1 migration committed before it stays applied\n" in err, err)
            expect("a transaction = false migration was running: the statements it completed stay applied and "
                   "recorded, and the next run resumes after them" in said, said)
            expect(psql(url, "SELECT count(*) FROM ydtb_workspaces WHERE name LIKE '%(first)'") == "200", "statement 1")
            with open(os.path.join(d, "tomls", "split.toml"), "w") as f:
                f.write(SPLIT % {"secs": 0})
            rc, out, err = run(["apply", "--target", url], d)
            expect(rc == 0, err)
            expect(psql(url, "SELECT count(*) FROM ydtb_workspaces WHERE name LIKE '%(first) (third)'") == "200",
                   "resumed: %s" % psql(url, "SELECT name FROM ydtb_workspaces LIMIT 1"))
        finally:
            pg_drop([name])


@case
def a_sigkilled_apply_leaves_no_backend_and_no_lock_behind():
    # SIGKILL sends no cancel: the server itself notices the dead client
    # (client_connection_check_interval, PostgreSQL 14+) and ends the
    # statement, its transaction and the registry lock within seconds,
    # not when pg_sleep(30) would have ended.
    name, url, d = pg_seeded()
    try:
        before = pg_state(url)
        recount(d, slow=True)
        p = start(["apply", "--target", url], d)
        expect(until(lambda: active([name]) == 1, 60, p), "the long statement never ran")
        expect(locked([name]) == 1, "the run holds no registry lock")
        time.sleep(0.5)
        t = time.time()
        p.kill()
        p.communicate(timeout=60)
        expect(until(lambda: sleeping([name]) == 0 and locked([name]) == 0, 5.0),
               "%.1f s after SIGKILL the server still runs the statement (%d) or holds the lock (%d)"
               % (time.time() - t, sleeping([name]), locked([name])))
        print("# backend and lock gone %.0f ms after SIGKILL" % ((time.time() - t) * 1000))
        expect(pg_state(url) == before, "the rows or the history changed")
        recount(d, slow=False)
        rc, out, err = run(["apply", "--lock-timeout", "0", "--target", url], d)
        expect(rc == 0, "the retry: exit %d: %s" % (rc, err[-800:]))
    finally:
        pg_drop([name])


@case
def an_interrupt_under_an_ignored_sigchld_still_knows_its_cancel_went_out():
    # SIG_IGN on SIGCHLD is inherited across exec (a parent that ignores
    # it): the kernel then reaps the cancel's child itself.
    name, url, d = pg_seeded()
    try:
        recount(d, slow=True)
        p = subprocess.Popen([clitest.DBREG, "apply", "--json", "--target", url], cwd=d, env=clitest.dbreg_env(None),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
        expect(until(lambda: active([name]) == 1, 60, p), "the long statement never ran")
        time.sleep(0.5)
        t = time.time()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        interrupted(p, signal.SIGINT, True, time.time() - t, out, err)
        expect("could not be sent" not in out, out)
        expect(until(lambda: sleeping([name]) == 0, 1.0), "the server still runs the statement")
    finally:
        pg_drop([name])


@case
def a_fleets_second_sigint_cancels_every_targets_long_statement():
    # The first SIGINT lets the running targets go on (issue 17); the second
    # cancels all of them; --resume then applies them.
    need_pg()
    for json_doc in (False, True):
        names = [pg_name() + "_%d" % i for i in range(3)]
        try:
            for n in names:
                psql(PG_URL, "CREATE DATABASE %s" % n)
            urls = [pg_url(n) for n in names]
            d = project()
            with open(os.path.join(d, "tenants.txt"), "w") as f:
                f.write("".join(u + "\n" for u in urls))
            with open(os.path.join(d, "dbreg.toml"), "w") as f:
                f.write('[fleets.tenants]\nurls_file = "tenants.txt"\njobs = 3\n')
            rc, out, err = run(["apply", "-q", "--fleet", "tenants"], d)
            expect(rc == 0, err)
            for u in urls:
                psql(u, SEED)
            before = [pg_state(u) for u in urls]
            recount(d, slow=True)
            p = start(["apply", "--fleet", "tenants"] + (["--json"] if json_doc else []), d)
            expect(until(lambda: active(names) == 3, 60, p), "the three long statements never ran together")
            time.sleep(1.0)
            p.send_signal(signal.SIGINT)
            time.sleep(0.3)
            expect(p.poll() is None and active(names) == 3, "the first SIGINT stopped the running targets")
            t = time.time()
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
            took = time.time() - t
            interrupted(p, signal.SIGINT, json_doc, took, out, err, planned=False)
            expect(until(lambda: sleeping(names) == 0, 1.0),
                   "%d targets still run the statement %.1f s after the second SIGINT"
                   % (sleeping(names), time.time() - t))
            print("# fleet%s: exit %.0f ms after the second SIGINT, the statements gone by %.0f ms"
                  % (" --json" if json_doc else "", took * 1000, (time.time() - t) * 1000))
            expect([pg_state(u) for u in urls] == before, "a target's rows or history changed")
            recount(d, slow=False)
            rc, out, err = run(["apply", "--fleet", "tenants", "--resume", "--lock-timeout", "0"], d)
            expect(rc == 0, "--resume: exit %d: %s" % (rc, (out + err)[-1500:]))
            for u in urls:
                expect(psql(u, "SELECT count(*) FROM ydtb_workspaces WHERE name LIKE '%(recounted)'") == "200",
                       "--resume did not apply %s" % u)
                expect("@t/recount|0001_recount" in psql(u, HISTORY), u)
        finally:
            pg_drop(names)


@case
def ctrl_c_during_a_watch_round_cancels_its_long_statement():
    # watch takes the signals on a descriptor it reads between rounds; while
    # a round applies, the statement is cancelled at once all the same.
    name, url, d = pg_seeded()
    try:
        with open(os.path.join(d, "dbreg.toml"), "w") as f:
            f.write('[targets.dev]\nurl = "${SLOW_URL}"\ndev = true\n')
        before = pg_state(url)
        recount(d, slow=True)
        p = start(["watch", "--target", "dev"], d, env={"SLOW_URL": url})
        expect(until(lambda: active([name]) == 1, 60, p), "the long statement never ran")
        time.sleep(1.0)
        t = time.time()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        took = time.time() - t
        # cli.md: watch runs until interrupted, then exits 0.
        expect(took < 2.0 and p.returncode == 0, "exit %d after %.1f s: %s" % (p.returncode, took, err[-800:]))
        expect("57014" in out + err or "canceling statement" in out + err, "the round's report: " + (out + err)[-800:])
        expect(until(lambda: sleeping([name]) == 0, 1.0), "the server still runs the statement")
        print("# watch: exit %.0f ms after SIGINT, the statement gone by %.0f ms" % (took * 1000, (time.time() - t) * 1000))
        expect(pg_state(url) == before, "the rows or the history changed")
    finally:
        pg_drop([name])


class HeldCancelProxy:
    """A TCP proxy to the test server that forwards the first connection
    and accepts every later one (a cancel request) without ever answering:
    a server the cancel cannot reach."""

    def __init__(self, host, port):
        import socket
        import threading
        self.upstream = (host, port)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.threading, self.socket = threading, socket
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        first = True
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if not first:
                self.held.append(c)
                continue
            first = False
            u = self.socket.create_connection(self.upstream)
            clitest.splice(c, u)

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


@case
def a_cancel_that_cannot_reach_the_server_ends_the_run_all_the_same():
    # The cancel is a new connection to the server: one that is never
    # answered (a dropped network) holds the interrupt 3 s at most, and the
    # document then says what the server does without it.
    name, url, d = pg_seeded()
    proxy = None
    try:
        scheme, rest = url.split("://", 1)
        auth, hostpart = rest.rsplit("@", 1)
        hostport, db = hostpart.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        proxy = HeldCancelProxy(host, int(port))
        via = "%s://%s@127.0.0.1:%d/%s" % (scheme, auth, proxy.port, db)
        recount(d, slow=True)
        p = start(["apply", "--json", "--target", via], d)
        expect(until(lambda: active([name]) == 1, 60, p), "the long statement never ran")
        t = time.time()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        took = time.time() - t
        doc = json.loads(out)
        expect(p.returncode == 130 and doc["exit_code"] == 130, out)
        expect(2.5 < took < 4.5 and proxy.held, "%.1f s, %d cancel connections" % (took, len(proxy.held)))
        expect("could not be sent" in doc["error"]["message"], doc["error"]["message"])
        print("# a cancel never answered: exit %.0f ms after SIGINT" % (took * 1000))
    finally:
        if proxy:
            proxy.close()
        pg_drop([name])


class CancelProxy:
    """A TCP proxy to the test server that forwards every connection but a
    cancel request (its first 8 bytes: length 16, code 80877102), which it
    forwards `delay` seconds late, or holds forever when delay is None: a
    slow link, or a server the cancel cannot reach. Other connections are
    forwarded connect_delay seconds late."""

    def __init__(self, url, delay, connect_delay=0):
        import socket
        import struct
        import threading
        scheme, rest = url.split("://", 1)
        auth, hostpart = rest.rsplit("@", 1)
        hostport, db = hostpart.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.upstream, self.delay, self.connect_delay = (host, int(port)), delay, connect_delay
        self.socket, self.struct, self.threading = socket, struct, threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "%s://%s@127.0.0.1:%d/%s" % (scheme, auth, self.sock.getsockname()[1], db)
        self.cancels, self.held = 0, []
        threading.Thread(target=self._accept, daemon=True).start()

    def _serve(self, c):
        head = b""
        while len(head) < 8:
            data = c.recv(8 - len(head))
            if not data:
                c.close()
                return
            head += data
        if self.struct.unpack("!II", head) == (16, 80877102):
            self.cancels += 1
            if self.delay is None:
                self.held.append(c)
                return
            time.sleep(self.delay)
        else:
            time.sleep(self.connect_delay)
        u = self.socket.create_connection(self.upstream)
        u.sendall(head)
        clitest.splice(c, u)

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


def fleet_seeded(n, jobs, via=None):
    """n databases applied and seeded, a fleet of them with `jobs`; via(i,
    url) gives the URL the fleet reaches target i by."""
    names = [pg_name() + "_%d" % i for i in range(n)]
    for name in names:
        psql(PG_URL, "CREATE DATABASE %s" % name)
    urls = [pg_url(name) for name in names]
    shown = [via(i, u) if via else u for i, u in enumerate(urls)]
    d = project()
    with open(os.path.join(d, "tenants.txt"), "w") as f:
        f.write("".join(u + "\n" for u in shown))
    with open(os.path.join(d, "dbreg.toml"), "w") as f:
        f.write('[fleets.tenants]\nurls_file = "tenants.txt"\njobs = %d\n' % jobs)
    rc, out, err = run(["apply", "-q", "--fleet", "tenants"], d)
    expect(rc == 0, err)
    for u in urls:
        psql(u, SEED)
    return names, urls, d


@case
def a_fleets_cancels_go_out_side_by_side():
    # Each target's cancel is its own: three cancels that take 1.2 s each
    # (a slow link) are all sent within the 3 s, and one server that never
    # answers keeps none of the others running. The others connect 0.3 s
    # late, so the held one is the first connection (one after another, its
    # cancel was the first and held up the rest). The held one is the last
    # target: the first went to the main thread when it ran targets too.
    need_pg()
    for delay, held in ((1.2, None), (None, 2)):
        proxies, names = [], []
        try:
            def via(i, u):
                if held is not None and i != held:
                    proxies.append(CancelProxy(u, 0, connect_delay=0.3))
                else:
                    proxies.append(CancelProxy(u, delay))
                return proxies[-1].url
            names, urls, d = fleet_seeded(3, 3, via)
            before = [pg_state(u) for u in urls]
            recount(d, slow=True)
            p = start(["apply", "--json", "--fleet", "tenants"], d)
            expect(until(lambda: active(names) == 3, 60, p), "the three long statements never ran together")
            time.sleep(0.5)
            t = time.time()
            p.send_signal(signal.SIGTERM)
            if held is None:
                out, err = p.communicate(timeout=60)
                took = time.time() - t
                doc = json.loads(out)
                expect(p.returncode == 143 and doc["exit_code"] == 143, out)
                expect(took < 2.5 and "are cancelled" in doc["error"]["message"],
                       "slow cancels: exit after %.1f s: %s" % (took, doc["error"]["message"]))
                expect(sleeping(names) == 0, "%d targets still run the statement after the exit" % sleeping(names))
                print("# three cancels of 1.2 s each: exit %.0f ms after SIGTERM" % (took * 1000))
            else:
                # Well before the 3 s the held one is given, the reachable
                # targets are rolled back and their registry lock is free:
                # the handler runs on the main thread, which runs no target
                # (a worker that took the signal kept its transaction and
                # lock until the exit, 3 s later).
                others = [n for i, n in enumerate(names) if i != held]
                expect(until(lambda: active(others) == 0, 2.5),
                       "%d reachable targets still run the statement %.1f s after SIGTERM"
                       % (active(others), time.time() - t))
                expect(until(lambda: sleeping(others) == 0 and locked(others) == 0, 1.5),
                       "%d reachable targets still in the cancelled transaction, %d still locked, %.1f s after"
                       " SIGTERM" % (sleeping(others), locked(others), time.time() - t))
                gone = time.time() - t
                expect(p.poll() is None, "the run ended before the held cancel's 3 s")
                out, err = p.communicate(timeout=60)
                took = time.time() - t
                doc = json.loads(out)
                expect(p.returncode == 143 and 2.5 < took < 4.5, "exit %d after %.1f s" % (p.returncode, took))
                expect("could not be sent" in doc["error"]["message"], doc["error"]["message"])
                print("# one cancel never answered: the other two gone by %.0f ms, exit %.0f ms after SIGTERM"
                      % (gone * 1000, took * 1000))
            expect(proxies and all(x.cancels for x in proxies), "a proxied target got no cancel")
            psql(PG_URL, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname IN (%s)"
                 % ", ".join("'%s'" % n for n in names))
            expect(until(lambda: sleeping(names) == 0, 5.0), "the held target's statement never ended")
            expect([pg_state(u) for u in urls] == before, "a target's rows or history changed")
        finally:
            for x in proxies:
                x.close()
            pg_drop(names)


@case
def no_target_starts_once_the_cancels_went_out():
    # SIGTERM (which does not stop a fleet the way its first SIGINT does)
    # with --on-error continue: the cancelled targets fail, and their
    # workers must not start the next targets, whose statements would
    # outlive the process. The cancels are slowed to 0.5 s so that the
    # workers have the time to try.
    need_pg()
    proxies, names = [], []
    try:
        def via(i, u):
            proxies.append(CancelProxy(u, 0.5))
            return proxies[-1].url
        names, urls, d = fleet_seeded(6, 3, via)
        before = [pg_state(u) for u in urls]
        recount(d, slow=True)
        p = start(["apply", "--json", "--on-error", "continue", "--fleet", "tenants"], d)
        expect(until(lambda: active(names) == 3, 60, p), "three long statements never ran together")
        time.sleep(0.5)
        t = time.time()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        took = time.time() - t
        doc = json.loads(out)
        expect(p.returncode == 143 and doc["exit_code"] == 143 and "are cancelled" in doc["error"]["message"], out)
        time.sleep(0.3)
        expect(sleeping(names) == 0, "%d targets run the statement after the exit (%.1f s)" % (sleeping(names), took))
        expect([pg_state(u) for u in urls] == before, "a target's rows or history changed")
        print("# 6 targets, 3 jobs, cancels of 0.5 s: exit %.0f ms after SIGTERM, nothing left running"
              % (took * 1000))
    finally:
        for x in proxies:
            x.close()
        pg_drop(names)


def scratch_schemas(url):
    return psql(url, "SELECT string_agg(nspname, ',') FROM pg_namespace WHERE nspname LIKE 'dbreg\\_scratch\\_%'")


@case
def an_interrupted_dbreg_test_cancels_and_its_scratch_schema_goes():
    # dbreg test --target runs the bodies in a scratch schema of the user's
    # database: Ctrl-C cancels the statement there, and the schema the
    # handler could not drop is dropped by the next run.
    name, url, d = pg_seeded()
    try:
        before = pg_state(url)
        recount(d, slow=True)
        p = start(["test", "@t/recount", "--target", url], d)
        expect(until(lambda: active([name]) == 1, 60, p), "the long statement never ran")
        time.sleep(0.5)
        t = time.time()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        took = time.time() - t
        interrupted(p, signal.SIGINT, False, took, out, err)
        expect(until(lambda: sleeping([name]) == 0, 1.0),
               "the server still runs the scratch statement %.1f s after SIGINT" % (time.time() - t))
        left = scratch_schemas(url)
        expect(left.startswith("dbreg_scratch_"), "no scratch schema while interrupted: %r" % left)
        expect(until(lambda: psql(PG_URL, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'" % name)
                     == "0", 5.0), "the interrupted run's session never ended")
        # A schema of the user's own whose name only starts alike is not ours.
        psql(url, "CREATE SCHEMA dbreg_scratch_mine; CREATE TABLE dbreg_scratch_mine.keep (id int)")
        recount(d, slow=False)
        rc, out, err = run(["test", "@t/recount", "--target", url], d)
        expect(rc == 0, "the next run: exit %d: %s" % (rc, (out + err)[-800:]))
        expect(scratch_schemas(url) == "dbreg_scratch_mine",
               "after the next run: %r, want only the user's dbreg_scratch_mine" % scratch_schemas(url))
        expect(pg_state(url) == before, "the user's rows or history changed")
        print("# dbreg test: exit %.0f ms after SIGINT; %s dropped by the next run" % (took * 1000, left))
    finally:
        pg_drop([name])


@case
def an_interrupt_before_any_connection_says_nothing_was_running():
    # init --wait to a port nobody listens on: no connection was ever open,
    # so the document must not say that statements were cancelled.
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    d = project()
    p = start(["init", "--json", "--wait", "30", "--target", "postgres://u:pw@127.0.0.1:%d/x" % port], d)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    doc = json.loads(out)
    msg = doc["error"]["message"]
    expect(p.returncode == 130 and doc["exit_code"] == 130, out)
    expect("no connection to a database was open" in msg and "cancelled" not in msg, msg)


def file_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@case
def an_interrupted_sqlite_apply_leaves_the_file_as_it_was():
    # SQLite's driver has no cancel: the statement runs in the process, which
    # the signal ends; the hot journal puts every page back.
    for sig, json_doc in ((signal.SIGINT, False), (signal.SIGTERM, True)):
        d = project()
        db = os.path.join(d, "t.db")
        url = "sqlite:" + db
        rc, out, err = run(["apply", "-q", "--target", url], d)
        expect(rc == 0, err)
        c = sqlite3.connect(db)
        c.execute("WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 200) "
                  "INSERT INTO ydtb_workspaces (id, name, slug) SELECT 'w' || n, 'Workspace ' || n, 'ws-' || n FROM g")
        c.commit()
        c.close()
        sha, rows = file_sha(db), sqlite3.connect(db).execute(ROWS).fetchall()
        recount(d, slow=True)
        p = start(["apply", "--target", url] + (["--json"] if json_doc else []), d)
        # The UPDATE wrote its journal: the long count runs.
        expect(until(lambda: os.path.exists(db + "-journal"), 60, p), "the long statement never ran")
        time.sleep(1.0)
        t = time.time()
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)
        interrupted(p, sig, json_doc, time.time() - t, out, err)
        c = sqlite3.connect(db)
        expect(c.execute(ROWS).fetchall() == rows, "the rows changed")
        expect(c.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "the file is damaged")
        expect(("@t/recount", "0001_recount") not in c.execute(HISTORY).fetchall(), "the migration is recorded")
        c.close()
        # Byte for byte, once read (a hot journal is rolled back then; one
        # never synced, as here when no page was spilled, is not hot).
        expect(file_sha(db) == sha, "the file is not as it was")
        recount(d, slow=False)
        rc, out, err = run(["apply", "--lock-timeout", "0", "--target", url], d)
        expect(rc == 0, "the next apply: exit %d: %s" % (rc, err[-800:]))
        c = sqlite3.connect(db)
        n = c.execute("SELECT count(*) FROM ydtb_workspaces WHERE name LIKE '%(recounted)'").fetchone()[0]
        c.close()
        expect(n == 200 and not os.path.exists(db + "-journal"), "the next apply recounted %d rows" % n)


if __name__ == "__main__":
    sys.exit(main(only=sys.argv[3:]))
