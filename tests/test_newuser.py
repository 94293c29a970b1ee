#!/usr/bin/env python3
"""The mistakes a new user makes on the README's path, and that what dbreg
says to each names what to do: the command that fixes it, where it is.

usage: test_newuser.py DBREG TOMLS_DIR
Uses tests/clitest.py (run, project, expect); prints TAP."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as t  # noqa: E402
from clitest import case, expect, made, main, project, run  # noqa: E402

t.configure(sys.argv[1], sys.argv[2], "newuser")


def edit(d, rel, old, new):
    path = os.path.join(d, rel)
    with open(path) as fp:
        text = fp.read()
    expect(text.count(old) == 1, "%s: %r not found once" % (rel, old))
    with open(path, "w") as fp:
        fp.write(text.replace(old, new))


def hint_of(err, code):
    """The hint of the first finding with that code, as printed."""
    for line in err.splitlines():
        if "[%s]" % code in line and "(hint: " in line:
            return line.split("(hint: ", 1)[1].rstrip(")")
    raise AssertionError("no %s with a hint in: %s" % (code, err))


@case
def a_declared_column_the_migrations_lack_names_generate_and_generate_fixes_it():
    d = project()
    edit(d, "tomls/basic.toml", 'body       = { type = "text" }\n',
         'body       = { type = "text" }\nsummary    = { type = "text" }\n')
    rc, _, err = run(["validate"], d)
    hint = hint_of(err, "DBR047")
    expect(rc == 1 and "column summary is declared" in err, err)
    expect(hint.startswith("dbreg generate @ydtb/basic appends the migration"), hint)
    # The command the hint names is the fix.
    rc, _, err = run(["generate", "@ydtb/basic"], d)
    expect(rc == 0, err)
    rc, _, err = run(["validate"], d)
    expect(rc == 0 and "DBR047" not in err, err)
    # Its one change names it, as Django names a migration (several: "generate").
    with open(os.path.join(d, "tomls", "basic.toml")) as fp:
        ids = [l.split('"')[1] for l in fp if l.startswith("id = ")]
    expect(ids[-1] == "0006_add_column_basic_notes_summary", ids)


@case
def an_applied_migration_edited_names_accept_and_accept_lets_apply_run():
    d = project()
    rc, _, err = run(["init"], d)
    expect(rc == 0, err)
    # A comment added to the SQLite body that ran: the checksum changes.
    edit(d, "tomls/basic.toml", 'up_sqlite = """\nCREATE TABLE IF NOT EXISTS "ydtb_basic_notes"',
         'up_sqlite = """\n-- notes of a workspace\nCREATE TABLE IF NOT EXISTS "ydtb_basic_notes"')
    rc, _, err = run(["apply"], d)
    expect(rc == 1 and "error[DBR045]" in err, err)
    hint = hint_of(err, "DBR045")
    expect("restore the applied body" in hint and hint.endswith("dbreg accept @ydtb/basic 0001_create_notes"), hint)
    rc, _, err = run(hint.split(": ")[-1].split()[1:], d)
    expect(rc == 0, err)
    rc, _, err = run(["apply"], d)
    expect(rc == 0 and "DBR045" not in err, err)


@case
def new_package_in_a_folder_without_tomls_starts_the_project():
    d = project(with_tomls=False)
    rc, _, err = run(["new", "package", "@acme/crm"], d)
    expect(rc == 0 and err.splitlines() == [
        "wrote tomls/core.toml (core package @ydtb/core 1.0.0: the workspaces every package table belongs to)",
        "wrote tomls/crm.toml (package @acme/crm 0.1.0)"], "%d %s" % (rc, err))
    expect(os.path.isfile(os.path.join(d, "tomls", "crm.toml")), os.listdir(d))
    # cli.md: "it validates as written", and so does the project it starts,
    # and it applies.
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and "2 packages, 0 errors" in out + err, "%d %s %s" % (rc, out, err))
    rc, out, err = run(["-q", "apply", "--target", "sqlite:t.db"], d)
    expect(rc == 0, "%d %s %s" % (rc, out, err))
    # Its tools, uncommented, are written into the core's ydtb_tools.
    edit(d, "tomls/crm.toml", '# [[tools]]\n# id = "items"\n# name = "Items"\n', '[[tools]]\nid = "items"\nname = "Items"\n')
    rc, out, err = run(["-q", "apply", "--target", "sqlite:t.db"], d)
    expect(rc == 0, "%d %s %s" % (rc, out, err))
    import sqlite3
    db = sqlite3.connect(os.path.join(d, "t.db"))
    expect(db.execute("SELECT id, package_name, name FROM ydtb_tools").fetchall() == [("items", "@acme/crm", "Items")],
           "tools not written")
    db.close()
    # A second package depends on the core written for the first; no second core.
    rc, _, err = run(["new", "package", "@acme/notes"], d)
    expect(rc == 0 and err.strip() == "wrote tomls/notes.toml (package @acme/notes 0.1.0)", err)
    with open(os.path.join(d, "tomls", "notes.toml")) as fp:
        expect('"@ydtb/core" = "^1.0.0"' in fp.read(), "no dependency on the core")
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and "3 packages, 0 errors" in out + err, "%d %s %s" % (rc, out, err))


@case
def new_package_that_fails_writes_no_core_either():
    # A name the reader refuses: nothing written, not even the folder.
    d = project(with_tomls=False)
    rc, _, err = run(["new", "package", "Bad Name"], d)
    expect(rc == 2 and "invalid package name" in err and not os.path.exists(os.path.join(d, "tomls")), err)
    # The package's file is there already: no core.toml beside it.
    os.mkdir(os.path.join(d, "tomls"))
    with open(os.path.join(d, "tomls", "crm.toml"), "w") as fp:
        fp.write("# mine\n")
    rc, _, err = run(["new", "package", "@acme/crm"], d)
    expect(rc == 1 and "tomls/crm.toml already exists" in err, err)
    expect(sorted(os.listdir(os.path.join(d, "tomls"))) == ["crm.toml"], os.listdir(os.path.join(d, "tomls")))
    # A core.toml that is no core package is named as such, not overwritten.
    os.remove(os.path.join(d, "tomls", "crm.toml"))
    with open(os.path.join(d, "tomls", "core.toml"), "w") as fp:
        fp.write('[package]\nname = "@acme/base"\nversion = "1.0.0"\n')
    rc, _, err = run(["new", "package", "@acme/crm"], d)
    expect(rc == 1 and "the project has no core package, and tomls/core.toml" in err and 'kind = "core"' in err, err)
    expect(sorted(os.listdir(os.path.join(d, "tomls"))) == ["core.toml"], os.listdir(os.path.join(d, "tomls")))


@case
def new_package_with_dir_registers_the_folder_that_validate_reads():
    # cli.md: --dir DIR, "it validates as written"; validate reads the
    # folders of [registry] packages (default ["tomls"]). Without dbreg.toml
    # new package writes one that names DIR.
    d = project(with_tomls=False)
    rc, _, err = run(["new", "package", "@acme/crm", "--dir", "pkgs"], d)
    expect(rc == 0 and err.splitlines()[0] == 'wrote dbreg.toml ([registry] packages = ["pkgs"]: the folder validate reads)',
           "%d %s" % (rc, err))
    with open(os.path.join(d, "dbreg.toml")) as fp:
        expect('[registry]\npackages = ["pkgs"]\n' in fp.read(), "dbreg.toml does not name pkgs")
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and "2 packages, 0 errors" in out + err, "%d %s %s" % (rc, out, err))
    # Beside a tomls/ that holds packages: both, and all of them validate.
    d = project()
    n = len([f for f in os.listdir(os.path.join(d, "tomls")) if f.endswith(".toml")])
    # -C names the project, --dir is a path from where dbreg runs.
    rc, out, err = run(["-C", d, "new", "package", "@acme/crm", "--dir", os.path.join(d, "more")], "/")
    expect(rc == 0, "%d %s" % (rc, err))
    with open(os.path.join(d, "dbreg.toml")) as fp:
        expect('packages = ["tomls", "more"]' in fp.read(), "dbreg.toml does not name tomls and more")
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and "%d packages, 0 errors" % (n + 1) in out + err, "%d %s %s" % (rc, out, err))
    # A folder the project reads already: no dbreg.toml.
    d = project(with_tomls=False)
    rc, _, err = run(["new", "package", "@acme/crm", "--dir", "./tomls/"], d)
    expect(rc == 0 and not os.path.exists(os.path.join(d, "dbreg.toml")), "%d %s" % (rc, err))
    # A dbreg.toml that does not name DIR is the user's to edit: refused,
    # nothing written, and the hint says what to add where.
    d = project({"dbreg.toml": '[targets.dev]\nurl = "sqlite:dev.db"\n'}, with_tomls=False)
    rc, _, err = run(["new", "package", "@acme/crm", "--dir", "pkgs"], d)
    expect(rc == 2 and "pkgs is not in a package folder of the project" in err, "%d %s" % (rc, err))
    # The whole list to write: packages = ["pkgs"] alone would drop the
    # default tomls (review-11 #4).
    expect('hint: write packages = ["tomls", "pkgs"] under [registry] in dbreg.toml' in err, err)
    expect(sorted(os.listdir(d)) == ["dbreg.toml"], os.listdir(d))
    # Below a package folder is read (recursively, manifest.md): written,
    # and the user's dbreg.toml left as it was (review-11 #2).
    for toml, sub, top in [('[targets.dev]\nurl = "sqlite:dev.db"\n', "tomls/sub", "tomls"),
                           ('[registry]\npackages = ["pkgs"]\n', "pkgs/team", "pkgs")]:
        d = project({"dbreg.toml": toml}, with_tomls=False)
        os.makedirs(os.path.join(d, top))
        rc, _, err = run(["new", "package", "@acme/crm", "--dir", sub], d)
        expect(rc == 0 and os.path.exists(os.path.join(d, sub, "crm.toml")), "%s: %d %s" % (sub, rc, err))
        with open(os.path.join(d, "dbreg.toml")) as fp:
            expect(fp.read() == toml, "%s: dbreg.toml changed" % sub)
        rc, out, err = run(["validate"], d)
        expect(rc == 0 and "2 packages, 0 errors" in out + err, "%s: %d %s %s" % (sub, rc, out, err))
    # Without dbreg.toml, below tomls/ needs none (review-11 #4).
    d = project(with_tomls=False)
    os.makedirs(os.path.join(d, "tomls"))
    rc, _, err = run(["new", "package", "@acme/crm", "--dir", "tomls/sub"], d)
    expect(rc == 0 and not os.path.exists(os.path.join(d, "dbreg.toml")), "%d %s" % (rc, err))
    # The project folder itself is written as ".", never as an absolute
    # path (the project moves, or is cloned), and what it holds is not
    # listed beside it.
    d = project()
    rc, _, err = run(["new", "package", "@acme/crm", "--dir", "."], d)
    with open(os.path.join(d, "dbreg.toml")) as fp:
        expect(rc == 0 and '[registry]\npackages = ["."]\n' in fp.read(), "%d %s" % (rc, err))
    moved = d + "-moved"
    os.rename(d, moved)
    made.append(moved)
    rc, out, err = run(["validate"], moved)
    expect(rc == 0 and " 0 errors" in out + err, "%d %s %s" % (rc, out, err))
    # A DIR whose parent does not exist cannot be made (mkdir makes one level).
    d = project(with_tomls=False)
    rc, _, err = run(["new", "package", "@acme/crm", "--dir", "a/b/c"], d)
    expect(rc == 1 and "cannot create a/b/c: No such file or directory" in err and os.listdir(d) == [],
           "%d %s %s" % (rc, err, os.listdir(d)))


@case
def a_missing_package_folder_says_where_to_run_or_what_dbreg_toml_names():
    d = project(with_tomls=False)
    rc, _, err = run(["validate"], d)
    expect(rc == 1 and "cannot read the package folder tomls" in err, err)
    expect("hint: run dbreg in the project folder" in err and "-C DIR" in err and "dbreg new package NAME" in err, err)
    # A folder that dbreg.toml names and that is not there.
    d = project({"dbreg.toml": '[registry]\npackages = ["tomls", "pkgs"]\n'})
    rc, _, err = run(["validate"], d)
    expect(rc == 1 and "cannot read the package folder pkgs" in err, err)
    expect("hint: [registry] packages in dbreg.toml names it" in err, err)
    # new package makes no folder that dbreg.toml names beside one that exists.
    rc, _, err = run(["new", "package", "@acme/crm"], d)
    expect(rc == 1 and "package folder pkgs" in err and not os.path.exists(os.path.join(d, "pkgs")), err)


@case
def an_empty_package_folder_is_named_with_the_command_that_fills_it():
    # No manifest at all: DBR015 (no core package) names the folder it
    # looked in, or dbreg.toml where it names the folders, and the hint the
    # command that writes a package and the core with it.
    import json
    d = project(with_tomls=[])
    rc, out, err = run(["validate"], d)
    expect(rc == 1 and err.startswith("tomls: error[DBR015]: no core package"), err)
    expect("dbreg new package NAME" in (hint_of(err, "DBR015") or ""), err)
    rc, out, err = run(["validate", "--json"], d)
    got = [(x["file"], x["line"], x["column"]) for x in json.loads(out)["diagnostics"] if x["code"] == "DBR015"]
    expect(rc == 1 and got == [("tomls", None, None)], out)
    d = project({"dbreg.toml": '[registry]\npackages = ["pkgs", "more"]\n', "pkgs/README.md": "", "more/.keep": ""},
                with_tomls=False)
    rc, out, err = run(["validate", "--json"], d)
    got = [(x["file"], x["line"], x["column"]) for x in json.loads(out)["diagnostics"] if x["code"] == "DBR015"]
    expect(rc == 1 and got == [("dbreg.toml", 2, 12)], out)
    # The hint followed: the project validates.
    rc, _, err = run(["new", "package", "@acme/crm"], d)
    expect(rc == 0, err)
    rc, _, err = run(["validate"], d)
    expect(rc == 0, err)


@case
def an_unknown_target_says_what_was_meant():
    d = project({"dbreg.toml": '[targets.prod]\nurl = "sqlite:prod.db"\n'})
    for target, words in [("prdo", 'unknown target "prdo"; did you mean "prod"? (targets in dbreg.toml: prod)'),
                          ("ydtb.db", "a SQLite file: sqlite:ydtb.db"),
                          ("staging", 'define it in [targets.staging] of dbreg.toml with url = "...", or give a URL')]:
        rc, _, err = run(["status", "--target", target], d)
        expect(rc == 2 and words in err, "%s: %d %s" % (target, rc, err))


@case
def the_toml_test_suite_fails_without_its_cases_instead_of_skipping():
    # A clone without ../shared: the conformance suite must not pass as skipped.
    import subprocess
    import tempfile
    suite = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toml_suite.py")
    for root in [os.path.join(tempfile.gettempdir(), "dbreg-newuser-no-such-folder"), project(with_tomls=False)]:
        p = subprocess.run([sys.executable, suite, "/bin/false", root], capture_output=True, text=True, timeout=60)
        expect(p.returncode == 1 and "1..1\nnot ok 1 - the toml-test cases are not at %s" % root in p.stdout
               and "-Dshared_dir=DIR" in p.stdout, "%d %s" % (p.returncode, p.stdout))


@case
def a_misspelt_help_topic_points_at_the_list_of_commands():
    d = project()
    rc, _, err = run(["help", "aply"], d)
    expect(rc == 2 and err.splitlines() == ["dbreg: no command 'aply'; did you mean 'apply'?",
                                            "  hint: see 'dbreg --help'"], err)


@case
def a_malformed_url_is_not_answered_with_offline():
    d = project()
    rc, _, err = run(["status", "--target", "sqlite://ydtb.db"], d)
    expect(rc == 2 and "malformed SQLite URL" in err and "--offline" not in err, "%d %s" % (rc, err))
    # A database that is not there still is.
    rc, _, err = run(["status", "--target", "postgres://app:x@127.0.0.1:1/app"], d)
    expect(rc == 3 and "hint: --offline shows the state file's copy" in err, "%d %s" % (rc, err))


@case
def dbreg_toml_findings_come_in_file_order_and_a_target_without_url_says_so():
    d = project({"dbreg.toml": '[targets.prod]\nurll = "sqlite:x.db"\n\n[target.dev]\nurl = "sqlite:y.db"\n'})
    rc, _, err = run(["status"], d)
    lines = [l for l in err.splitlines() if l.startswith("dbreg.toml:")]
    expect(rc == 2 or rc == 1, "%d %s" % (rc, err))
    expect(lines == ['dbreg.toml:1:1: error[DBR014]: target "prod" has no url (hint: add url = "sqlite:PATH", '
                     '"postgres://..." or "${NAME}" to [targets.prod])',
                     'dbreg.toml:2:1: error[DBR013]: unknown key "urll" in a target (hint: did you mean "url"?)',
                     'dbreg.toml:4:2: error[DBR013]: unknown key "target" in dbreg.toml (hint: did you mean "targets"?)'],
           "\n".join(lines))


@case
def every_dbreg_toml_finding_has_a_hint_that_names_the_fix():
    # review-8 #7: project.c reported some findings with no hint at all.
    d = project({"dbreg.toml": '[registry]\npackages = "tomls"\n\n[targets.dev]\nurl = "sqlite:x.db"\n'
                               'lock_timeout = "5 secs"\ndev = "yes"\nzzzzzz = 1\n\n[fleets.a]\njobs = 0\n'})
    rc, _, err = run(["validate"], d)
    lines = [l for l in err.splitlines() if l.startswith("dbreg.toml:")]
    expect(rc == 1 and lines == [
        'dbreg.toml:2:12: error[DBR014]: registry.packages must be an array of folder names '
        '(hint: write it as packages = ["tomls"])',
        'dbreg.toml:6:16: error[DBR014]: the target\'s lock_timeout must be a duration such as "5s" or "10min" '
        '(hint: write it as lock_timeout = "5s"; units: ms, s, min, h, d)',
        'dbreg.toml:7:7: error[DBR014]: the dev key of a target must be true or false '
        '(hint: write it as dev = true or false, without quotes)',
        'dbreg.toml:8:1: error[DBR013]: unknown key "zzzzzz" in a target '
        '(hint: known keys here: url, dev, lock_timeout, statement_timeout)',
        'dbreg.toml:10:9: error[DBR014]: fleet "a" has neither targets nor urls_file '
        '(hint: add targets = ["tenant_a"] or urls_file = "tenants.txt" to [fleets.a])',
        'dbreg.toml:11:8: error[DBR014]: the jobs of a fleet must be a number from 1 to 1024 '
        '(hint: write it as jobs = 4)'], "%d\n%s" % (rc, "\n".join(lines)))
    d = project({"dbreg.toml": "x = \n"})
    rc, _, err = run(["validate"], d)
    expect(rc == 1 and "dbreg.toml:1:5: error[DBR001]: invalid TOML" in err
           and "(hint: correct the TOML syntax at this line and column)" in err, err)


@case
def another_tools_command_names_dbregs():
    d = project()
    for word, ours, whose in [("migrate", "apply", "Flyway, Django, drizzle-kit and Prisma"),
                              ("info", "status", "Flyway"), ("repair", "accept", "Flyway"),
                              ("rollback", "down", "Liquibase and dbmate"), ("version", "--version", "most tools")]:
        rc, out, err = run([word], d)
        expect(rc == 2 and out == "" and err.splitlines() == [
            "dbreg: unknown command '%s': what %s call %s is 'dbreg %s'" % (word, whose, word, ours),
            "  hint: see 'dbreg --help'"], "%s: %d %s" % (word, rc, err))
    # help says the same; a typo still gets the near name.
    rc, _, err = run(["help", "migrate"], d)
    expect(rc == 2 and "no command 'migrate': what Flyway" in err, err)
    rc, _, err = run(["aply"], d)
    expect(rc == 2 and "unknown command 'aply'; did you mean 'apply'?" in err, err)


@case
def new_migration_says_to_write_its_sql_before_the_next_apply():
    d = project()
    rc, _, err = run(["new", "migration", "@ydtb/basic", "0006_backfill"], d)
    expect(rc == 0 and err.splitlines() == [
        "appended migration 0006_backfill (version 1.1.0) to tomls/basic.toml",
        "  its bodies are empty: write them; until its up body is written, plan and apply refuse it (DBR042)"], err)
    # Applied empty, the SQL written into it later would be drift (DBR045):
    # the plan refuses it, and nothing is recorded.
    rc, out, err = run(["apply"], d)
    expect(rc == 1 and "error[DBR042]: migration 0006_backfill of package @ydtb/basic has an empty up body for "
           "sqlite (hint: write its SQL first: once applied, a change to it is DBR045)" in err, err)
    expect(not os.path.exists(os.path.join(d, "ydtb.db")), "the refused run created the database")
    path = os.path.join(d, "tomls", "basic.toml")
    with open(path, encoding="utf-8") as fp:
        text = fp.read()
    with open(path, "w", encoding="utf-8") as fp:
        fp.write(text.replace('up_sqlite = """\n"""', 'up_sqlite = """\nSELECT 1;\n"""', 1)
                 .replace('up_postgres = """\n"""', 'up_postgres = """\nSELECT 1;\n"""', 1))
    rc, out, err = run(["apply"], d)
    expect(rc == 0 and "applied 11 migrations" in out, out + err)


sys.exit(main())
