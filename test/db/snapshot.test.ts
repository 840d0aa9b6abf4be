import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StaleSnapshotError, StateMachine } from "../../src/db/state-machine.ts";
import { dumpDatabase, okRows, STAMP, stmts, tempDir } from "./state-machine-fixture.ts";

function journalMode(path: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  } finally {
    db.close();
  }
}

describe("snapshots", () => {
  test("writeSnapshot copies the committed state of a live WAL database, with the index it reflects", async () => {
    const dir = tempDir();
    const sm = StateMachine.open(join(dir, "db.sqlite"));
    sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"]) },
      { index: 2, command: stmts(["WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT i, randomblob(100) FROM n"]) },
    ]);
    // Uncommitted scratch work must not reach the snapshot.
    const scratch = sm.beginScratch(STAMP);
    scratch.execute({ sql: "DELETE FROM t" });
    const snap = join(dir, "snap.db");
    writeFileSync(snap, "an older snapshot that gets replaced");
    expect(await sm.writeSnapshot(snap)).toEqual({ appliedIndex: 2 });
    scratch.rollback();
    // A self-contained file: rollback-journal mode (header bytes 18–19 = 1), no -wal beside it.
    expect(journalMode(snap)).toBe("delete");
    const header = readFileSync(snap).subarray(0, 20);
    expect([header[18], header[19]]).toEqual([1, 1]);
    expect(existsSync(`${snap}-wal`)).toBe(false);
    expect(dumpDatabase(snap)).toBe(dumpDatabase(sm.path));
    sm.close();
  });

  test("restoreSnapshot refuses a snapshot older than what is applied, and the database stays as it was", async () => {
    const dir = tempDir();
    const old = StateMachine.open(join(dir, "old.db"));
    old.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (v)"]) },
      { index: 2, command: stmts(["INSERT INTO t VALUES (1)"]) },
    ]);
    const snap = join(dir, "old-snapshot.db");
    await old.writeSnapshot(snap);
    const sm = StateMachine.open(join(dir, "db.sqlite"));
    sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (v)"]) },
      { index: 2, command: stmts(["INSERT INTO t VALUES (1)"]) },
      { index: 3, command: stmts(["INSERT INTO t VALUES (2)"]) },
    ]);
    expect(() => sm.restoreSnapshot(snap)).toThrow(StaleSnapshotError);
    expect(sm.appliedIndex()).toBe(3);
    expect(okRows(sm.read([{ stmt: { sql: "SELECT count(*) AS n FROM t" } }]).steps[0])).toEqual([[2n]]);
    sm.applyEntries([{ index: 4, command: stmts(["INSERT INTO t VALUES (3)"]) }]);
    expect(sm.appliedIndex()).toBe(4);
    old.close();
    sm.close();
  });

  test("restoreSnapshot replaces the database; appliedIndex and data come from the snapshot", async () => {
    const dir = tempDir();
    const leader = StateMachine.open(join(dir, "leader.db"));
    leader.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"]) },
      { index: 2, command: stmts(["INSERT INTO t VALUES (1, 'from leader')"], { requestId: "req-1" }) },
      { index: 3, command: null },
    ]);
    const snap = join(dir, "incoming.db");
    await leader.writeSnapshot(snap);

    // A follower with divergent, un-checkpointed WAL content that must not survive the swap.
    const follower = StateMachine.open(join(dir, "follower.db"));
    follower.applyEntries([{ index: 1, command: stmts(["CREATE TABLE stale (x)", "INSERT INTO stale VALUES (1)"]) }]);
    expect(existsSync(`${follower.path}-wal`)).toBe(true);
    follower.restoreSnapshot(snap);
    expect(existsSync(snap)).toBe(false);
    expect(follower.appliedIndex()).toBe(3);
    expect(journalMode(follower.path)).toBe("wal");
    expect(okRows(follower.read([{ stmt: { sql: "SELECT name FROM sqlite_schema WHERE name = 'stale'" } }]).steps[0])).toEqual([]);
    // It carries on from the snapshot's index: the request-id table came along too.
    const out = follower.applyEntries([
      { index: 3, command: null },
      { index: 4, command: stmts(["INSERT INTO t VALUES (1, 'retry')"], { requestId: "req-1" }) },
      { index: 5, command: stmts(["INSERT INTO t VALUES (2, 'after')"]) },
    ]);
    expect(out[1]).toMatchObject({ ok: true, results: [{ rowsAffected: 1, lastInsertRowid: 1 }] });
    leader.applyEntries([
      { index: 4, command: stmts(["INSERT INTO t VALUES (1, 'retry')"], { requestId: "req-1" }) },
      { index: 5, command: stmts(["INSERT INTO t VALUES (2, 'after')"]) },
    ]);
    expect(dumpDatabase(follower.path)).toBe(dumpDatabase(leader.path));
    follower.close();
    const reopened = StateMachine.open(join(dir, "follower.db"));
    expect(reopened.appliedIndex()).toBe(5);
    reopened.close();
    leader.close();
  });

  test("writeSnapshot copies on a thread of its own: the event loop runs and the writer applies while it copies", async () => {
    const dir = tempDir();
    const sm = StateMachine.open(join(dir, "db.sqlite"), { fsync: false });
    sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"]) },
      { index: 2, command: stmts(["WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO t SELECT i, randomblob(100) FROM n"]) },
    ]);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const copy = sm.writeSnapshot(join(dir, "snap.db"));
    // A copy made on the event loop would be finished before anything below could run.
    expect(() => sm.restoreSnapshot(join(dir, "snap.db"))).toThrow(/snapshot copy is still reading/);
    sm.applyEntries([{ index: 3, command: stmts(["INSERT INTO t VALUES (0, NULL)"]) }]);
    const copied = await copy;
    clearInterval(ticker);
    expect(turns).toBeGreaterThan(0);
    // The copy holds a committed state from while it ran: 2 or 3, never a partial one.
    expect([2, 3]).toContain(copied.appliedIndex);
    await sm.snapshotCopiesSettled();
    sm.restoreSnapshot(join(dir, "snap.db"));
    expect(sm.appliedIndex()).toBe(copied.appliedIndex);
    sm.close();
  });

  test("a failed copy rejects with the reason and leaves no temporary file", async () => {
    const dir = tempDir();
    const sm = StateMachine.open(join(dir, "db.sqlite"));
    sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (x)"]) }]);
    const into = join(dir, "missing-dir");
    await expect(sm.writeSnapshot(join(into, "snap.db"))).rejects.toThrow(/unable to open|no such file|cannot open/i);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    await sm.snapshotCopiesSettled();
    sm.close();
  });

  test("restoreSnapshot refuses a file that is not a state machine snapshot and keeps the database", () => {
    const dir = tempDir();
    const sm = StateMachine.open(join(dir, "db.sqlite"));
    sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (x)"]) }]);
    const plain = join(dir, "plain.db");
    const other = new Database(plain);
    other.run("CREATE TABLE x (y)");
    other.close();
    expect(() => sm.restoreSnapshot(plain)).toThrow(/not a quorumlite snapshot/);
    expect(() => sm.restoreSnapshot(join(dir, "missing.db"))).toThrow(/not found/);
    expect(sm.appliedIndex()).toBe(1);
    sm.applyEntries([{ index: 2, command: stmts(["INSERT INTO t VALUES (1)"]) }]);
    expect(sm.appliedIndex()).toBe(2);
    sm.close();
  });

  test("checkpoint() takes no SQLite lock: it completes while a scratch holds the writer", async () => {
    const dir = tempDir();
    const sm = StateMachine.open(join(dir, "db.sqlite"), { fsync: false });
    sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (x)", "INSERT INTO t VALUES (1)"]) }]);
    const scratch = sm.beginScratch(STAMP);
    scratch.execute({ sql: "INSERT INTO t VALUES (2)" });
    await sm.checkpoint();
    scratch.rollback();
    sm.close();
    await expect(sm.checkpoint()).rejects.toThrow(/closed/);
  });
});
