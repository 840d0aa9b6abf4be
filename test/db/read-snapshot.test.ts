/**
 * Plain reads share one read transaction on the reader connection while
 * nothing runs on the file (src/db/sql-connection.ts holdSnapshot): they must
 * still see every commit, leave room for the reader's own transactions, and
 * let go of the snapshot by the next turn of the event loop.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { BatchStep } from "../../src/db/command.ts";
import { readBatch } from "../../src/db/read-session.ts";
import { SqlConnection } from "../../src/db/sql-connection.ts";
import { StateMachine } from "../../src/db/state-machine.ts";
import { okRows, stmts, tempDir } from "./state-machine-fixture.ts";

const q = (sql: string, args?: readonly (string | number)[]): BatchStep => ({ stmt: args ? { sql, args } : { sql } });
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function openWithData(): StateMachine {
  const sm = StateMachine.open(join(tempDir(), "db.sqlite"), { fsync: false });
  sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'one')"]) }]);
  return sm;
}

/** A writer and a reader connection on one WAL file, as the state machine opens them. */
function openPair(): { writer: SqlConnection; reader: SqlConnection; path: string } {
  const path = join(tempDir(), "pair.sqlite");
  const writer = new SqlConnection(new Database(path, { create: true, readwrite: true, safeIntegers: true }), 16);
  writer.query("PRAGMA journal_mode = WAL");
  writer.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  writer.run("INSERT INTO t VALUES (1, 'one')");
  const reader = new SqlConnection(new Database(path, { readonly: true, safeIntegers: true }), 16);
  return { writer, reader, path };
}

const count = (conn: SqlConnection) => okRows(readBatch(conn, [q("SELECT count(*) FROM t")]).steps[0])[0]![0];

describe("held read snapshot", () => {
  test("a read right after a commit, in the same turn, sees it", () => {
    const sm = openWithData();
    for (let i = 2; i <= 50; i++) {
      expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[BigInt(i - 1)]]);
      sm.applyEntries([{ index: i, command: stmts([[`INSERT INTO t VALUES (?, 'x')`, [i]]]) }]);
      expect(okRows(sm.read([q("SELECT v FROM t WHERE id = ?", [i])]).steps[0])).toEqual([["x"]]);
    }
    sm.close();
  });

  test("commits through any connection on the file end the reuse; autocommit writes too", () => {
    const { writer, reader } = openPair();
    expect(count(reader)).toBe(1n);
    expect(reader.db.inTransaction).toBe(true);
    writer.run("INSERT INTO t VALUES (2, 'two')");
    expect(count(reader)).toBe(2n);
    writer.run("BEGIN IMMEDIATE");
    writer.run("INSERT INTO t VALUES (3, 'three')");
    // Uncommitted: the reader still sees two rows.
    expect(count(reader)).toBe(2n);
    writer.run("COMMIT");
    expect(count(reader)).toBe(3n);
    reader.close();
    writer.close();
  });

  test("is released by the next turn, so the WAL can be checkpointed and reset", async () => {
    const { writer, reader, path } = openPair();
    expect(count(reader)).toBe(1n);
    expect(reader.db.inTransaction).toBe(true);
    await nextTurn();
    expect(reader.db.inTransaction).toBe(false);
    // No reader pins the WAL: a truncating checkpoint completes in full.
    const [busy] = writer.query("PRAGMA wal_checkpoint(TRUNCATE)")[0]!;
    expect(busy).toBe(0);
    expect(Bun.file(`${path}-wal`).size).toBe(0);
    reader.close();
    writer.close();
  });

  test("a statement on the writer in the same turn does not wait on the held snapshot", () => {
    const { writer, reader, path } = openPair();
    writer.run("PRAGMA busy_timeout = 5000");
    expect(count(reader)).toBe(1n);
    // A reader pinning the WAL would make this wait out busy_timeout and answer busy = 1.
    const [busy] = writer.query("PRAGMA wal_checkpoint(TRUNCATE)")[0]!;
    expect(busy).toBe(0);
    expect(Bun.file(`${path}-wal`).size).toBe(0);
    expect(count(reader)).toBe(1n);
    reader.close();
    writer.close();
  });

  test("a batch with its own transaction, or with conditions, runs as before after a held snapshot", () => {
    const sm = openWithData();
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[1n]]);
    const out = sm.read([q("BEGIN"), q("SELECT v FROM t"), q("COMMIT"), { ...q("SELECT 2"), condition: { type: "is_autocommit" } }]);
    expect(out.steps.map((s) => s?.ok)).toEqual([true, true, true, true]);
    expect(okRows(out.steps[1])).toEqual([["one"]]);
    expect(okRows(out.steps[3])).toEqual([[2n]]);
    sm.applyEntries([{ index: 2, command: stmts(["INSERT INTO t VALUES (2, 'two')"]) }]);
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[2n]]);
    sm.close();
  });

  test("a failing read does not break the next one", () => {
    const sm = openWithData();
    const out = sm.read([q("SELECT nope FROM t"), q("SELECT abs(-9223372036854775808)"), q("SELECT v FROM t")]);
    expect(out.steps[0]).toMatchObject({ ok: false, error: { code: "SQLITE_ERROR" } });
    expect(out.steps[1]).toMatchObject({ ok: false });
    expect(okRows(out.steps[2])).toEqual([["one"]]);
    sm.applyEntries([{ index: 2, command: stmts(["INSERT INTO t VALUES (2, 'two')"]) }]);
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[2n]]);
    sm.close();
  });

  test("an open interactive transaction's writes stay invisible; its commit through the log shows", () => {
    const sm = openWithData();
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[1n]]);
    const scratch = sm.beginScratch({ now: 0, seed: 1 });
    scratch.execute({ sql: "INSERT INTO t VALUES (5, 'scratch')" });
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[1n]]);
    scratch.rollback();
    sm.applyEntries([{ index: 2, command: stmts(["INSERT INTO t VALUES (5, 'logged')"]) }]);
    expect(okRows(sm.read([q("SELECT v FROM t WHERE id = 5")]).steps[0])).toEqual([["logged"]]);
    sm.close();
  });

  test("restoring a snapshot and closing do not wait on a held snapshot", async () => {
    const leader = openWithData();
    leader.applyEntries([{ index: 2, command: stmts(["INSERT INTO t VALUES (2, 'two')"]) }]);
    const snap = join(tempDir(), "snap.sqlite");
    await leader.writeSnapshot(snap);
    const follower = openWithData();
    expect(okRows(follower.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[1n]]);
    follower.restoreSnapshot(snap);
    expect(okRows(follower.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[2n]]);
    follower.close();
    leader.close();
  });
});
