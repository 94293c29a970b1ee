#!/usr/bin/env python3
"""Row-level security on the real PostgreSQL server, with real roles.

usage: test_rls.py DBREG TOMLS_DIR
A fresh database owned by a login role that is not a superuser (so FORCE
ROW LEVEL SECURITY binds it), `dbreg init` as that role with
[isolation] row_level_security = true on tomls/ plus a test package, rows
of two workspaces in every workspace table, and a login role `app` that
owns nothing and has no BYPASSRLS. Needs DBREG_TEST_PG_URL (a superuser
URL), else fails unless DBREG_TEST_NO_PG=1. Prints TAP."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import Skip, case, cases, cleanup, expect, need_pg, project, run_cases  # noqa: E402
from clitest import run as dbreg  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "rls")
PG_URL = clitest.PG_URL


RLS_PKG = """[package]
name = "@t/rls"
version = "1.0.0"
description = "A test package with one workspace table"

[tables.ydtb_rls_docs]
description = "A document of a workspace"
workspace_scoped = true

[tables.ydtb_rls_docs.columns]
id   = { type = "text", primary_key = true }
body = { type = "text" }

[[migrations]]
id = "0001_docs"
version = "1.0.0"
up_postgres = '''
CREATE TABLE IF NOT EXISTS ydtb_rls_docs (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE,
  body text
);
CREATE INDEX IF NOT EXISTS ydtb_rls_docs_workspace_id_idx ON ydtb_rls_docs (workspace_id);
'''
up_sqlite = '''
CREATE TABLE IF NOT EXISTS ydtb_rls_docs (
  id TEXT PRIMARY KEY NOT NULL,
  workspace_id TEXT NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE,
  body TEXT
);
CREATE INDEX IF NOT EXISTS ydtb_rls_docs_workspace_id_idx ON ydtb_rls_docs (workspace_id);
'''
down = "DROP TABLE IF EXISTS ydtb_rls_docs;"
"""

# Every workspace table of tomls/ plus the test package, with a row for
# w1 and one for w2 (the superuser inserts them: it bypasses the policies).
WORKSPACE_TABLES = ["ydtb_basic_note_tags", "ydtb_basic_notes", "ydtb_basic_tasks", "ydtb_rls_docs",
                    "ydtb_workspace_members", "ydtb_workspace_tools"]
SEED = """
INSERT INTO "user" (id, name, email) VALUES ('u1', 'U', 'u1@example.com');
INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'One', 'one'), ('w2', 'Two', 'two');
INSERT INTO ydtb_workspace_members (id, workspace_id, user_id) VALUES ('m1', 'w1', 'u1'), ('m2', 'w2', 'u1');
INSERT INTO ydtb_workspace_tools (workspace_id, tool_id) VALUES ('w1', 'basic-notes'), ('w2', 'basic-notes');
INSERT INTO ydtb_basic_notes (id, workspace_id, title) VALUES ('n1', 'w1', 'one'), ('n2', 'w2', 'two');
INSERT INTO ydtb_basic_tasks (id, workspace_id, title) VALUES ('t1', 'w1', 'one'), ('t2', 'w2', 'two');
INSERT INTO ydtb_basic_note_tags (note_id, workspace_id, tag) VALUES ('n1', 'w1', 'x'), ('n2', 'w2', 'x');
INSERT INTO ydtb_rls_docs (id, workspace_id, body) VALUES ('d1', 'w1', 'one'), ('d2', 'w2', 'two');
"""


def psql(url, sql, check=True):
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"], input=sql,
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("psql failed: %s\n%s" % (p.stderr, sql))
    return p


def role_url(role, db):
    # PG_URL is postgresql://postgres:PASSWORD@HOST:PORT/DB
    rest = PG_URL.split("@", 1)[1]
    return "postgresql://%s:secret-%s@%s/%s" % (role, role, rest.rsplit("/", 1)[0], db)


class Setup:
    """The database, the roles and the project, made once for all cases."""

    def __init__(self):
        need_pg()
        tag = "%d_%d" % (os.getpid(), int(time.time() * 1000) % 10**8)
        self.db = "dbreg_rls_" + tag
        self.owner = "dbreg_rls_owner_" + tag
        self.app = "app_" + tag
        psql(PG_URL, "CREATE ROLE %s LOGIN PASSWORD 'secret-%s' NOSUPERUSER NOBYPASSRLS;\n"
                     "CREATE ROLE %s LOGIN PASSWORD 'secret-%s' NOSUPERUSER NOBYPASSRLS;\n"
                     % (self.owner, self.owner, self.app, self.app))
        psql(PG_URL, "CREATE DATABASE %s OWNER %s;" % (self.db, self.owner))
        self.super_url = PG_URL.rsplit("/", 1)[0] + "/" + self.db
        self.owner_url = role_url(self.owner, self.db)
        self.app_url = role_url(self.app, self.db)
        self.dir = project({"tomls/rls.toml": RLS_PKG,
                            "dbreg.toml": '[targets.pg]\nurl = "${DBREG_RLS_URL}"\n\n[isolation]\nrow_level_security = true\n'})
        os.environ["DBREG_RLS_URL"] = self.owner_url

    def close(self):
        psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE);\nDROP ROLE IF EXISTS %s;\nDROP ROLE IF EXISTS %s;\n"
             % (self.db, self.app, self.owner), check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def as_app(self, body, workspace="w1"):
        """Runs body as `app` in one transaction, the workspace set the way
        the guide says (set_config(..., true)); None: no setting at all."""
        head = "BEGIN;\n"
        if workspace is not None:
            head += "SELECT set_config('app.workspace_id', '%s', true) \\g /dev/null\n" % workspace
        return psql(self.app_url, head + body + "COMMIT;\n", check=False)


S = None


def visible(url_role, workspace):
    """workspace_id values each workspace table shows to a role."""
    out = {}
    for t in WORKSPACE_TABLES:
        body = "SELECT coalesce(string_agg(DISTINCT workspace_id, ','), '') FROM %s;\n" % t
        p = S.as_app(body, workspace) if url_role == "app" else psql(
            S.owner_url, "BEGIN;\n" + ("SELECT set_config('app.workspace_id', '%s', true) \\g /dev/null\n"
                                       % workspace if workspace else "") + body + "COMMIT;\n", check=False)
        expect(p.returncode == 0, "%s on %s: %s" % (url_role, t, p.stderr))
        out[t] = p.stdout.strip()
    return out


@case
def plan_sql_script_makes_the_policies_with_each_package():
    """The script of a fresh plan, run by psql into an empty database, makes
    every policy, each in the transaction of its package's migrations, and
    verify finds nothing to say."""
    db2 = S.db + "_script"
    psql(PG_URL, "CREATE DATABASE %s;" % db2)
    try:
        url2 = PG_URL.rsplit("/", 1)[0] + "/" + db2
        env_before = os.environ["DBREG_RLS_URL"]
        os.environ["DBREG_RLS_URL"] = url2
        try:
            rc, out, err = dbreg(["plan", "--target", "pg", "--refresh", "--sql"], S.dir)
            expect(rc == 0, "plan --sql: %d %s" % (rc, err))
            blocks = out.count("DO $dbreg_rls$")
            # core, basic (before its transaction = false step and after
            # the steps that follow it), the test package: at least one each.
            expect(blocks >= 3, "%d policy blocks in:\n%s" % (blocks, out))
            core_last = out.index("-- @ydtb/basic")
            expect(out.index("DO $dbreg_rls$") < core_last,
                   "the core's policies do not come before the next package's steps")
            p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url2, "-f", "-"], input=out,
                               capture_output=True, text=True, timeout=120)
            expect(p.returncode == 0, "the script failed: %s" % p.stderr)
            p = psql(url2, "SELECT count(*) FROM pg_policies WHERE policyname = 'ydtb_workspace_isolation';\n"
                           "SELECT count(*) FROM pg_class WHERE relrowsecurity AND relforcerowsecurity;\n")
            expect(p.stdout.split() == [str(len(WORKSPACE_TABLES))] * 2, p.stdout)
            rc, out, err = dbreg(["verify", "--target", "pg"], S.dir)
            expect(rc == 0, "verify of the script-made database: %d %s" % (rc, err))
        finally:
            os.environ["DBREG_RLS_URL"] = env_before
    finally:
        psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE);" % db2, check=False)


@case
def init_with_row_level_security_on_tomls_and_a_test_package():
    rc, out, err = dbreg(["init", "--target", "pg"], S.dir)
    expect(rc == 0, "init exited %d: %s%s" % (rc, out, err))
    psql(S.super_url, SEED)
    # app owns nothing and has no BYPASSRLS: only privileges on the tables.
    psql(S.super_url, "GRANT USAGE ON SCHEMA public TO %s;\n"
                      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %s;\n" % (S.app, S.app))
    p = psql(S.super_url, "SELECT rolsuper, rolbypassrls, (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid)"
                          " FROM pg_roles r WHERE rolname = '%s';\n" % S.app)
    expect(p.stdout.strip() == "f|f|0", "app is not a plain role owning nothing: %s" % p.stdout)
    # The workspace tables are exactly those with a workspace_id that
    # references ydtb_workspaces, and each has the policy.
    p = psql(S.super_url, "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_constraint k"
                          " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class w ON w.oid = k.confrelid"
                          " WHERE k.contype = 'f' AND w.relname = 'ydtb_workspaces'"
                          " AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = c.oid"
                          " AND attname = 'workspace_id')];\n")
    expect(p.stdout.strip() == ",".join(WORKSPACE_TABLES), p.stdout)
    p = psql(S.super_url, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_policies"
                          " WHERE policyname = 'ydtb_workspace_isolation' AND cmd = 'ALL';\n")
    expect(p.stdout.strip() == ",".join(WORKSPACE_TABLES), p.stdout)


@case
def app_with_w1_sees_only_w1_rows_of_every_workspace_table():
    seen = visible("app", "w1")
    expect(all(v == "w1" for v in seen.values()), seen)
    seen = visible("app", "w2")
    expect(all(v == "w2" for v in seen.values()), seen)


@case
def app_without_the_setting_sees_no_rows():
    seen = visible("app", None)
    expect(all(v == "" for v in seen.values()), seen)
    # Nor with the setting made empty.
    seen = visible("app", "")
    expect(all(v == "" for v in seen.values()), seen)


@case
def app_cannot_insert_or_update_into_another_workspace():
    for t, row in [("ydtb_basic_notes", "(id, workspace_id, title) VALUES ('n9', 'w2', 'sneak')"),
                   ("ydtb_rls_docs", "(id, workspace_id, body) VALUES ('d9', 'w2', 'sneak')"),
                   ("ydtb_workspace_members", "(id, workspace_id, user_id) VALUES ('m9', 'w2', 'u1')")]:
        p = S.as_app("INSERT INTO %s %s;\n" % (t, row))
        expect(p.returncode != 0 and "violates row-level security policy" in p.stderr,
               "insert into w2 of %s: rc %d %s" % (t, p.returncode, p.stderr))
        p = S.as_app("UPDATE %s SET workspace_id = 'w2' WHERE workspace_id = 'w1';\n" % t)
        expect(p.returncode != 0 and "violates row-level security policy" in p.stderr,
               "move to w2 in %s: rc %d %s" % (t, p.returncode, p.stderr))
        # w2's rows are not there to update or delete.
        p = S.as_app("WITH u AS (UPDATE %s SET workspace_id = workspace_id WHERE workspace_id = 'w2' RETURNING 1)"
                     " SELECT count(*) FROM u;\n" % t)
        expect(p.returncode == 0 and p.stdout.strip() == "0", "update of w2 rows in %s: %s %s" % (t, p.stdout, p.stderr))
    # Its own workspace works.
    p = S.as_app("INSERT INTO ydtb_rls_docs (id, workspace_id, body) VALUES ('d3', 'w1', 'mine');\n")
    expect(p.returncode == 0, p.stderr)
    p = psql(S.super_url, "SELECT count(*) FROM ydtb_basic_notes WHERE id = 'n9';\n")
    expect(p.stdout.strip() == "0", "a refused row was written")


@case
def the_table_owner_is_subject_too():
    p = psql(S.super_url, "SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class"
                          " WHERE relname IN (%s);\n" % ",".join("'%s'" % t for t in WORKSPACE_TABLES))
    expect(p.stdout.strip() == S.owner, "tables not owned by the owner role: %s" % p.stdout)
    seen = visible("owner", None)
    expect(all(v == "" for v in seen.values()), seen)
    seen = visible("owner", "w2")
    expect(all(v == "w2" for v in seen.values()), seen)


UUID_CORE = """[package]
name = "@u/core"
version = "1.0.0"
kind = "core"

[tables.ydtb_workspaces]
description = "Workspaces keyed by uuid"
[tables.ydtb_workspaces.columns]
id = { type = "uuid", primary_key = true }

[tables.ydtb_u_items]
description = "A row of a workspace, in a table whose name is plain"
[tables.ydtb_u_items.columns]
id = { type = "integer", primary_key = true }
workspace_id = { type = "uuid", not_null = true, references = "ydtb_workspaces.id", on_delete = "cascade" }

[[migrations]]
id = "0001"
version = "1.0.0"
up_postgres = '''
CREATE TABLE IF NOT EXISTS ydtb_workspaces (id uuid PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ydtb_u_items (id integer PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE);
'''
up_sqlite = '''
CREATE TABLE IF NOT EXISTS ydtb_workspaces (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ydtb_u_items (id INTEGER PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE);
'''
"""
W1, W2 = "6f1c6e0e-0000-4000-8000-000000000001", "6f1c6e0e-0000-4000-8000-000000000002"


@case
def a_uuid_workspace_id_gets_a_policy_that_casts_the_setting():
    # uuid = text has no operator: the policy casts the setting (not the
    # column, which would keep the index on it from being used), and an
    # empty setting (what a transaction-local one reads after its
    # transaction) is no workspace rather than an error.
    db = S.db + "_uuid"
    psql(PG_URL, "CREATE DATABASE %s OWNER %s;" % (db, S.owner))
    try:
        d = project({"tomls/core.toml": UUID_CORE,
                     "dbreg.toml": '[targets.pg]\nurl = "%s"\n\n[isolation]\nrow_level_security = true\n'
                                   % role_url(S.owner, db)}, with_tomls=[])
        rc, out, err = dbreg(["init", "--target", "pg"], d)
        expect(rc == 0, "init exited %d: %s%s" % (rc, out, err))
        sup = PG_URL.rsplit("/", 1)[0] + "/" + db
        psql(sup, "INSERT INTO ydtb_workspaces VALUES ('%s'), ('%s');\n"
                  "INSERT INTO ydtb_u_items VALUES (1, '%s'), (2, '%s');\n"
                  "GRANT USAGE ON SCHEMA public TO %s;\nGRANT SELECT, INSERT ON ydtb_u_items TO %s;\n"
             % (W1, W2, W1, W2, S.app, S.app))
        app = role_url(S.app, db)
        for ws, want in [(W1, "1"), (W2, "2"), ("", ""), (None, "")]:
            head = "BEGIN;\n" + ("SELECT set_config('app.workspace_id', '%s', true) \\g /dev/null\n" % ws
                                 if ws is not None else "")
            p = psql(app, head + "SELECT coalesce(string_agg(id::text, ','), '') FROM ydtb_u_items;\nCOMMIT;\n",
                     check=False)
            expect(p.returncode == 0 and p.stdout.strip() == want, "workspace %r: %r %s" % (ws, p.stdout, p.stderr))
        p = psql(app, "BEGIN;\nSELECT set_config('app.workspace_id', '%s', true) \\g /dev/null\n"
                      "INSERT INTO ydtb_u_items VALUES (3, '%s');\nCOMMIT;\n" % (W1, W2), check=False)
        expect(p.returncode != 0 and "violates row-level security policy" in p.stderr, p.stderr)
        # verify accepts the policy, and the next run makes nothing again.
        rc, out, err = dbreg(["verify", "--target", "pg"], d)
        expect(rc == 0, "verify: %d %s" % (rc, err))
        rc, out, err = dbreg(["apply", "--target", "pg", "--json"], d)
        expect(rc == 0 and json.loads(out)["repaired"] == [], out + err)
        psql(sup, "ALTER POLICY ydtb_workspace_isolation ON ydtb_u_items USING (workspace_id::text ="
                  " current_setting('app.workspace_id', true));\n")
        rc, out, err = dbreg(["verify", "--target", "pg"], d)
        expect(rc == 6 and "policy ydtb_workspace_isolation differs" in err, err)
        rc, out, err = dbreg(["apply", "--target", "pg", "--json"], d)
        expect(rc == 0 and len(json.loads(out)["repaired"]) == 1, out + err)
    finally:
        psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE);" % db, check=False)


@case
def plan_sql_includes_the_policies():
    rc, out, err = dbreg(["plan", "--target", "pg", "--sql"], S.dir)
    expect(rc == 0, err)
    for words in ["SET row_security = off;\nCREATE TABLE IF NOT EXISTS ydtb_registry_migrations",
                  "ALTER TABLE %I ENABLE ROW LEVEL SECURITY", "ALTER TABLE %I FORCE ROW LEVEL SECURITY",
                  "CREATE POLICY ydtb_workspace_isolation ON %I AS PERMISSIVE FOR ALL TO PUBLIC",
                  "FOREACH t IN ARRAY ARRAY['ydtb_workspace_members', 'ydtb_workspace_tools', "]:
        expect(words in out, "plan --sql lacks %r:\n%s" % (words, out))
    # Nothing is pending: one block repairs every package's tables, inside the transaction.
    block = out[out.index("DO $dbreg_rls$"):out.index("$dbreg_rls$;")]
    for t in WORKSPACE_TABLES:
        expect("'%s'" % t in block, "plan --sql: %s not in %s" % (t, block))
    expect(out.index("$dbreg_rls$;") < out.rindex("COMMIT;"), "the policies are not inside the transaction")


@case
def verify_exits_6_after_disable_by_hand_and_0_after_the_next_apply():
    rc, out, err = dbreg(["verify", "--target", "pg"], S.dir)
    expect(rc == 0, "verify before: %d %s" % (rc, err))
    psql(S.owner_url, "ALTER TABLE ydtb_basic_notes DISABLE ROW LEVEL SECURITY;\n")
    expect(visible("app", "w1")["ydtb_basic_notes"] == "w1,w2", "RLS off did not open the table")
    rc, out, err = dbreg(["verify", "--target", "pg", "--json"], S.dir)
    expect(rc == 6, "verify after DISABLE exited %d" % rc)
    problems = json.loads(out)["problems"]
    expect([p["table"] for p in problems] == ["ydtb_basic_notes"], problems)
    expect("row-level security is off" in problems[0]["message"], problems)
    # The run that makes it again says so: isolation was off until then.
    rc, out, err = dbreg(["apply", "--target", "pg", "--json"], S.dir)
    expect(rc == 0, "apply: %d %s" % (rc, err))
    expect(json.loads(out)["repaired"] == ["ydtb_basic_notes: row-level security was off: enabled"], out)
    rc, out, err = dbreg(["verify", "--target", "pg"], S.dir)
    expect(rc == 0, "verify after apply: %d %s" % (rc, err))
    expect(visible("app", "w1")["ydtb_basic_notes"] == "w1", "apply did not close the table again")
    # The owner bypass too, and a run with nothing to make again says nothing.
    psql(S.owner_url, "ALTER TABLE ydtb_basic_notes NO FORCE ROW LEVEL SECURITY;\n")
    rc, out, err = dbreg(["apply", "--target", "pg"], S.dir)
    expect(rc == 0 and "warning: " in err and "ydtb_basic_notes: row-level security was not forced (the owner "
           "bypassed it): forced" in err, "apply: %d %s" % (rc, err))
    rc, out, err = dbreg(["apply", "--target", "pg", "--json"], S.dir)
    expect(rc == 0 and json.loads(out)["repaired"] == [] and "row-level security" not in err, out + err)


@case
def a_policy_changed_by_hand_is_replaced():
    psql(S.owner_url, "ALTER POLICY ydtb_workspace_isolation ON ydtb_rls_docs USING (true);\n")
    rc, out, err = dbreg(["verify", "--target", "pg"], S.dir)
    expect(rc == 6 and "ydtb_rls_docs: policy ydtb_workspace_isolation differs" in err, err)
    rc, out, err = dbreg(["apply", "--target", "pg"], S.dir)
    expect(rc == 0 and "ydtb_rls_docs: policy ydtb_workspace_isolation was missing or not the one declared: "
           "made again" in err, err)
    rc, out, err = dbreg(["verify", "--target", "pg"], S.dir)
    expect(rc == 0, err)


def rls_snapshot():
    """The row-level security of every table and every policy, with its oid
    (a policy dropped and made again has another)."""
    return psql(S.super_url,
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
                " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1;\n"
                "SELECT p.oid, c.relname, p.polname, p.polpermissive, p.polcmd, p.polroles,"
                " pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)"
                " FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid ORDER BY 2, 3;\n").stdout


def repaired(args):
    rc, out, err = dbreg(args + ["--target", "pg", "--json"], S.dir)
    expect(rc == 0, "%s: %d %s %s" % (args, rc, out, err))
    return json.loads(out)["repaired"]


def previews_match_the_apply(want):
    """apply --dry-run, init --dry-run and plan --refresh list want (human
    and --json), change nothing, and the apply that follows repairs exactly
    that."""
    before = rls_snapshot()
    for args in (["apply", "--dry-run"], ["init", "--dry-run"], ["plan", "--refresh"]):
        got = repaired(args)
        expect(got == want, "%s --json listed %r, not %r" % (args, got, want))
        rc, out, err = dbreg(args + ["--target", "pg"], S.dir)
        said = [line.split(": apply would repair ", 1)[1] for line in out.splitlines() if ": apply would repair " in line]
        expect(rc == 0 and said == want, "%s: %r\n%s%s" % (args, said, out, err))
    expect(rls_snapshot() == before, "a preview changed the policies:\n%s\n%s" % (before, rls_snapshot()))
    # Offline, plan says what it cannot know instead of nothing.
    rc, out, err = dbreg(["plan", "--target", "pg", "--json"], S.dir)
    expect(rc == 0 and json.loads(out)["repaired"] is None, out + err)
    rc, out, err = dbreg(["plan", "--target", "pg"], S.dir)
    expect(rc == 0 and "this offline plan cannot see" in err and "plan --refresh" in err, out + err)
    got = repaired(["apply"])
    expect(got == want, "apply repaired %r, the previews said %r" % (got, want))
    for args in (["apply", "--dry-run"], ["plan", "--refresh"]):
        expect(repaired(args) == [], "%s after the apply: not empty" % args)


@case
def dry_run_and_plan_list_what_apply_repairs_and_change_nothing():
    # A table opened by hand, one whose owner bypasses, a policy widened,
    # one dropped: with rows, the app sees w2's notes until apply runs.
    psql(S.owner_url, "ALTER TABLE ydtb_basic_notes DISABLE ROW LEVEL SECURITY;\n"
                      "ALTER TABLE ydtb_basic_tasks NO FORCE ROW LEVEL SECURITY;\n"
                      "ALTER POLICY ydtb_workspace_isolation ON ydtb_rls_docs USING (true);\n"
                      "DROP POLICY ydtb_workspace_isolation ON ydtb_workspace_tools;\n")
    try:
        rc, out, err = dbreg(["verify", "--target", "pg", "--json"], S.dir)
        expect(rc == 6 and sorted({p["table"] for p in json.loads(out)["problems"]}) ==
               ["ydtb_basic_notes", "ydtb_basic_tasks", "ydtb_rls_docs", "ydtb_workspace_tools"], out)
        expect(visible("app", "w1")["ydtb_basic_notes"] == "w1,w2", "RLS off did not open the table")
        previews_match_the_apply([
            "ydtb_workspace_tools: policy ydtb_workspace_isolation was missing or not the one declared: made again",
            "ydtb_rls_docs: policy ydtb_workspace_isolation was missing or not the one declared: made again",
            "ydtb_basic_notes: row-level security was off: enabled",
            "ydtb_basic_tasks: row-level security was not forced (the owner bypassed it): forced"])
    finally:
        dbreg(["apply", "--target", "pg"], S.dir)   # the next cases start from a repaired database
    expect(visible("app", "w1")["ydtb_basic_notes"] == "w1", "apply did not close the table again")
    rc, out, err = dbreg(["verify", "--target", "pg"], S.dir)
    expect(rc == 0, err)


@case
def dry_run_and_plan_list_the_policies_a_changed_setting_makes_again():
    toml = os.path.join(S.dir, "dbreg.toml")
    with open(toml) as fp:
        text = fp.read()
    # In the run's order: the packages core first, then by name; their tables as declared.
    core_first = ["ydtb_workspace_members", "ydtb_workspace_tools", "ydtb_rls_docs", "ydtb_basic_notes",
                  "ydtb_basic_tasks", "ydtb_basic_note_tags"]
    said = ": policy ydtb_workspace_isolation was missing or not the one declared: made again"
    try:
        with open(toml, "w") as fp:
            fp.write(text + 'setting = "tenant.id"\n')
        previews_match_the_apply([t + said for t in core_first])
        p = psql(S.super_url, "SELECT count(*) FROM pg_policies WHERE qual LIKE '%tenant.id%';\n")
        expect(p.stdout.strip() == str(len(WORKSPACE_TABLES)), p.stdout)
    finally:
        with open(toml, "w") as fp:
            fp.write(text)
    try:
        # Back to the default setting: the policies are all made again.
        previews_match_the_apply([t + said for t in core_first])
    finally:
        dbreg(["apply", "--target", "pg"], S.dir)
    expect(visible("app", "w2")["ydtb_rls_docs"] == "w2", "the default setting is not read again")


@case
def a_backfill_the_policies_would_filter_fails_instead_of_changing_nothing():
    # FORCE binds the owner that runs the migrations, and a migration sets
    # no workspace: this UPDATE saw no rows, was recorded as applied, and
    # changed nothing, without a word (the audit). With row_security off
    # for the run it fails, exit 4, nothing changed, a hint that fits.
    path = os.path.join(S.dir, "tomls", "rls.toml")
    with open(path) as fp:
        text = fp.read()
    before = psql(S.super_url, "SELECT string_agg(id || '=' || body, ',' ORDER BY id) FROM ydtb_rls_docs;\n").stdout
    with open(path, "w") as fp:
        fp.write(text.replace('version = "1.0.0"\ndescription', 'version = "1.1.0"\ndescription', 1) +
                 '\n[[migrations]]\nid = "0002_backfill"\nversion = "1.1.0"\n'
                 'up = "UPDATE ydtb_rls_docs SET body = body || \'!\' WHERE body IS NOT NULL;"\n'
                 'down = "SELECT 1;"\n')
    try:
        rc, out, err = dbreg(["apply", "--target", "pg", "--json"], S.dir)
        doc = json.loads(out)
        expect(rc == 4 and doc["error"]["sqlstate"] == "42501" and "row-level security" in doc["error"]["message"],
               "%d %s %s" % (rc, out, err))
        expect("BYPASSRLS" in doc["error"]["hint"] and "NO FORCE" not in doc["error"]["hint"], doc["error"])
        after = psql(S.super_url, "SELECT string_agg(id || '=' || body, ',' ORDER BY id) FROM ydtb_rls_docs;\n"
                                  "SELECT count(*) FROM ydtb_registry_migrations WHERE migration = '0002_backfill';\n")
        expect(after.stdout == before + "0\n", "changed: %r, before %r" % (after.stdout, before))
        # The session is as it was for what follows (verify reads as the owner).
        rc, out, err = dbreg(["verify", "--target", "pg"], S.dir)
        expect(rc == 0, "verify: %d %s" % (rc, err))
    finally:
        with open(path, "w") as fp:
            fp.write(text)


@case
def verify_without_row_level_security_in_dbreg_toml_reports_the_policies_left():
    # The project stopped asking for row-level security (the line removed,
    # or false): the policies stayed and verify said all was well, while an
    # application that sets no workspace sees no rows (the audit). Now each
    # table still holding dbreg's policy is a difference, exit 6.
    d = project({"tomls/rls.toml": RLS_PKG, "dbreg.toml": '[targets.pg]\nurl = "${DBREG_RLS_URL}"\n'})
    try:
        rc, out, err = dbreg(["verify", "--target", "pg", "--json"], d)
        doc = json.loads(out)
        tables = sorted(p["table"] for p in doc["problems"])
        expect(rc == 6 and tables == WORKSPACE_TABLES, "%d %s" % (rc, out))
        expect(all("does not ask for row-level security" in p["message"] for p in doc["problems"]), out)
        with open(os.path.join(d, "dbreg.toml"), "a") as fp:
            fp.write("[isolation]\nrow_level_security = true\n")
        rc, out, err = dbreg(["verify", "--target", "pg"], d)
        expect(rc == 0, "with it again: %d %s" % (rc, err))
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case
def down_to_nothing_removes_them_with_the_tables():
    rc, out, err = dbreg(["down", "@t/rls", "--to", "0.0.0", "--target", "pg"], S.dir)
    expect(rc == 0, "down: %d %s" % (rc, err))
    p = psql(S.super_url, "SELECT count(*) FROM pg_policies WHERE tablename = 'ydtb_rls_docs';\n"
                          "SELECT to_regclass('ydtb_rls_docs') IS NULL;\n")
    expect(p.stdout.split() == ["0", "t"], p.stdout)


# ---- the rules per statement, through the command (no server needed) ----

AL_PKG = """[package]
name = "@t/al"
version = "1.0.0"

[tables.ydtb_al_t]
description = "x"
workspace_scoped = true

[tables.ydtb_al_t.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "0001"
version = "1.0.0"
up_sqlite = "CREATE TABLE ydtb_al_t (id TEXT PRIMARY KEY NOT NULL, workspace_id TEXT NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE); CREATE INDEX ydtb_al_t_workspace_id_idx ON ydtb_al_t (workspace_id);"
up_postgres = '''
CREATE TABLE IF NOT EXISTS ydtb_al_t (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS ydtb_al_t_workspace_id_idx ON ydtb_al_t (workspace_id);
%s'''
"""


def offline_project(statement):
    return project({"tomls/al.toml": AL_PKG % statement})


offline = []


@offline.append
def validate_exits_1_at_each_breaking_statement():
    for stmt, code, words in [
            ("ALTER TABLE IF EXISTS ydtb_al_t RENAME TO al_t;", "DBR020", "loses the ydtb_ prefix"),
            ("CREATE TABLE IF NOT EXISTS ydtb_al_copy AS SELECT id FROM ydtb_al_t;", "DBR046",
             "without a workspace_id column"),
            ("ALTER TABLE ydtb_al_t DROP CONSTRAINT IF EXISTS ydtb_al_t_workspace_id_fkey;", "DBR022",
             "drops the foreign key"),
            ("ALTER TABLE ydtb_al_t ALTER COLUMN workspace_id DROP NOT NULL;", "DBR023", "belong to no workspace")]:
        d = offline_project(stmt + "\n")
        try:
            rc, out, err = dbreg(["validate", "--json"], d)
            expect(rc == 1, "%s: exit %d" % (stmt, rc))
            hits = [x for x in json.loads(out)["diagnostics"] if x["code"] == code and words in x["message"]]
            expect(hits and (hits[0]["file"], hits[0]["line"], hits[0]["column"]) == ("tomls/al.toml", 19, 1),
                   "%s: %s" % (stmt, out))
            rc, out, err = dbreg(["validate"], d)
            pattern = r"^tomls/al\.toml:19:1: error\[%s\]: .*%s.*\(hint: " % (code, re.escape(words))
            expect(rc == 1 and re.search(pattern, err, re.M), err)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    d = offline_project("ALTER TABLE IF EXISTS ydtb_al_t RENAME TO ydtb_al_things;\n")
    try:
        rc, out, err = dbreg(["validate"], d)
        expect(rc == 0, err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@offline.append
def a_setting_that_is_no_setting_name_is_refused_quoting_what_was_written():
    # The refusal quoted "app.workspace_id", the default, not the value
    # (the audit); an injection attempt never reaches a policy.
    d = project({"dbreg.toml": '[isolation]\nrow_level_security = true\nsetting = "x\'); drop table y; --"\n'})
    try:
        rc, out, err = dbreg(["validate"], d)
        expect(rc == 1 and 'dbreg.toml:3:11: error[DBR014]: isolation.setting "x\'); drop table y; --" is not a '
               'custom setting name' in err, "%d %s" % (rc, err))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    global S
    print("1..%d" % (len(offline) + len(cases)))
    failed = run_cases(offline)
    try:
        S = Setup()
        skip = None
    except Skip as s:
        skip = s
    try:
        failed += run_cases(cases, first=len(offline) + 1, skip=skip)
    finally:
        if S:
            S.close()
        cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
