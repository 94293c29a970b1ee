#!/usr/bin/env python3
"""Statements of cli.md and manifest.md checked end to end on the built
binary, each case one statement that an audit found the binary broke.

usage: test_contract.py DBREG TOMLS_DIR
Each case copies a project into a fresh temporary folder and runs dbreg
there; PostgreSQL cases use DBREG_TEST_PG_URL. Prints TAP."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, expect, main, pg_database, project, run_json  # noqa: E402
from clitest import run as dbreg  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "contract")

# A migration with no SQLite body: the plan for SQLite has an error (DBR042).
PG_ONLY = """
[[migrations]]
id = "0099_pg_only"
version = "1.1.0"
up_postgres = "SELECT 1;"
"""


def warnings(doc):
    return sorted((d["code"], d["file"], d["line"]) for d in doc["diagnostics"] if d["severity"] == "warning")


@case
def a_failed_plan_keeps_its_warnings_in_the_json_of_every_run():
    # cli.md: warnings found while planning are in "diagnostics" of plan,
    # apply and init. The real core has a suppressed DBR103 (a DBR105) in a
    # pending step; the second run skips the SQL checks the state file
    # remembers, and its plan must still say what the first one said.
    d = project()
    with open(os.path.join(d, "tomls", "basic.toml"), "a") as fp:
        fp.write(PG_ONLY)
    rc, first, err = run_json(["plan"], d)
    expect(rc == 1 and "DBR042" in [x["code"] for x in first["diagnostics"]], (rc, first))
    step = [w for w in warnings(first) if w[1] == "tomls/core.toml"]
    expect(step and step[0][0] == "DBR105", first)
    for cmd in (["plan"], ["apply"], ["apply", "--dry-run"], ["init", "--wait", "0"]):
        rc, doc, err = run_json(cmd, d)
        expect(rc == 1 and doc["exit_code"] == 1, (cmd, rc, doc))
        expect("DBR042" in [x["code"] for x in doc["diagnostics"]], (cmd, doc))
        expect(set(step) <= set(warnings(doc)), "%s lost the plan's warnings %s: %s" % (cmd, step, doc["diagnostics"]))
        # The command's own keys too (cli.md: at least target, dialect, steps).
        expect(doc.get("target") == "sqlite:ydtb.db" and doc.get("dialect") == "sqlite" and doc.get("steps") == [],
               "%s: %s" % (cmd, sorted(doc)))


def package(name, table):
    return """[package]
name = "%(name)s"
version = "1.0.0"
description = "d"

[tables.%(table)s]
description = "t"
workspace_scoped = true

[tables.%(table)s.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "0001"
version = "1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS %(table)s (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS %(table)s_workspace_id_idx ON %(table)s (workspace_id);
\"\"\"
down = "DROP TABLE IF EXISTS %(table)s;"
""" % {"name": name, "table": table}


@case
def a_table_declared_twice_belongs_to_the_package_dbr024_names_and_its_migration_is_no_dbr046():
    # manifest.md rule 4 (DBR024): the second package to declare a table
    # is the error. The first one's own migration creating it is no
    # DBR046 "belongs to" the second: the two findings named each other
    # the owner.
    d = project({"tomls/a.toml": package("@acme/a", "ydtb_shared"), "tomls/b.toml": package("@acme/b", "ydtb_shared")},
                with_tomls=["core.toml"])
    rc, doc, err = run_json(["validate"], d)
    found = [(x["code"], x["file"]) for x in doc["diagnostics"] if x["severity"] == "error"]
    expect(rc == 1 and ("DBR024", "tomls/b.toml") in found, (rc, found))
    expect(not [f for f in found if f[1] == "tomls/a.toml"], "the owner's own migration is blamed: %s" % doc["diagnostics"])
    owner = [x["message"] for x in doc["diagnostics"] if x["code"] == "DBR046"]
    expect(owner and all("belongs to @acme/a" in m for m in owner), owner)


@case
def a_password_libpq_would_read_otherwise_is_never_printed_nor_stored():
    # cli.md: a password is never printed, logged or stored. libpq ends
    # the user information at the first '@' (before any '/'), not the last:
    # an unencoded '@' or '/' in the password made it read the rest as the
    # host, port or database, and say it in its messages and the history's
    # key; a '?' in the password went unmasked; an unquoted space in a
    # keyword string's password made libpq name the word after it.
    d = project()
    state = os.path.join(d, ".dbreg", "state.db")
    for url, piece, code in (("postgres://u:pa@ss99x@127.0.0.1:1/db", "ss99x", 2),
                             ("postgres://u:Zq7/slash@127.0.0.1:1/db", "Zq7", 2),
                             ("postgres://u:Zq8?pw@127.0.0.1:1/db", "Zq8", 3),
                             ("host=127.0.0.1 port=1 password=Zq9 Sec9ret dbname=x", "Sec9ret", 2)):
        for cmd in (["status"], ["plan"], ["apply"], ["init", "--wait", "0"]):
            rc, doc, err = run_json(cmd + ["--target", url], d)
            text = json.dumps(doc) + err
            expect(piece not in text, "%s %s printed %r: %s" % (cmd, url, piece, text))
            if cmd != ["plan"]:
                expect(rc == code, "%s %s: exit %d, want %d: %s" % (cmd, url, rc, code, err))
            if os.path.exists(state):
                with open(state, "rb") as fp:
                    expect(piece.encode() not in fp.read(), "%s %s stored %r in the state file" % (cmd, url, piece))


@case
def a_password_in_a_spelling_dbreg_refuses_or_trims_is_never_printed_nor_stored():
    # The audit's holes: blanks around a URL (a pasted secret, a CRLF .env
    # file) hid it from the redaction, libpq's other secret (sslpassword)
    # was not masked, and a URL forgotten its scheme, given to sqlite: or
    # inside dbname= was echoed by the error that refused it. Also through
    # a named target and a fleet, whose records the state file keeps.
    d = project({"dbreg.toml": '[targets.prod]\nurl = "${DBREG_LEAKY_URL}"\n\n'
                               '[fleets.f]\ntargets = ["prod"]\njobs = 1\n'})
    state = os.path.join(d, ".dbreg", "state.db")
    spellings = ((" postgres://u:Lk1secret@127.0.0.1:1/db", "Lk1secret"),
                 ("\tpostgresql://u:Lk2secret@127.0.0.1:1/db\r\n", "Lk2secret"),
                 ("postgres://u@127.0.0.1:1/db?sslpassword=Lk3secret", "Lk3secret"),
                 ("host=127.0.0.1 port=1 dbname=db sslpassword=Lk4secret", "Lk4secret"),
                 ("u:Lk5secret@127.0.0.1:1/db", "Lk5secret"),
                 ("dbname=postgresql://u:Lk6secret@127.0.0.1:1/db", "Lk6secret"),
                 ("sqlite:postgres://u:Lk7secret@h/db", "Lk7secret"))
    for url, piece in spellings:
        os.environ["DBREG_LEAKY_URL"] = url
        for cmd in (["status"], ["plan"], ["apply"], ["apply", "--target", "prod"],
                    ["apply", "--fleet", "f"], ["status", "--fleet", "f"]):
            args = cmd if "--target" in cmd or "--fleet" in cmd else cmd + ["--target", url]
            for json_too in (False, True):
                if json_too:
                    rc, doc, err = run_json(args, d)
                    text = json.dumps(doc) + err
                else:
                    rc, out, err = dbreg(args, d)
                    text = out + err
                # Offline plan and status --fleet need no connection.
                expect(rc != 0 or cmd in (["plan"], ["status", "--fleet", "f"]), "%s %r: exit 0" % (args, url))
                expect(piece not in text, "%s %r printed the password: %s" % (args, url, text))
                if os.path.exists(state):
                    with open(state, "rb") as fp:
                        expect(piece.encode() not in fp.read(), "%s %r stored the password" % (args, url))
    # The blanks are not part of the URL: the same target as without them.
    os.environ["DBREG_LEAKY_URL"] = "  sqlite:blank.db \r\n"
    rc, out, err = dbreg(["apply", "--target", "prod"], d)
    expect(rc == 0 and os.path.exists(os.path.join(d, "blank.db")), (rc, err, os.listdir(d)))
    del os.environ["DBREG_LEAKY_URL"]


@case
def accept_of_a_name_the_manifests_lack_is_exit_2_and_creates_no_database():
    # A failed run leaves the database exactly as it was: accept named a
    # package or migration the manifests do not have only after it had
    # connected, which created the SQLite file of the default target.
    d = project()
    for args, says in ((["@ydtb/basc", "0001_create_notes"], "did you mean @ydtb/basic?"),
                       (["@ydtb/basic", "0001_nope"], 'has no migration "0001_nope"')):
        rc, doc, err = run_json(["accept"] + args, d)
        expect(rc == 2 and doc["exit_code"] == 2 and says in err, (args, rc, err))
        expect(not os.path.exists(os.path.join(d, "ydtb.db")), "accept %s created ydtb.db" % args)


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url], input=sql, text=True, check=True,
                   capture_output=True, timeout=60)


@case
def a_statement_the_target_refuses_outside_a_migration_is_exit_3_with_the_server_words():
    # cli.md exit 3: the target refused a statement outside a migration. A
    # role that may connect but not create in the schema cannot create the
    # history tables: apply and init exit 3, say the server's words and
    # SQLSTATE, leave the database as it was, and init's hint does not
    # send the user to check whether the server is up.
    url, drop = pg_database()
    clitest.cleanups.append(drop)
    role = "dbreg_contract_%d" % os.getpid()
    secret = "Rf%dpw" % os.getpid()
    psql(url, "CREATE ROLE %s LOGIN PASSWORD '%s'; REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
              "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);" % (role, secret))
    clitest.cleanups.append(lambda: psql(clitest.PG_URL, "DROP ROLE IF EXISTS %s" % role))
    clitest.SECRETS.append(secret)
    host = url.split("@", 1)[1]
    weak = "postgres://%s:%s@%s" % (role, secret, host)
    d = project()
    for cmd in (["apply"], ["init", "--wait", "0"]):
        rc, doc, err = run_json(cmd + ["--target", weak], d)
        expect(rc == 3 and doc["exit_code"] == 3, (cmd, rc, doc, err))
        e = doc["error"]
        expect(e["sqlstate"] == "42501" and "permission denied" in e["message"], (cmd, e))
        expect("server up" not in (e["hint"] or "") and "server up" not in err, (cmd, e, err))
    out = subprocess.run(["psql", "-X", "-Atc", "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
                          " WHERE schemaname = 'public'", url], capture_output=True, text=True, timeout=60).stdout
    expect(out.strip() == "kept", "the failed runs changed the database: %r" % out)
    # Tables the role may not read (the owner applied): the error object
    # carries the SQLSTATE the message quotes, whichever command read them.
    rc, doc, err = run_json(["apply", "--target", url], d)
    expect(rc == 0, err)
    for cmd in (["status"], ["history"], ["plan", "--refresh"], ["verify"]):
        rc, doc, err = run_json(cmd + ["--target", weak], d)
        e = doc["error"]
        expect(rc == 3 and e["sqlstate"] == "42501" and "permission denied" in e["message"], (cmd, rc, e))


@case
def a_lock_timeout_is_exit_5_and_says_on_standard_error_the_hint_its_json_gives():
    # cli.md exit 5: timed out waiting for another run's lock. The human
    # message and the JSON document say the same: the hint of the error
    # object is printed too (apply printed none, init another one).
    url, drop = pg_database()
    clitest.cleanups.append(drop)
    d = project()
    holder = subprocess.Popen(["psql", "-X", "-At", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        holder.stdin.write("SELECT pg_advisory_lock(4783381683765084015);\n")
        holder.stdin.flush()
        holder.stdout.readline()   # the empty result: the lock is held
        for cmd in (["apply"], ["init", "--wait", "0"]):
            rc, doc, err = run_json(cmd + ["--target", url, "--lock-timeout", "1"], d)
            expect(rc == 5 and doc["exit_code"] == 5, (cmd, rc, doc, err))
            hint = doc["error"]["hint"]
            expect(hint and ("  hint: %s\n" % hint) in err, "%s: the JSON hint %r is not on standard error:\n%s"
                   % (cmd, hint, err))
            expect(err.count("  hint: ") == 1, "%s: two hints:\n%s" % (cmd, err))
            expect("waiting up to 1 s (--lock-timeout)" in err, "%s: waited silently:\n%s" % (cmd, err))
        # A role that may not see the holder's client (no pg_read_all_stats)
        # is not told it came over a local socket at no time.
        role, secret = "dbreg_contract_l%d" % os.getpid(), "Lk%dpw" % os.getpid()
        psql(url, "CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT ALL ON SCHEMA public TO %s" % (role, secret, role))
        clitest.cleanups.append(lambda: (psql(url, "DROP OWNED BY %s" % role),
                                         psql(clitest.PG_URL, "DROP ROLE IF EXISTS %s" % role)))
        clitest.SECRETS.append(secret)
        weak = "postgres://%s:%s@%s" % (role, secret, url.split("@", 1)[1])
        rc, doc, err = run_json(["apply", "--target", weak, "--lock-timeout", "1"], d)
        msg = doc["error"]["message"]
        expect(rc == 5 and "held by pid" in msg, (rc, doc, err))
        expect("local socket" not in msg and "connected )" not in msg and "not visible to this role" in msg, msg)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
