#!/usr/bin/env python3
"""The content stamp (issue 17, core/src/stamp.c): a no-op apply, single or
over a fleet, does not open a SQLite file whose identity, times and header
did not change since a run verified it; every change of it is seen, alike by
both; a run that writes drops the stamp first.

usage: test_stamp.py DBREG TOMLS_DIR
Real SQLite files, no server. Prints TAP."""
import fcntl
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
from clitest import case, expect, main, project, run  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "stamp", timeout=120)
TOMLS = clitest.TOMLS
ALL_MIGRATIONS = sum(open(os.path.join(TOMLS, f), encoding="utf-8").read().count("\n[[migrations]]\n")
                     for f in os.listdir(TOMLS) if f.endswith(".toml"))
# A package of the test's own: a migration that can run again once another
# program deleted its history row.
ZSTAMP = """[package]
name = "@ydtb/zstamp"
version = "1.0.0"
description = "A package whose migration runs again after its history row is gone"

[dependencies]
"@ydtb/core" = "^1.0.0"
"@ydtb/basic" = "^1.0.0"

[[migrations]]
id = "001_stamp"
version = "1.0.0"
up_postgres = "SELECT 1;"
up_sqlite = "SELECT 1;"
"""
SECOND = """
[[migrations]]
id = "002_stamp"
version = "1.0.0"
up_postgres = "SELECT 2;"
up_sqlite = "SELECT 2;"
"""
# Fails on a target with a note (its title NOT NULL), not on the SQL
# checks' empty scratch database.
FAILING = """
[[migrations]]
id = "002_fails"
version = "1.0.0"
up_postgres = "UPDATE ydtb_basic_notes SET title = NULL;"
up_sqlite = "UPDATE ydtb_basic_notes SET title = NULL;"
"""
RACY_S = 0.15   # a file changed in the last 100 ms gets no stamp
NOT_OPENED = "unchanged since the last run: not opened"


class Stamped:
    """A project with two SQLite targets: a.db, applied by single-target
    runs (apply --target), and b.db, the one target of fleet f."""

    def __init__(self, zstamp=ZSTAMP, where=None):
        self.d = project({"tomls/zstamp.toml": zstamp,
                          "dbreg.toml": '[fleets.f]\ntargets = ["sqlite:b.db"]\njobs = 1\n'})
        self.racy = RACY_S   # how long after a change the file gets a stamp
        if where:   # the project in that folder (a file system of whole seconds: 2 s)
            shutil.copytree(self.d, where)
            self.d = where
            self.racy = 2.1
        self.paths = {"single": os.path.join(self.d, "a.db"), "fleet": os.path.join(self.d, "b.db")}
        self.dbreg = None   # another binary (a build of its own)

    def run(self, args, **kw):
        if self.dbreg:
            p = subprocess.run([self.dbreg] + args, cwd=self.d, env=clitest.dbreg_env(), capture_output=True,
                               text=True, timeout=120)
            return p.returncode, p.stdout, p.stderr
        return run(args, self.d, **kw)

    def apply(self, mode, *extra):
        """One verbose apply of the mode's target: (exit code, migrations applied, opened?, output)."""
        if mode == "single":
            rc, out, err = self.run(["apply", "-v", "--target", "sqlite:a.db"] + list(extra))
            m = re.search(r"sqlite:a\.db: applied (\d+) migration", out)
            opened = NOT_OPENED not in err
        else:
            rc, out, err = self.run(["apply", "-v", "--fleet", "f"] + list(extra))
            m = re.search(r"\] (?:ok|FAILED) +sqlite:b\.db applied +(\d+) ", out)
            opened = NOT_OPENED not in out
        return rc, int(m.group(1)) if m else None, opened, out + err

    def add(self, migrations):
        """Appends migrations to zstamp's manifest (pending on both targets)."""
        with open(os.path.join(self.d, "tomls", "zstamp.toml"), "a") as f:
            f.write(migrations)

    def stamp(self, mode):
        """The stamp the state file keeps for the mode's target (None: none)."""
        db = sqlite3.connect(os.path.join(self.d, ".dbreg", "state.db"))
        try:
            key = "sqlite:" + os.path.realpath(self.paths[mode])
            rows = db.execute("SELECT stamp FROM cache_noop WHERE target = ?", (key,)).fetchall()
        finally:
            db.close()
        return rows[0][0] if rows else None

    def arm(self):
        """Applies both targets and visits them until each has its stamp;
        then a visit does not open them."""
        for mode in ("single", "fleet"):
            rc, applied, _, out = self.apply(mode)
            expect(rc == 0 and applied == ALL_MIGRATIONS + 1, "%s: cold apply: %s" % (mode, out))
        for mode in ("single", "fleet"):
            for _ in range(3):
                if self.stamp(mode):
                    break
                time.sleep(self.racy)
                rc, applied, _, out = self.apply(mode)
                expect(rc == 0 and applied == 0, "%s: no-op visit: %s" % (mode, out))
            expect(self.stamp(mode), "%s: no stamp kept after verified no-op visits" % mode)
            rc, applied, opened, out = self.apply(mode)
            expect(rc == 0 and applied == 0 and not opened, "%s: the armed no-op opened the file: %s" % (mode, out))


def history_without_zstamp(path):
    """Another program's write: zstamp's history row deleted (its migration is pending again)."""
    db = sqlite3.connect(path)
    db.execute("DELETE FROM ydtb_registry_migrations WHERE package = '@ydtb/zstamp'")
    db.commit()
    db.close()


def lock_holder(path):
    """A process holding SQLite's EXCLUSIVE lock on path (a write lock on
    its PENDING, RESERVED and SHARED bytes), as a writer in its commit holds
    it, without a journal or any other file: nothing can read the file
    through SQLite while it lives. Returns the process once the lock is held."""
    code = ("import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 512 + 2, 0x40000000)\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n")
    p = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, text=True)
    expect(p.stdout.readline().strip() == "locked", "the lock holder did not lock")
    clitest.cleanups.append(lambda: (p.kill(), p.wait()))
    return p


def readable_by_sqlite(path):
    """Whether another process can read path through SQLite right now (no wait)."""
    code = ("import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], timeout=0)\n"
            "db.execute('SELECT count(*) FROM sqlite_master').fetchall()\n")
    return subprocess.run([sys.executable, "-c", code, path], capture_output=True).returncode == 0


@case
def a_noop_apply_does_not_open_a_file_that_did_not_change():
    # The file is locked exclusively by another process, as SQLite's writer
    # locks it: opening it would wait 5 s (the busy timeout) and fail with
    # "database is locked", as every run did before the stamp. The single
    # apply and the fleet still answer, without a side file appearing.
    s = Stamped()
    s.arm()
    holders = [lock_holder(s.paths[m]) for m in ("single", "fleet")]
    expect(not readable_by_sqlite(s.paths["single"]), "the lock does not keep SQLite out: the case proves nothing")
    before = sorted(os.listdir(s.d))
    for mode in ("single", "fleet"):
        t0 = time.time()
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and applied == 0 and not opened, "%s: %s" % (mode, out))
        expect(time.time() - t0 < 4, "%s: waited for the lock: the file was opened" % mode)
    expect(sorted(os.listdir(s.d)) == before, "files appeared: %s" % sorted(set(os.listdir(s.d)) - set(before)))
    for p in holders:
        p.kill()
        p.wait()


def restore_times(path, st):
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def change_write(path):
    history_without_zstamp(path)


def change_write_times_put_back(path):
    st = os.stat(path)
    history_without_zstamp(path)
    restore_times(path, st)


def change_touch(path):
    os.utime(path)


def change_cp_over(path):
    # Another file's contents copied over this one (the same inode).
    other = path + ".other"
    shutil.copyfile(path, other)
    history_without_zstamp(other)
    ino = os.stat(path).st_ino
    shutil.copyfile(other, path)
    expect(os.stat(path).st_ino == ino, "cp made another inode")


def change_mv_over(path):
    # Replaced by an identical copy with its times (mv): only the inode and
    # the change time differ.
    other = path + ".other"
    shutil.copy2(path, other)
    os.rename(other, path)


def change_truncate(path):
    os.truncate(path, 0)


def change_journal_beside(path):
    open(path + "-journal", "w").close()


def change_wal_beside(path):
    open(path + "-wal", "w").close()


def change_wal_mode(path):
    db = sqlite3.connect(path)
    expect(db.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal", "not in WAL mode")
    db.close()


CHANGES = [
    # (name, change, migrations the next apply runs)
    ("another program's write", change_write, 1),
    ("another program's write, times put back", change_write_times_put_back, 1),
    ("touch", change_touch, 0),
    ("cp of another file over it", change_cp_over, 1),
    ("mv of an identical copy over it", change_mv_over, 0),
    ("truncate", change_truncate, ALL_MIGRATIONS + 1),
    ("a -journal beside it", change_journal_beside, 0),
    ("a -wal beside it", change_wal_beside, 0),
    ("WAL mode", change_wal_mode, 0),
]


@case
def every_change_of_the_file_is_seen_by_the_single_apply_and_the_fleet_alike():
    for name, change, pending in CHANGES:
        s = Stamped()
        s.arm()
        for mode in ("single", "fleet"):
            change(s.paths[mode])
        # Past the racy window: the change itself must be seen, not how
        # recent it is.
        time.sleep(RACY_S)
        for mode in ("single", "fleet"):
            rc, applied, opened, out = s.apply(mode)
            expect(rc == 0 and opened and applied == pending,
                   "%s, %s: exit %d, opened %s, applied %s (want %d): %s" % (name, mode, rc, opened, applied,
                                                                             pending, out))
        # A file that keeps what refuses a stamp gets none, and is opened every time.
        if change in (change_journal_beside, change_wal_beside, change_wal_mode):
            time.sleep(RACY_S)
            for mode in ("single", "fleet"):
                rc, applied, opened, out = s.apply(mode)
                expect(rc == 0 and opened, "%s, %s, again: %s" % (name, mode, out))


@case
def changed_manifests_and_another_build_are_seen_by_both():
    # The registry's checksum: a new migration is applied by both.
    s = Stamped()
    s.arm()
    s.add(SECOND)
    for mode in ("single", "fleet"):
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and opened and applied == 1, "changed manifests, %s: %s" % (mode, out))
    # Another build (a copy of the binary: its own stat) trusts no stamp.
    s = Stamped()
    s.arm()
    s.dbreg = os.path.join(s.d, "dbreg-copy")
    shutil.copy(clitest.DBREG, s.dbreg)
    for mode in ("single", "fleet"):
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and opened and applied == 0, "another build, %s: %s" % (mode, out))


@case
def a_failed_apply_leaves_no_stamp_and_the_next_run_opens_the_file():
    s = Stamped()
    s.arm()
    with open(os.path.join(s.d, "tomls", "zstamp.toml")) as f:
        good = f.read()
    with open(os.path.join(s.d, "tomls", "zstamp.toml"), "a") as f:
        f.write(FAILING)
    for mode in ("single", "fleet"):
        db = sqlite3.connect(s.paths[mode])
        db.execute("INSERT INTO ydtb_basic_notes (id, workspace_id, title) VALUES ('n1', 'w1', 'a note')")
        db.commit()
        db.close()
        expect(s.stamp(mode), "%s: no stamp to drop: the case proves nothing" % mode)
    for mode in ("single", "fleet"):
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 4 and "002_fails" in out, "%s: exit %d: %s" % (mode, rc, out))
        expect(s.stamp(mode) is None, "%s: the failed run left its stamp: %r" % (mode, s.stamp(mode)))
    # The manifests as they were when the stamp was kept: the files are
    # opened again (and found a no-op: the failed run was rolled back).
    with open(os.path.join(s.d, "tomls", "zstamp.toml"), "w") as f:
        f.write(good)
    time.sleep(RACY_S)
    for mode in ("single", "fleet"):
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and opened and applied == 0, "%s: %s" % (mode, out))


@case
def a_stamp_that_cannot_be_dropped_stops_the_run_before_it_writes():
    # The state file refuses the drop (a trigger of the test's): the run
    # must not write to a target whose stamp would outlive the write, and
    # says so in one wording, whichever path it takes.
    s = Stamped()
    s.arm()
    s.add(SECOND)
    db = sqlite3.connect(os.path.join(s.d, ".dbreg", "state.db"))
    db.execute("CREATE TRIGGER refuse BEFORE UPDATE OF stamp ON cache_noop WHEN NEW.stamp IS NULL "
               "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    db.commit()
    db.close()
    for mode, shown in (("single", "sqlite:a.db"), ("fleet", "sqlite:b.db")):
        before = os.stat(s.paths[mode])
        rc, applied, _, out = s.apply(mode)
        said = "state file: cannot drop the content stamp of %s before writing to it: refused by the test" % shown
        expect(rc != 0 and said in out, "%s: exit %d: %s" % (mode, rc, out))
        expect(s.stamp(mode), "%s: the stamp went all the same" % mode)
        after = os.stat(s.paths[mode])
        expect((after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size),
               "%s: the target was written to" % mode)
        db = sqlite3.connect(s.paths[mode])
        n = db.execute("SELECT count(*) FROM ydtb_registry_migrations WHERE migration = '002_stamp'").fetchone()[0]
        db.close()
        expect(n == 0, "%s: 002_stamp was applied" % mode)
    rc, out, err = s.run(["init", "--target", "sqlite:a.db"])
    expect(rc != 0 and "cannot drop the content stamp of sqlite:a.db before writing to it: refused by the test"
           in out + err, "init: exit %d: %s" % (rc, out + err))
    expect("applied 0 migrations" not in out, "init: a run that wrote nothing reports what it applied: %s" % out)


@case
def a_run_killed_after_it_dropped_the_stamp_leaves_none():
    # A pending migration, and the target's registry lock (an flock on the
    # file) held elsewhere: the run drops the stamp, opens the connection
    # that writes and waits for the lock; SIGKILL there. The stamp, kept
    # for the manifests before the new migration, is gone from the state
    # file all the same.
    for mode in ("single", "fleet"):
        s = Stamped()
        s.arm()
        s.add(SECOND)
        expect(s.stamp(mode), "no stamp to drop: the case proves nothing")
        fd = os.open(s.paths[mode], os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        args = ["--target", "sqlite:a.db"] if mode == "single" else ["--fleet", "f"]
        p = subprocess.Popen([clitest.DBREG, "apply", "--lock-timeout", "30"] + args, cwd=s.d,
                             env=clitest.dbreg_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # It waits for the lock once the stamp is gone.
        deadline = time.time() + 20
        while s.stamp(mode) is not None and time.time() < deadline and p.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        if p.poll() is not None:
            raise AssertionError("%s: the run ended instead of waiting for the lock: %s" % (mode, p.communicate()))
        p.send_signal(signal.SIGKILL)
        p.communicate()
        os.close(fd)
        expect(s.stamp(mode) is None, "%s: a stamp survived the killed run" % mode)
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and opened and applied == 1, "%s: %s" % (mode, out))


@case
def a_state_file_from_before_the_stamp_keeps_working():
    # Schema version 8 had no stamp column: its memos are used (the file is
    # opened and found a no-op), and the next visit keeps a stamp.
    s = Stamped()
    s.arm()
    db = sqlite3.connect(os.path.join(s.d, ".dbreg", "state.db"))
    db.execute("ALTER TABLE cache_noop DROP COLUMN stamp")
    db.execute("DROP TABLE cache_fingerprints")   # version 10's
    db.execute("DROP TABLE runs_open")            # version 11's
    db.execute("PRAGMA user_version = 8")
    db.commit()
    db.close()
    for mode in ("single", "fleet"):
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and applied == 0 and opened, "%s: %s" % (mode, out))
    time.sleep(RACY_S)
    for mode in ("single", "fleet"):
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and applied == 0 and s.stamp(mode), "%s: %s" % (mode, out))
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and applied == 0 and not opened, "%s: %s" % (mode, out))


def coarse_file_system():
    """A folder on a file system that keeps whole seconds (ext4 with 128-byte
    inodes, as FAT, HFS+ or ext3 do), mounted for this test; Skip when this
    machine cannot mount one."""
    d = clitest.project(with_tomls=False)
    img, mnt = os.path.join(d, "fs.img"), os.path.join(d, "mnt")
    os.mkdir(mnt)
    with open(img, "wb") as f:
        f.truncate(32 << 20)
    for cmd in (["mkfs.ext4", "-q", "-F", "-I", "128", img], ["mount", "-o", "loop", img, mnt]):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except OSError as e:
            raise clitest.Skip("%s: %s" % (cmd[0], e))
        if p.returncode != 0:
            raise clitest.Skip("%s: %s" % (cmd[0], p.stderr.strip()[-200:]))
    clitest.cleanups.append(lambda: subprocess.run(["umount", mnt], capture_output=True))
    probe = os.path.join(mnt, "probe")
    open(probe, "w").close()
    if os.stat(probe).st_mtime_ns % 10**9 or os.stat(probe).st_ctime_ns % 10**9:
        raise clitest.Skip("the file system keeps fractions of a second")
    return mnt


def at_second_start():
    """Sleeps until 20 ms past the next whole second of the clock; returns that second."""
    time.sleep(1 - time.time() % 1 + 0.02)
    return int(time.time())


def same_size_copy_over(src, dst):
    """src's bytes written over dst (its inode): only the times could tell."""
    with open(src, "rb") as f:
        data = f.read()
    expect(len(data) == os.path.getsize(dst), "sizes differ: the case proves nothing")
    with open(dst, "r+b") as f:
        f.write(data)


@case
def a_change_within_the_same_second_on_a_file_system_of_whole_seconds_is_seen():
    # The file's times stay whole seconds: a write 200 ms after another, in
    # the same second, leaves them as they were. A stamp taken 100 ms after
    # a write trusted a time that a write after it could still land on. Here:
    # an identical-headed copy (the same change counter: one commit each
    # since it was copied) whose history lacks a row, copied over the file
    # right after a verified no-op visit, in the same second.
    mnt = coarse_file_system()
    s = Stamped(where=os.path.join(mnt, "stamp"))
    s.arm()
    for mode in ("single", "fleet"):
        path = s.paths[mode]
        shutil.copyfile(path, path + ".other")
        history_without_zstamp(path + ".other")
        second = at_second_start()
        db = sqlite3.connect(path)
        db.execute("UPDATE ydtb_registry_migrations SET duration_ms = duration_ms + 1")
        db.commit()
        db.close()
        time.sleep(RACY_S)
        rc, applied, _, out = s.apply(mode)
        expect(rc == 0 and applied == 0, "%s: the visit: %s" % (mode, out))
        same_size_copy_over(path + ".other", path)
        expect(int(time.time()) == second, "%s: the second ended before the copy (machine too slow)" % mode)
        time.sleep(2.1)
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and opened and applied == 1,
               "%s: the copy went unseen: exit %d, opened %s, applied %s: %s" % (mode, rc, opened, applied, out))
    # The registry snapshot's times alike: a manifest edited twice in one
    # second, the second time to the same size (a commented-out migration
    # uncommented), right after a run stored the snapshot of the first.
    hidden = ZSTAMP + "".join("#" + line + "\n" if line else "\n" for line in SECOND.split("\n")[1:-1])
    s = Stamped(zstamp=hidden, where=os.path.join(mnt, "registry"))
    s.arm()
    manifest = os.path.join(s.d, "tomls", "zstamp.toml")
    second = at_second_start()
    with open(manifest, "w") as f:
        f.write(hidden.replace("A package", "a package"))
    time.sleep(RACY_S)
    rc, applied, _, out = s.apply("single")
    expect(rc == 0 and applied == 0, "the visit: %s" % out)
    with open(manifest, "w") as f:
        f.write(hidden.replace("A package", "a package").replace("\n#", "\n "))
    expect(int(time.time()) == second, "the second ended before the edit (machine too slow)")
    time.sleep(2.1)
    for mode in ("single", "fleet"):
        rc, applied, opened, out = s.apply(mode)
        expect(rc == 0 and applied == 1, "%s: the new migration went unseen: exit %d, applied %s: %s"
               % (mode, rc, applied, out))


sys.exit(main(timed=True))
