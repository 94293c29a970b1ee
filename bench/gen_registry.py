#!/usr/bin/env python3
"""Generates a project of many packages for the validate/plan/apply benchmarks.

usage: gen_registry.py DIR PACKAGES TABLES_PER_PACKAGE MIGRATIONS_PER_PACKAGE
Writes DIR/tomls/core.toml (the real @ydtb/core, copied) and DIR/tomls/pNNNN.toml.
Package i depends on @ydtb/core and on up to two earlier packages, so the graph
has depth and diamonds. Each migration creates or alters one table with both
dialects' bodies, idempotent, and together they build exactly the declared
tables (so DBR047 has real work and finds nothing)."""
import os
import shutil
import sys


def main(out, n_pkg, n_tab, n_mig):
    here = os.path.dirname(os.path.abspath(__file__))
    tomls = os.path.join(out, "tomls")
    os.makedirs(tomls, exist_ok=True)
    shutil.copy(os.path.join(here, "..", "tomls", "core.toml"), os.path.join(tomls, "core.toml"))
    for i in range(n_pkg):
        name = "p%04d" % i
        lines = ['[package]', 'name = "@bench/%s"' % name, 'version = "2.0.0"',
                 'description = "generated package %d"' % i, '', '[dependencies]',
                 '"@ydtb/core" = "^1.0.0"']
        deps = [j for j in (i - 1, i // 2) if 0 <= j < i]
        for j in sorted(set(deps)):
            lines.append('"@bench/p%04d" = "^2.0.0"' % j)
        lines.append("")
        tables = ["ydtb_%s_t%d" % (name, t) for t in range(n_tab)]
        # Columns a table gets from migrations beyond the one that creates it.
        extra = {t: [] for t in tables}
        migs = []
        for m in range(n_mig):
            t = tables[m % n_tab]
            version = "1.0.0" if m < n_mig // 2 else "2.0.0"
            if m < n_tab:
                pg = ("CREATE TABLE IF NOT EXISTS %s (\n  id text PRIMARY KEY,\n"
                      "  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,\n"
                      "  title text NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
                      "CREATE INDEX IF NOT EXISTS %s_workspace_id_idx ON %s (workspace_id);") % (t, t, t)
                lite = ("CREATE TABLE IF NOT EXISTS %s (\n  id TEXT PRIMARY KEY NOT NULL,\n"
                        "  workspace_id TEXT NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,\n"
                        "  title TEXT NOT NULL,\n  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
                        "CREATE INDEX IF NOT EXISTS %s_workspace_id_idx ON %s (workspace_id);") % (t, t, t)
                down = "DROP TABLE IF EXISTS %s;" % t
            else:
                col = "c%d" % m
                extra[t].append(col)
                pg = "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s text;" % (t, col)
                lite = "ALTER TABLE %s ADD COLUMN %s TEXT;" % (t, col)
                down = "ALTER TABLE %s DROP COLUMN IF EXISTS %s;" % (t, col)
            migs.append((m, version, pg, lite, down))
        for t in tables:
            lines += ['[tables.%s]' % t, 'description = "generated table"', 'workspace_scoped = true', '',
                      '[tables.%s.columns]' % t,
                      'id = { type = "text", primary_key = true }',
                      'title = { type = "text", not_null = true }',
                      'created_at = { type = "timestamptz", not_null = true, default_sql = "CURRENT_TIMESTAMP" }']
            for col in extra[t]:
                lines.append('%s = { type = "text" }' % col)
            lines.append("")
        lines += ['[[tools]]', 'id = "b%04d"' % i, 'name = "Tool %d"' % i, '']
        for m, version, pg, lite, down in migs:
            lines += ['[[migrations]]', 'id = "%04d_step"' % m, 'version = "%s"' % version,
                      'up_postgres = """\n%s\n"""' % pg, 'up_sqlite = """\n%s\n"""' % lite,
                      'down_postgres = "%s"' % down]
            if not down.startswith("ALTER"):
                lines.append('down_sqlite = "%s"' % down)
            else:
                lines.append('down_sqlite = "%s"' % down.replace(" IF EXISTS", ""))
            lines.append("")
        with open(os.path.join(tomls, name + ".toml"), "w") as fp:
            fp.write("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
