#!/usr/bin/env python3
"""The schema corpus (tests/schema-corpus/), end to end through the dbreg
command: what `validate` accepts, `init` applies and `verify` confirms, on
SQLite and on the real PostgreSQL server; and each kind of difference is
found by `validate` (DBR047) in the migrations and by `verify` on a target
where it was introduced by hand.

usage: test_schema.py DBREG TOMLS_DIR CORPUS_DIR SHARED_DIR
PostgreSQL cases use DBREG_TEST_PG_URL (a fresh database per case); they fail
without it unless DBREG_TEST_NO_PG=1. Prints TAP."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, expect, main, pg_database, run  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "schema")
CORPUS = os.path.abspath(sys.argv[3])
SHARED = os.path.abspath(sys.argv[4])


def project(packages):
    """A project folder with the real core package and `packages` ({file: text})."""
    return clitest.project({"tomls/" + name: text for name, text in packages.items()}, with_tomls=["core.toml"])


def corpus(name):
    with open(os.path.join(CORPUS, name)) as fp:
        return fp.read()


def corpus_project():
    return project({name: corpus(name) for name in sorted(os.listdir(CORPUS)) if name.endswith(".toml")})


def psql(url, sql):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], check=True, capture_output=True,
                          text=True).stdout


def init_and_verify(d, target):
    rc, out, err = run(["validate"], d)
    expect(rc == 0, "validate exited %d:\n%s%s" % (rc, out, err))
    rc, out, err = run(["init", "--target", target], d)
    expect(rc == 0, "init on %s exited %d:\n%s%s" % (target, rc, out, err))
    rc, out, err = run(["verify", "--target", target], d)
    expect(rc == 0, "verify on %s exited %d:\n%s%s" % (target, rc, out, err))


def verify_problems(d, target):
    rc, out, err = run(["verify", "--json", "--target", target], d)
    doc = json.loads(out)
    return rc, doc["problems"]


def dbr047(d, extra=()):
    """The DBR047 diagnostics of `validate --json` as (table, column, message)."""
    rc, out, err = run(["validate", "--json"] + list(extra), d)
    doc = json.loads(out)
    return rc, [(x.get("table"), x.get("column_name"), x["message"]) for x in doc["diagnostics"] if x["code"] == "DBR047"]


def example_manifest():
    """The contract's example manifest (manifest.md, "Example")."""
    with open(os.path.join(SHARED, "spec", "manifest.md")) as fp:
        text = fp.read()
    at = text.index("## Example")
    m = re.search(r"```toml\n(.*?)```", text[at:], re.S)
    return m.group(1)


# ---- what validate accepts, init applies and verify confirms ------------------

@case
def corpus_validates_inits_and_verifies_on_sqlite():
    d = corpus_project()
    init_and_verify(d, "sqlite:corpus.db")
    # A second init is a no-op that still verifies.
    init_and_verify(d, "sqlite:corpus.db")


@case
def corpus_validates_inits_and_verifies_on_postgres():
    url, drop = pg_database()
    try:
        init_and_verify(corpus_project(), url)
    finally:
        drop()


@case
def contract_example_inits_and_verifies_on_sqlite():
    d = project({"basic.toml": example_manifest()})
    init_and_verify(d, "sqlite:example.db")


@case
def contract_example_inits_and_verifies_on_postgres():
    url, drop = pg_database()
    try:
        init_and_verify(project({"basic.toml": example_manifest()}), url)
    finally:
        drop()


# ---- each kind of difference, in the migrations: DBR047 ------------------------

# (what, body text replaced, replacement, table, column, words of the message)
BODY_EDITS = [
    ("column left out", "  c_date date,\n", "", "ydtb_cg_types", "c_date", "do not create it"),
    ("wrong type", "c_bytea bytea,", "c_bytea integer,", "ydtb_cg_types", "c_bytea", "declared bytea"),
    ("missing NOT NULL", "c_integer int NOT NULL DEFAULT 42", "c_integer int DEFAULT 42", "ydtb_cg_types",
     "c_integer", "leave it nullable"),
    ("extra NOT NULL", "c_bool_f bool DEFAULT false", "c_bool_f bool NOT NULL DEFAULT false", "ydtb_cg_types",
     "c_bool_f", "not declared not_null"),
    ("wrong default", "c_integer int NOT NULL DEFAULT 42", "c_integer int NOT NULL DEFAULT 41", "ydtb_cg_types",
     "c_integer", "default 42"),
    ("missing default", "c_expr text DEFAULT 'draft'", "c_expr text", "ydtb_cg_types", "c_expr", "default 'draft'"),
    ("missing index", "CREATE UNIQUE INDEX IF NOT EXISTS ydtb_cg_links_order_uidx ON ydtb_cg_links (workspace_id, slot);",
     "", "ydtb_cg_links", None, "ydtb_cg_links_order_uidx"),
    ("index not unique", "CREATE UNIQUE INDEX IF NOT EXISTS ydtb_cg_links_order_uidx",
     "CREATE INDEX IF NOT EXISTS ydtb_cg_links_order_uidx", "ydtb_cg_links", None, "not unique"),
    ("missing foreign key", "t_restrict text REFERENCES ydtb_cg_types(id) ON DELETE RESTRICT,", "t_restrict text,",
     "ydtb_cg_links", "t_restrict", "no foreign key"),
    ("wrong action", "t_noact text REFERENCES ydtb_cg_types(id) ON DELETE NO ACTION",
     "t_noact text REFERENCES ydtb_cg_types(id) ON DELETE CASCADE", "ydtb_cg_links", "t_noact", "ON DELETE cascade"),
    ("missing unique", "  UNIQUE (kind_code, slot)\n", "  CHECK (slot IS NULL OR slot >= 0)\n", "ydtb_cg_links", None,
     "unique (kind_code, slot)"),
    ("wrong primary key", "  PRIMARY KEY (code, variant)\n", "  PRIMARY KEY (code)\n", "ydtb_cg_kinds", None,
     "primary key"),
    ("undeclared column", "  c_expr text DEFAULT 'draft'\n", "  c_expr text DEFAULT 'draft',\n  c_more text\n",
     "ydtb_cg_types", "c_more", "not declared"),
    # The portable name in an SQLite body: NUMERIC affinity, '0001' stored as 1.
    ("uuid spelled uuid", "ADD COLUMN c_uuid TEXT;", "ADD COLUMN c_uuid uuid;", "ydtb_cg_types", "c_uuid",
     "affinity NUMERIC"),
    ("expression default not declared", "  c_date date,\n", "  c_date date DEFAULT (date('now')),\n",
     "ydtb_cg_types", "c_date", "default none"),
    ("literal default made an expression", "c_integer int NOT NULL DEFAULT 42", "c_integer int NOT NULL DEFAULT (40 + 2)",
     "ydtb_cg_types", "c_integer", "default 42"),
    ("a second foreign key on the columns", "  UNIQUE (kind_code, slot)\n",
     "  UNIQUE (kind_code, slot),\n  FOREIGN KEY (t_noact) REFERENCES ydtb_cg_types(id) ON DELETE CASCADE\n",
     "ydtb_cg_links", "t_noact", "not declared"),
]


def edited_generic(old, new):
    text = corpus("generic.toml")
    expect(old in text, "the corpus no longer holds %r" % old)
    return text.replace(old, new, 1)


@case
def validate_reports_each_kind_of_difference_in_sqlite_bodies():
    for what, old, new, table, column, words in BODY_EDITS:
        d = project({"generic.toml": edited_generic(old, new)})
        rc, found = dbr047(d)
        expect(rc == 1, "%s: validate exited %d" % (what, rc))
        hit = [f for f in found if f[0] == table and (column is None or f[1] == column) and words in f[2]]
        expect(hit, "%s: no DBR047 on %s.%s saying %r; found %s" % (what, table, column, words, found))


# ---- each kind of difference, introduced by hand on the target: verify --------

# (what, SQLite table to rebuild, its CREATE text replaced, replacement, table, column, words)
SQLITE_TAMPER = [
    ("column left out", "ydtb_cg_types", "  c_date date,\n", "", "ydtb_cg_types", "c_date", "missing"),
    ("wrong type", "ydtb_cg_types", "c_bytea bytea,", "c_bytea integer,", "ydtb_cg_types", "c_bytea", "affinity"),
    ("missing NOT NULL", "ydtb_cg_types", "c_integer int NOT NULL DEFAULT 42", "c_integer int DEFAULT 42",
     "ydtb_cg_types", "c_integer", "allows NULL"),
    ("wrong default", "ydtb_cg_types", "c_integer int NOT NULL DEFAULT 42", "c_integer int NOT NULL DEFAULT 7",
     "ydtb_cg_types", "c_integer", "default is 7, declared 42"),
    ("missing foreign key", "ydtb_cg_links", "t_restrict text REFERENCES ydtb_cg_types(id) ON DELETE RESTRICT,",
     "t_restrict text,", "ydtb_cg_links", "t_restrict", "is missing"),
    ("wrong action", "ydtb_cg_links", "t_noact text REFERENCES ydtb_cg_types(id) ON DELETE NO ACTION",
     "t_noact text REFERENCES ydtb_cg_types(id) ON DELETE CASCADE", "ydtb_cg_links", "t_noact", "ON DELETE cascade"),
    # No table to rebuild: the SQL (second field) runs as it is.
    ("missing index", None, "DROP INDEX ydtb_cg_links_slot_idx;", None, "ydtb_cg_links", None,
     "ydtb_cg_links_slot_idx is missing"),
    ("missing primary key", "ydtb_cg_kinds", ",\n  PRIMARY KEY (code, variant)", "", "ydtb_cg_kinds", None,
     "primary key is missing; declared (code, variant)"),
    ("expression default not declared", "ydtb_cg_types", "  c_date date,\n", "  c_date date DEFAULT (date('now')),\n",
     "ydtb_cg_types", "c_date", "declared none"),
    ("literal default made an expression", "ydtb_cg_types", "c_integer int NOT NULL DEFAULT 42",
     "c_integer int NOT NULL DEFAULT (40 + 2)", "ydtb_cg_types", "c_integer", "declared 42"),
    ("the current time made the date", "ydtb_cg_types", "c_ts timestamp DEFAULT CURRENT_TIMESTAMP",
     "c_ts timestamp DEFAULT CURRENT_DATE", "ydtb_cg_types", "c_ts", "declared CURRENT_TIMESTAMP"),
    ("uuid of NUMERIC affinity", "ydtb_cg_types", "c_uuid TEXT", "c_uuid uuid", "ydtb_cg_types", "c_uuid",
     "affinity NUMERIC"),
    ("a second foreign key on the columns", "ydtb_cg_links", "  UNIQUE (kind_code, slot)\n",
     "  UNIQUE (kind_code, slot),\n  FOREIGN KEY (t_noact) REFERENCES ydtb_cg_types(id) ON DELETE CASCADE\n",
     "ydtb_cg_links", "t_noact", "(t_noact) -> ydtb_cg_types is not declared"),
]

# (what, SQL, table, column, words)
PG_TAMPER = [
    ("column left out", "ALTER TABLE ydtb_cg_types DROP COLUMN c_date", "ydtb_cg_types", "c_date", "missing"),
    ("wrong type", "ALTER TABLE ydtb_cg_types ALTER COLUMN c_varchar20 TYPE varchar(30)", "ydtb_cg_types",
     "c_varchar20", "character varying(30)"),
    ("missing NOT NULL", "ALTER TABLE ydtb_cg_types ALTER COLUMN c_integer DROP NOT NULL", "ydtb_cg_types",
     "c_integer", "allows NULL"),
    ("wrong default", "ALTER TABLE ydtb_cg_types ALTER COLUMN c_integer SET DEFAULT 7", "ydtb_cg_types",
     "c_integer", "default is 7, declared 42"),
    ("missing foreign key", "ALTER TABLE ydtb_cg_links DROP CONSTRAINT ydtb_cg_links_t_restrict_fkey",
     "ydtb_cg_links", "t_restrict", "is missing"),
    ("missing index", "DROP INDEX ydtb_cg_links_slot_idx", "ydtb_cg_links", None, "ydtb_cg_links_slot_idx is missing"),
    ("missing primary key", "ALTER TABLE ydtb_cg_kinds DROP CONSTRAINT ydtb_cg_kinds_pkey", "ydtb_cg_kinds", None,
     "primary key is missing; declared (code, variant)"),
    ("a bigserial without its sequence", "ALTER TABLE ydtb_cd_items ALTER COLUMN id DROP DEFAULT", "ydtb_cd_items",
     "id", "no sequence fills it"),
    ("an expression default not declared", "ALTER TABLE ydtb_cg_types ALTER COLUMN c_uuid SET DEFAULT gen_random_uuid()",
     "ydtb_cg_types", "c_uuid", "declared none"),
    ("a literal default made an expression", "ALTER TABLE ydtb_cd_items ALTER COLUMN qty SET DEFAULT (1 + 1)",
     "ydtb_cd_items", "qty", "declared 1"),
    ("one expression made another", "ALTER TABLE ydtb_cd_items ALTER COLUMN ref SET DEFAULT md5(random()::text)::uuid",
     "ydtb_cd_items", "ref", "declared gen_random_uuid()"),
    ("the current time made the date", "ALTER TABLE ydtb_cg_types ALTER COLUMN c_tstz SET DEFAULT CURRENT_DATE",
     "ydtb_cg_types", "c_tstz", "declared CURRENT_TIMESTAMP"),
    ("a second foreign key on the columns", "ALTER TABLE ydtb_cg_links ADD CONSTRAINT a_second_fk"
     " FOREIGN KEY (t_noact) REFERENCES ydtb_cg_types(id) ON DELETE CASCADE", "ydtb_cg_links", "t_noact",
     "(t_noact) -> ydtb_cg_types is not declared"),
    ("a NOT VALID foreign key", "ALTER TABLE ydtb_cg_links DROP CONSTRAINT ydtb_cg_links_t_plain_fkey;"
     " ALTER TABLE ydtb_cg_links ADD CONSTRAINT ydtb_cg_links_t_plain_fkey FOREIGN KEY (t_plain)"
     " REFERENCES ydtb_cg_types(id) NOT VALID", "ydtb_cg_links", "t_plain", "NOT VALID"),
]


def sqlite_rebuild(path, table, old, new):
    """Changes a table by hand the way SQLite allows: a new table from the
    edited CREATE text, the rows copied over, the old one dropped."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA foreign_keys = OFF")
        sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
        expect(old in sql, "%s holds no %r: %s" % (table, old, sql))
        indexes = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                                            " AND sql IS NOT NULL", (table,))]
        sql = sql.replace(old, new, 1).replace(table, table + "_new", 1)
        db.execute(sql)
        cols = [r[1] for r in db.execute("PRAGMA table_info(%s_new)" % table)]
        keep = ", ".join(c for c in cols if c in [r[1] for r in db.execute("PRAGMA table_info(%s)" % table)])
        db.execute("INSERT INTO %s_new (%s) SELECT %s FROM %s" % (table, keep, keep, table))
        db.execute("DROP TABLE %s" % table)
        db.execute("ALTER TABLE %s_new RENAME TO %s" % (table, table))
        for ix in indexes:
            db.execute(ix)
        db.commit()
    finally:
        db.close()


def seed(d, target):
    """A workspace and rows in the corpus tables, so tampering has data to keep."""
    rows = ("INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w');"
            "INSERT INTO ydtb_cg_types (id, workspace_id) VALUES ('t1', 'w1'), ('x', 'w1');"
            "INSERT INTO ydtb_cg_links (id, workspace_id, slug, t_restrict) VALUES (1, 'w1', 's', 't1');"
            "INSERT INTO ydtb_cd_items (workspace_id, name) VALUES ('w1', 'n1'), ('w1', 'n2');")
    if target.startswith("sqlite:"):
        db = sqlite3.connect(os.path.join(d, target[len("sqlite:"):]))
        db.executescript(rows)
        db.commit()
        db.close()
    else:
        psql(target, rows)


@case
def verify_reports_each_kind_of_difference_made_by_hand_on_sqlite():
    for what, table, old, new, ptable, column, words in SQLITE_TAMPER:
        d = corpus_project()
        init_and_verify(d, "sqlite:t.db")
        seed(d, "sqlite:t.db")
        if table:
            sqlite_rebuild(os.path.join(d, "t.db"), table, old, new)
        else:
            by_hand(d, "sqlite:t.db", old)
        rc, problems = verify_problems(d, "sqlite:t.db")
        expect(rc == 6, "%s: verify exited %d" % (what, rc))
        hit = [p for p in problems if p["table"] == ptable and (column is None or p["column"] == column)
               and words in p["message"]]
        expect(hit, "%s: no problem on %s.%s saying %r; found %s" % (what, ptable, column, words, problems))


@case
def verify_reports_each_kind_of_difference_made_by_hand_on_postgres():
    url, drop = pg_database()
    try:
        d = corpus_project()
        init_and_verify(d, url)
        seed(d, url)
        for what, sql, table, column, words in PG_TAMPER:
            psql(url, sql)
            rc, problems = verify_problems(d, url)
            expect(rc == 6, "%s: verify exited %d" % (what, rc))
            hit = [p for p in problems if p["table"] == table and (column is None or p["column"] == column)
                   and words in p["message"]]
            expect(hit, "%s: no problem on %s.%s saying %r; found %s" % (what, table, column, words, problems))
    finally:
        drop()


@case
def verify_takes_the_servers_spellings_of_the_declared_defaults_on_postgres():
    # Written again by hand in other words the server reads as the same
    # expression: casts it adds itself, now() and CURRENT_TIMESTAMP,
    # parentheses, case. With rows in the tables.
    url, drop = pg_database()
    try:
        d = corpus_project()
        init_and_verify(d, url)
        seed(d, url)
        psql(url, "ALTER TABLE ydtb_cd_items ALTER COLUMN created_at SET DEFAULT CURRENT_TIMESTAMP;"
                  " ALTER TABLE ydtb_cd_items ALTER COLUMN ref SET DEFAULT (GEN_RANDOM_UUID());"
                  " ALTER TABLE ydtb_cd_items ALTER COLUMN qty SET DEFAULT ((1));"
                  " ALTER TABLE ydtb_cg_types ALTER COLUMN c_expr SET DEFAULT ('draft'::text);"
                  " ALTER TABLE ydtb_cg_types ALTER COLUMN c_ts SET DEFAULT now();"
                  " ALTER TABLE ydtb_cd_items ALTER COLUMN id SET DEFAULT nextval('ydtb_cd_items_id_seq')")
        rc, problems = verify_problems(d, url)
        expect(rc == 0 and not problems, "verify exited %d: %s" % (rc, problems))
        # A bigserial made an identity column is still filled by a sequence.
        psql(url, "ALTER TABLE ydtb_cd_items ALTER COLUMN id DROP DEFAULT;"
                  " ALTER TABLE ydtb_cd_items ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (START 100)")
        rc, problems = verify_problems(d, url)
        expect(rc == 0 and not problems, "verify exited %d with an identity id: %s" % (rc, problems))
        psql(url, "INSERT INTO ydtb_cd_items (workspace_id, name) VALUES ('w1', 'n3')")
    finally:
        drop()


TYPED_DEFAULTS = '''[package]
name = "@t/typed"
version = "1.0.0"

[tables.ydtb_td_items]
description = "String defaults on columns that are not text"
workspace_scoped = true

[tables.ydtb_td_items.columns]
id = { type = "text", primary_key = true }
day = { type = "date", default = "2020-01-01" }
at = { type = "timestamptz", default = "2020-01-01 00:00:00+00" }
doc = { type = "jsonb", default = '{"a": 1}' }
raw = { type = "json", default = '{"a": 1}' }

[[migrations]]
id = "0001_items"
version = "1.0.0"
# SQLite keeps the text as written: there it is the declared text.
up_sqlite = """
CREATE TABLE IF NOT EXISTS ydtb_td_items (
  id text PRIMARY KEY NOT NULL,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  day text DEFAULT '2020-01-01',
  at text DEFAULT '2020-01-01 00:00:00+00',
  doc text DEFAULT '{"a": 1}',
  raw text DEFAULT '{"a": 1}'
);
CREATE INDEX IF NOT EXISTS ydtb_td_items_workspace_id_idx ON ydtb_td_items (workspace_id);
"""
up_postgres = """
CREATE TABLE IF NOT EXISTS ydtb_td_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  day date DEFAULT '2020-01-01',
  at timestamptz DEFAULT '2020-01-01T00:00:00Z',
  doc jsonb DEFAULT '{"a":1}',
  raw json DEFAULT '{ "a" : 1 }'
);
CREATE INDEX IF NOT EXISTS ydtb_td_items_workspace_id_idx ON ydtb_td_items (workspace_id);
"""
down = "DROP TABLE IF EXISTS ydtb_td_items;"
'''


@case
def verify_compares_string_defaults_of_typed_columns_by_value_on_postgres():
    # The same value spelled otherwise is no difference (PostgreSQL keeps
    # '2020-01-01T00:00:00Z' as '2020-01-01 00:00:00+00'); another value is.
    url, drop = pg_database()
    try:
        d = project({"typed.toml": TYPED_DEFAULTS})
        init_and_verify(d, url)
        for column, sql, shown in (
                ("day", "ALTER TABLE ydtb_td_items ALTER COLUMN day SET DEFAULT '2021-06-01'", "2021-06-01"),
                ("at", "ALTER TABLE ydtb_td_items ALTER COLUMN at SET DEFAULT '2020-01-01 00:00:01+00'",
                 "2020-01-01 00:00:01"),
                ("doc", "ALTER TABLE ydtb_td_items ALTER COLUMN doc SET DEFAULT '{\"a\": 2}'", '"a": 2'),
                ("raw", "ALTER TABLE ydtb_td_items ALTER COLUMN raw SET DEFAULT '[1]'", "[1]")):
            psql(url, sql)
            rc, problems = verify_problems(d, url)
            hit = [p for p in problems if p["table"] == "ydtb_td_items" and p["column"] == column
                   and "default" in p["message"] and shown in p["message"]]
            expect(rc == 6 and hit, "%s: a changed default was not reported (exit %d): %s" % (column, rc, problems))
        # Back to the declared values, spelled otherwise again: clean.
        psql(url, "ALTER TABLE ydtb_td_items ALTER COLUMN day SET DEFAULT '2020-01-01'::date;"
                  " ALTER TABLE ydtb_td_items ALTER COLUMN at SET DEFAULT '2020-01-01 01:00:00+01';"
                  " ALTER TABLE ydtb_td_items ALTER COLUMN doc SET DEFAULT '{ \"a\" : 1 }';"
                  " ALTER TABLE ydtb_td_items ALTER COLUMN raw SET DEFAULT '{\"a\":1}'")
        rc, problems = verify_problems(d, url)
        expect(rc == 0 and problems == [], "the declared values, spelled otherwise: %s" % problems)
    finally:
        drop()


# ---- a truthful verify ------------------------------------------------------------

VERSIONED_V1 = '''[package]
name = "@t/versioned"
version = "1.0.0"

[tables.ydtb_ver_items]
description = "Items"
workspace_scoped = true

[tables.ydtb_ver_items.columns]
id = { type = "text", primary_key = true }
title = { type = "text", not_null = true }

[[migrations]]
id = "0001_items"
version = "1.0.0"
up = """
CREATE TABLE IF NOT EXISTS ydtb_ver_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  title text NOT NULL
);
CREATE INDEX IF NOT EXISTS ydtb_ver_items_workspace_id_idx ON ydtb_ver_items (workspace_id);
"""
down = "DROP TABLE IF EXISTS ydtb_ver_items;"
'''

# 2.0.0 adds a table of its own.
VERSIONED_V2 = (VERSIONED_V1.replace('version = "1.0.0"\n\n[tables', 'version = "2.0.0"\n\n[tables', 1)
                .replace('title = { type = "text", not_null = true }\n',
                         'title = { type = "text", not_null = true }\n\n'
                         '[tables.ydtb_ver_tags]\ndescription = "Tags"\nworkspace_scoped = true\n\n'
                         '[tables.ydtb_ver_tags.columns]\nid = { type = "text", primary_key = true }\n')
                + '''
[[migrations]]
id = "0002_tags"
version = "2.0.0"
up = """
CREATE TABLE IF NOT EXISTS ydtb_ver_tags (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ydtb_ver_tags_workspace_id_idx ON ydtb_ver_tags (workspace_id);
"""
down = "DROP TABLE IF EXISTS ydtb_ver_tags;"
''')


def by_hand(d, target, sql):
    if target.startswith("sqlite:"):
        db = sqlite3.connect(os.path.join(d, target[len("sqlite:"):]))
        db.executescript(sql)
        db.commit()
        db.close()
    else:
        psql(target, sql)


def older_version_then_dropped(target):
    d = project({"versioned.toml": VERSIONED_V1})
    init_and_verify(d, target)        # registers 1.0.0 and its schema
    with open(os.path.join(d, "tomls", "versioned.toml"), "w") as fp:
        fp.write(VERSIONED_V2)
    rc, out, err = run(["apply", "--target", target, "--to", "@t/versioned@1.0.0"], d)
    expect(rc == 0, "apply --to exited %d: %s%s" % (rc, out, err))
    # At 1.0.0 on purpose: compared with 1.0.0's recorded schema, it matches.
    rc, out, err = run(["verify", "--json", "--target", target], d)
    doc = json.loads(out)
    expect(rc == 0 and doc["problems"] == [] and doc["not_compared"] == [],
           "verify at 1.0.0 exited %d: %s %s" % (rc, out, err))
    by_hand(d, target, "DROP TABLE ydtb_ver_items;")
    rc, problems = verify_problems(d, target)
    expect(rc == 6, "verify after the drop exited %d: %s" % (rc, problems))
    expect([p for p in problems if p["table"] == "ydtb_ver_items" and "missing" in p["message"]],
           "the dropped table is not named: %s" % problems)
    expect(not [p for p in problems if p["table"] == "ydtb_ver_tags"],
           "2.0.0's table is held against a target at 1.0.0: %s" % problems)
    # Without the recorded schema (a state file from elsewhere), the
    # migrations up to 1.0.0, replayed (SQLite in memory, PostgreSQL in a
    # scratch schema on the target's server), say what it holds.
    shutil.rmtree(os.path.join(d, ".dbreg"))
    rc, out, err = run(["verify", "--json", "--target", target], d)
    doc = json.loads(out)
    expect(rc == 6 and doc["not_compared"] == [] and [p["table"] for p in doc["problems"]] == ["ydtb_ver_items"],
           "verify with the replayed 1.0.0 exited %d: %s %s" % (rc, out, err))
    if target.startswith("sqlite:"):
        return
    expect(psql(target, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dbreg_scratch%'").strip() == "0",
           "a scratch schema was left behind")
    # A role that may not create the scratch schema: the package is not
    # compared, verify says so and why, and still looks for the tables its
    # migrations up to 1.0.0 create.
    role = "dbreg_verify_reader"
    psql(target, "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN PASSWORD 'rd';"
                 "GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s;" % (role, role, role))
    try:
        rest = target.split("://", 1)[1].split("@", 1)[1]
        reader = "postgresql://%s:rd@%s" % (role, rest)
        rc, out, err = run(["verify", "--target", reader], d)
        expect(rc == 6 and "@t/versioned 1.0.0 not compared" in err and "never registered here" in err
               and "cannot be replayed" in err, "not said what was not compared: %d %s %s" % (rc, out, err))
        rc, out, err = run(["verify", "--json", "--target", reader], d)
        doc = json.loads(out)
        nc = doc["not_compared"]
        expect(len(nc) == 1 and nc[0]["package"] == "@t/versioned" and nc[0]["version"] == "1.0.0"
               and "only the presence" in nc[0]["reason"] and "scratch schema" in nc[0]["reason"],
               "not_compared: %s" % nc)
        expect([p["table"] for p in doc["problems"]] == ["ydtb_ver_items"], "problems: %s" % doc["problems"])
    finally:
        psql(target, "DROP OWNED BY %s; DROP ROLE %s;" % (role, role))


OWN_WS_INDEX = """[package]
name = "@t/ownidx"
version = "1.0.0"

[tables.ydtb_own]
description = "a workspace table with its own index on workspace_id"
workspace_scoped = true

[tables.ydtb_own.columns]
id = { type = "text", primary_key = true }

[tables.ydtb_own.indexes]
ydtb_own_ws = { columns = ["workspace_id"] }

[[migrations]]
id = "0001"
version = "1.0.0"
up_postgres = '''
CREATE TABLE IF NOT EXISTS ydtb_own (id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS ydtb_own_ws ON ydtb_own (workspace_id);
'''
"""


@case
def a_workspace_table_with_its_own_index_on_workspace_id_gets_no_second_one_and_validate_says_what_it_did_not_replay():
    # workspace_scoped adds NAME_workspace_id_idx "unless the table
    # declares them itself": one on workspace_id alone under another name
    # is that index. It was demanded all the same, which the offline
    # validate of this PostgreSQL-only package could not see, so init
    # applied it and failed its own verify (audit aver 5).
    d = project({"own.toml": OWN_WS_INDEX})
    url, drop = pg_database()
    try:
        init_and_verify(d, url)
        rc, out, err = run(["validate", "--target", url], d)
        expect(rc == 0 and "DBR047" not in err and "without a SQLite body" not in err, (rc, err))
        rc, out, err = run(["validate", "--target", url, "--json"], d)
        expect(rc == 0 and json.loads(out)["not_replayed"] == [], out)
    finally:
        drop()
    # Offline, what could not be compared is said (it passed in silence).
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and "note: @t/ownidx has migrations without a SQLite body" in err, err)
    rc, out, err = run(["validate", "--json"], d)
    expect(rc == 0 and json.loads(out)["not_replayed"] == ["@t/ownidx"], out)


def newer_version_than_the_manifests(target):
    # An older checkout verifying a newer database, with no recorded schema
    # of the newer version: the replay of the migrations it has made the
    # older schema, and 2.0.0's table was "not declared by any package"
    # (exit 6), nothing saying the package is newer (audit aver 3).
    d = project({"versioned.toml": VERSIONED_V2})
    init_and_verify(d, target)
    with open(os.path.join(d, "tomls", "versioned.toml"), "w") as fp:
        fp.write(VERSIONED_V1)
    shutil.rmtree(os.path.join(d, ".dbreg"))
    rc, out, err = run(["verify", "--json", "--target", target], d)
    doc = json.loads(out)
    nc = doc["not_compared"]
    expect(rc == 0 and doc["problems"] == [], "verify of a newer database exited %d: %s %s" % (rc, out, err))
    expect(len(nc) == 1 and nc[0]["package"] == "@t/versioned" and nc[0]["version"] == "2.0.0"
           and "newer than these manifests" in nc[0]["reason"] and "ydtb_ver_tags" in nc[0]["reason"], nc)
    # What the manifests know of it is still looked for.
    by_hand(d, target, "DROP TABLE ydtb_ver_items;")
    rc, problems = verify_problems(d, target)
    expect(rc == 6 and [p["table"] for p in problems] == ["ydtb_ver_items"], (rc, problems))


@case
def verify_of_a_newer_version_than_the_manifests_is_not_compared_on_sqlite():
    newer_version_than_the_manifests("sqlite:ver.db")


@case
def verify_of_a_newer_version_than_the_manifests_is_not_compared_on_postgres():
    url, drop = pg_database()
    try:
        newer_version_than_the_manifests(url)
    finally:
        drop()


@case
def verify_at_an_older_version_compares_its_recorded_schema_on_sqlite():
    older_version_then_dropped("sqlite:ver.db")


@case
def verify_at_an_older_version_compares_its_recorded_schema_on_postgres():
    url, drop = pg_database()
    try:
        older_version_then_dropped(url)
    finally:
        drop()


@case
def the_replay_of_an_older_version_on_postgresql_changes_nothing_on_the_target():
    # The scratch schema catches unqualified names only: a body that names
    # public.ydtb_workspaces reached the real table, so verify (a health
    # check) wrote rows back (the audit). The replay runs in a transaction
    # that is rolled back: the target's rows stay as they are.
    touching = VERSIONED_V1 + '''
[[migrations]]
id = "0002_seed"
version = "1.0.0"
up_postgres = """
INSERT INTO public.ydtb_workspaces (id, name, slug) VALUES ('seeded', 'Seeded', 'seeded') ON CONFLICT DO NOTHING;
UPDATE public.ydtb_workspaces SET name = 'renamed by a replay' WHERE id <> 'seeded';
"""
up_sqlite = "SELECT 1;"
down = "SELECT 1;"
'''
    later = touching.replace('version = "1.0.0"\n\n[tables', 'version = "2.0.0"\n\n[tables', 1)
    url, drop = pg_database()
    try:
        d = project({"versioned.toml": later})
        rc, out, err = run(["apply", "--target", url, "--to", "@t/versioned@1.0.0"], d)
        expect(rc == 0, "apply --to exited %d: %s%s" % (rc, out, err))
        psql(url, "DELETE FROM ydtb_workspaces; INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'mine', 'w1');"
                  "INSERT INTO ydtb_ver_items (id, workspace_id, title) VALUES ('i1', 'w1', 'kept')")
        rows = "SELECT string_agg(id || '=' || name, ',' ORDER BY id) FROM ydtb_workspaces"
        before = psql(url, rows)
        shutil.rmtree(os.path.join(d, ".dbreg"))
        rc, out, err = run(["verify", "--json", "--target", url], d)
        doc = json.loads(out)
        expect(rc == 0 and doc["not_compared"] == [], "verify exited %d: %s %s" % (rc, out, err))
        expect(psql(url, rows) == before, "verify changed the rows: %s, were %s" % (psql(url, rows), before))
        psql(url, "DELETE FROM ydtb_registry_migrations WHERE package = '@t/versioned';"
                  "DELETE FROM ydtb_registry_packages WHERE name = '@t/versioned'")
        rc, out, err = run(["baseline", "@t/versioned@1.0.0", "--target", url], d)
        expect(rc == 0, "baseline exited %d: %s%s" % (rc, out, err))
        expect(psql(url, rows) == before, "baseline changed the rows: %s" % psql(url, rows))
        expect(psql(url, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dbreg_scratch%'").strip() == "0",
               "a scratch schema was left behind")
    finally:
        drop()


def undeclared_reported(target):
    d = corpus_project()
    init_and_verify(d, target)
    by_hand(d, target, "CREATE TABLE ydtb_stray (id text PRIMARY KEY);"
            "CREATE TABLE not_ours (id text PRIMARY KEY, n text);"
            "CREATE INDEX not_ours_n_idx ON not_ours (n);"
            "CREATE INDEX ydtb_cg_types_stray_idx ON ydtb_cg_types (c_date);"
            "CREATE INDEX ydtb_on_not_ours_idx ON not_ours (n);")
    rc, problems = verify_problems(d, target)
    expect(rc == 6, "verify exited %d: %s" % (rc, problems))
    expect([p for p in problems if p["table"] == "ydtb_stray" and "not declared" in p["message"]],
           "the undeclared ydtb_ table is not reported: %s" % problems)
    expect([p for p in problems if p["table"] == "ydtb_cg_types" and "ydtb_cg_types_stray_idx" in p["message"]
            and "not declared" in p["message"]], "the undeclared index is not reported: %s" % problems)
    # A table without the prefix is another program's, but an index with
    # it on that table is a package's that none declares.
    expect([p["message"] for p in problems if p["table"] == "not_ours"]
           == ["index ydtb_on_not_ours_idx (n) on table not_ours is not declared by any package"],
           "a table without the ydtb_ prefix is reported, or the ydtb_ index on it is not: %s" % problems)
    expect(len(problems) == 3, "more than the three: %s" % problems)


@case
def verify_reports_undeclared_ydtb_tables_and_indexes_on_sqlite():
    undeclared_reported("sqlite:stray.db")


@case
def verify_reports_undeclared_ydtb_tables_and_indexes_on_postgres():
    url, drop = pg_database()
    try:
        undeclared_reported(url)
    finally:
        drop()


def real_tomls_project():
    return clitest.project()


def apply_to_older_then_dropped(target):
    """A fresh target brought to @ydtb/basic 1.0.0 only: the state file never
    saw 1.0.0's declarations. verify compares it with what 1.0.0's
    migrations produce, replayed (SQLite in memory, PostgreSQL in a scratch
    schema on the server): a dropped index is named, and the tables dropped
    by hand."""
    d = real_tomls_project()
    rc, out, err = run(["apply", "--target", target, "--to", "@ydtb/basic@1.0.0"], d)
    expect(rc == 0, "apply --to exited %d: %s%s" % (rc, out, err))
    by_hand(d, target, "INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'one', 'one');"
            "INSERT INTO ydtb_basic_notes (id, workspace_id, title) VALUES ('n1', 'w1', 'kept');")
    rc, out, err = run(["verify", "--json", "--target", target], d)
    doc = json.loads(out)
    expect(rc == 0 and doc["problems"] == [], "verify at 1.0.0 exited %d: %s" % (rc, out))
    expect(doc["not_compared"] == [], "not_compared: %s" % doc["not_compared"])
    rc, out, err = run(["verify", "--target", target], d)
    expect(rc == 0 and "matches the declared tables\n" in out, out + err)
    # baseline of that version on a fresh state file is checked the same
    # way: adopted while it matches, refused once it does not.
    by_hand(d, target, "DELETE FROM ydtb_registry_migrations WHERE package = '@ydtb/basic';"
            "DELETE FROM ydtb_registry_packages WHERE name = '@ydtb/basic';")
    shutil.rmtree(os.path.join(d, ".dbreg"))
    rc, out, err = run(["baseline", "@ydtb/basic@1.0.0", "--target", target], d)
    expect(rc == 0 and "recorded 2 migrations" in out, "baseline at 1.0.0 exited %d: %s%s" % (rc, out, err))
    rc, out, err = run(["apply", "--target", target], d)
    expect(rc == 0, "apply after the baseline exited %d: %s%s" % (rc, out, err))
    rc, out, err = run(["down", "@ydtb/basic", "--to", "1.0.0", "--target", target], d)
    expect(rc == 0, "down exited %d: %s%s" % (rc, out, err))
    by_hand(d, target, "DROP INDEX ydtb_basic_notes_workspace_id_idx;")
    rc, problems = verify_problems(d, target)
    expect(rc == 6 and [p["table"] for p in problems] == ["ydtb_basic_notes"]
           and "ydtb_basic_notes_workspace_id_idx" in problems[0]["message"],
           "the dropped index of 1.0.0 is not named: %s" % problems)
    shutil.rmtree(os.path.join(d, ".dbreg"))
    by_hand(d, target, "DELETE FROM ydtb_registry_migrations WHERE package = '@ydtb/basic';"
            "DELETE FROM ydtb_registry_packages WHERE name = '@ydtb/basic';")
    rc, out, err = run(["baseline", "@ydtb/basic@1.0.0", "--target", target], d)
    expect(rc == 6 and "ydtb_basic_notes_workspace_id_idx" in err and "recorded" not in out,
           "baseline without the index exited %d: %s%s" % (rc, out, err))
    by_hand(d, target, "CREATE INDEX ydtb_basic_notes_workspace_id_idx ON ydtb_basic_notes (workspace_id);")
    rc, out, err = run(["baseline", "@ydtb/basic@1.0.0", "--target", target], d)
    expect(rc == 0, "baseline with the index again exited %d: %s%s" % (rc, out, err))
    by_hand(d, target, "DROP TABLE ydtb_basic_tasks; DROP TABLE ydtb_basic_notes;")
    rc, problems = verify_problems(d, target)
    expect(rc == 6, "verify after the drop exited %d: %s" % (rc, problems))
    named = sorted(p["table"] for p in problems)
    expect(named == ["ydtb_basic_notes", "ydtb_basic_tasks"], "the dropped tables are not named: %s" % problems)


@case
def verify_after_apply_to_an_older_version_names_dropped_tables_on_sqlite():
    apply_to_older_then_dropped("sqlite:older.db")


@case
def verify_after_apply_to_an_older_version_names_dropped_tables_on_postgres():
    url, drop = pg_database()
    try:
        apply_to_older_then_dropped(url)
    finally:
        drop()


# ---- validate --target: the PostgreSQL bodies replayed on the server ---------------

# (what, up_postgres text replaced, replacement, table, column, words); the
# SQLite bodies stay right, so only the PostgreSQL replay can find these.
PG_BODY_EDITS = [
    ("column left out", "  seen_on date,\n", "", "ydtb_cd_items", "seen_on", "do not create it"),
    ("wrong type", "name character varying(80) NOT NULL", "name character varying(40) NOT NULL", "ydtb_cd_items",
     "name", "character varying(40)"),
    ("missing NOT NULL", "qty int4 NOT NULL DEFAULT 1", "qty int4 DEFAULT 1", "ydtb_cd_items", "qty",
     "leave it nullable"),
    ("missing index", "CREATE INDEX IF NOT EXISTS ydtb_cd_items_kind_idx ON ydtb_cd_items (kind_code, kind_variant);",
     "", "ydtb_cd_items", None, "ydtb_cd_items_kind_idx"),
    ("missing foreign key", "right_id bigint NOT NULL REFERENCES ydtb_cd_items (id) ON DELETE RESTRICT ON UPDATE RESTRICT,",
     "right_id bigint NOT NULL,", "ydtb_cd_pairs", "right_id", "no foreign key"),
    ("wrong default", "ratio float8 DEFAULT 0.25", "ratio float8 DEFAULT 0.5", "ydtb_cd_items", "ratio", "0.5"),
    ("wrong action", "left_id bigint NOT NULL REFERENCES ydtb_cd_items (id) ON DELETE CASCADE",
     "left_id bigint NOT NULL REFERENCES ydtb_cd_items (id) ON DELETE SET NULL", "ydtb_cd_pairs", "left_id",
     "ON DELETE set null"),
]


def scratch_left(url):
    out = subprocess.run(["psql", url, "-Atc", "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dbreg\\_%'"
                          " UNION ALL SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"],
                         check=True, capture_output=True, text=True).stdout.split()
    return [int(x) for x in out]


@case
def validate_target_reports_each_kind_of_difference_in_postgres_bodies():
    url, drop = pg_database()
    try:
        for what, old, new, table, column, words in PG_BODY_EDITS:
            text = corpus("dialects.toml")
            at = text.index("\nup_postgres = ")
            expect(old in text[at:text.index("\nup_sqlite = ")], "the corpus' up_postgres no longer holds %r" % old)
            text = text[:at] + text[at:].replace(old, new, 1)
            d = project({"generic.toml": corpus("generic.toml"), "dialects.toml": text})
            rc, found = dbr047(d)
            expect(rc == 0 and not found, "%s: the SQLite replay should see nothing: %d %s" % (what, rc, found))
            rc, found = dbr047(d, ["--target", url])
            expect(rc == 1, "%s: validate --target exited %d" % (what, rc))
            hit = [f for f in found if f[0] == table and (column is None or f[1] == column) and words in f[2]
                   and "PostgreSQL" in f[2]]
            expect(hit, "%s: no DBR047 on %s.%s saying %r; found %s" % (what, table, column, words, found))
            expect(scratch_left(url) == [0, 0], "%s: the replay left something on the server" % what)
    finally:
        drop()


@case
def validate_target_replays_the_real_manifests_and_leaves_nothing():
    url, drop = pg_database()
    try:
        # tomls/ has a transaction = false migration with CREATE INDEX CONCURRENTLY.
        d = clitest.project()
        rc, out, err = run(["validate", "--target", url], d)
        expect(rc == 0, "validate --target exited %d: %s%s" % (rc, out, err))
        d2 = corpus_project()
        rc, out, err = run(["validate", "--target", url], d2)
        expect(rc == 0, "validate --target on the corpus exited %d: %s%s" % (rc, out, err))
        expect(scratch_left(url) == [0, 0], "the replay left something on the server")
    finally:
        drop()


@case
def validate_target_reports_a_body_failing_on_postgres_and_goes_on():
    url, drop = pg_database()
    try:
        text = corpus("dialects.toml")
        at = text.index("\nup_postgres = ")
        bad = text[:at] + text[at:].replace("  seen_on date,\n", "  seen_on date REFERENCES ydtb_nowhere (id),\n", 1)
        d = project({"generic.toml": corpus("generic.toml"), "dialects.toml": bad})
        rc, found = dbr047(d, ["--target", url])
        expect(rc == 1, "validate --target exited %d" % rc)
        fails = [f for f in found if "fails on PostgreSQL" in f[2] and "ydtb_nowhere" in f[2]]
        expect(len(fails) == 1, "the failure is not reported once: %s" % found)
        expect(len(found) == 1, "the failed package's tables were compared anyway: %s" % found)
        expect(scratch_left(url) == [0, 0], "the replay left something on the server")
    finally:
        drop()


if __name__ == "__main__":
    sys.exit(main(only=tuple(sys.argv[5:])))
