import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { BatchStep, StepOutcome } from "../../src/db/command.ts";
import { NotReadOnlyError } from "../../src/db/read-session.ts";
import { ScratchAbortedError } from "../../src/db/scratch-transaction.ts";
import { StateMachine } from "../../src/db/state-machine.ts";
import { batch, okRows, STAMP, stepsOf, stmts, tempDir } from "./state-machine-fixture.ts";

function openWithData(): StateMachine {
  const sm = StateMachine.open(join(tempDir(), "db.sqlite"), { fsync: false });
  sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'one'), (2, 'two')"]) }]);
  return sm;
}

const q = (sql: string, args?: readonly (string | number)[]): BatchStep => ({ stmt: args ? { sql, args } : { sql } });

describe("read", () => {
  test("runs read-only steps with conditions and sees committed data", () => {
    const sm = openWithData();
    const out = sm.read([q("SELECT v FROM t WHERE id = ?", [2]), { stmt: { sql: "SELECT nope FROM t" } }, { ...q("SELECT 1"), condition: { type: "error", step: 1 } }]);
    expect(okRows(out.steps[0])).toEqual([["two"]]);
    expect(out.steps[1]).toMatchObject({ ok: false, error: { code: "SQLITE_ERROR" } });
    expect(okRows(out.steps[2])).toEqual([[1n]]);
    sm.close();
  });

  test("refuses a batch holding a write, before running any of it", () => {
    const sm = openWithData();
    let error: unknown;
    try {
      sm.read([q("SELECT 1"), q("INSERT INTO t VALUES (3, 'three')")]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NotReadOnlyError);
    expect((error as NotReadOnlyError).stepIndex).toBe(1);
    expect(() => sm.read([q("WITH x AS (SELECT 1) DELETE FROM t")])).toThrow(NotReadOnlyError);
    expect(() => sm.read([q("CREATE TABLE u (x)")])).toThrow(NotReadOnlyError);
    expect(() => sm.read([q("PRAGMA user_version = 3")])).toThrow(NotReadOnlyError);
    sm.close();
  });

  test("a read batch in BEGIN TRANSACTION READONLY … COMMIT works; refused statements stay refused", () => {
    const sm = openWithData();
    const out = sm.read([q("BEGIN TRANSACTION READONLY"), q("SELECT count(*) FROM t"), q("COMMIT"), q("ATTACH ':memory:' AS x"), q("PRAGMA query_only = 0")]);
    expect(out.steps.map((s) => s?.ok)).toEqual([true, true, true, false, false]);
    expect(okRows(out.steps[1])).toEqual([[2n]]);
    expect(out.steps[3]).toMatchObject({ error: { code: "SQLITE_AUTH" } });
    // A read that leaves its transaction open does not hold the reader's snapshot afterwards.
    sm.read([q("BEGIN"), q("SELECT 1")]);
    sm.applyEntries([{ index: 2, command: stmts(["INSERT INTO t VALUES (3, 'three')"]) }]);
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[3n]]);
    sm.close();
  });

  test("isReadOnly uses SQLite's read-only flag, with a keyword fallback for SQL that does not compile here", () => {
    const sm = openWithData();
    expect(sm.isReadOnly("SELECT * FROM t")).toBe(true);
    expect(sm.isReadOnly("SELECT 1; SELECT 2")).toBe(true);
    expect(sm.isReadOnly("BEGIN TRANSACTION READONLY")).toBe(true);
    expect(sm.isReadOnly("PRAGMA table_info(t)")).toBe(true);
    expect(sm.isReadOnly("SELECT 1; INSERT INTO t VALUES (5, 'x')")).toBe(false);
    expect(sm.isReadOnly("UPDATE t SET v = 'x'")).toBe(false);
    expect(sm.isReadOnly("CREATE TABLE x (a)")).toBe(false);
    expect(sm.isReadOnly("INSERT INTO not_here_yet VALUES (1)")).toBe(false);
    expect(sm.isReadOnly("SELECT * FROM not_here_yet")).toBe(true);
    sm.close();
  });

  test("reads see only committed data, never an open scratch transaction", () => {
    const sm = openWithData();
    const scratch = sm.beginScratch(STAMP);
    expect(scratch.execute({ sql: "INSERT INTO t VALUES (3, 'uncommitted')" })).toMatchObject({ ok: true });
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[2n]]);
    scratch.rollback();
    sm.close();
  });
});

describe("scratch (interactive transactions)", () => {
  test("the statements it ran, applied as one batch command with its stamp, reproduce its results", () => {
    const sm = openWithData();
    const stamp = { now: Date.UTC(2025, 1, 2, 3, 4, 5, 6), seed: 77 };
    const client = [
      { sql: "BEGIN DEFERRED" },
      { sql: "INSERT INTO t (v) VALUES (hex(randomblob(4))) RETURNING id, v" },
      { sql: "INSERT INTO t (id, v) VALUES (1, 'dup')" },
      { sql: "SAVEPOINT s" },
      { sql: "UPDATE t SET v = v || datetime('now') || random() WHERE id = 1 RETURNING v" },
      { sql: "ROLLBACK TO s" },
      { sql: "SELECT id, v, last_insert_rowid(), changes() FROM t ORDER BY id" },
      { sql: "COMMIT" },
    ];
    const scratch = sm.beginScratch(stamp);
    const seen: StepOutcome[] = [];
    const autocommit: boolean[] = [];
    for (const stmt of client) {
      seen.push(scratch.execute(stmt));
      autocommit.push(scratch.isAutocommit());
    }
    scratch.rollback();
    expect(autocommit).toEqual([false, false, false, false, false, false, false, true]);
    expect(seen[2]).toMatchObject({ ok: false, error: { code: "SQLITE_CONSTRAINT_PRIMARYKEY" } });
    // Nothing of it is in the database yet.
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[2n]]);

    const applied = stepsOf(sm.applyEntries([{ index: 2, command: batch(client.map((stmt) => ({ stmt })), { stamp }) }])[0]!);
    expect(applied).toEqual(seen);
    expect(okRows(sm.read([q("SELECT count(*) FROM t")]).steps[0])).toEqual([[3n]]);
    sm.close();
  });

  test("committed entries applied meanwhile: the scratch is replayed and goes on, or aborts if what it read changed", () => {
    const sm = openWithData();
    const scratch = sm.beginScratch(STAMP);
    expect(okRows(scratch.execute({ sql: "INSERT INTO t (v) VALUES ('tx') RETURNING id" }))).toEqual([[3n]]);
    // A no-op entry (new term, configuration) does not disturb it.
    sm.applyEntries([{ index: 2, command: null }]);
    expect(sm.appliedIndex()).toBe(2);
    expect(scratch.isAutocommit()).toBe(true);
    expect(okRows(scratch.execute({ sql: "SELECT count(*) FROM t" }))).toEqual([[3n]]);
    // A write that changes what the scratch saw aborts it.
    sm.applyEntries([{ index: 3, command: stmts(["INSERT INTO t VALUES (3, 'raced')"]) }]);
    expect(() => scratch.execute({ sql: "SELECT 1" })).toThrow(ScratchAbortedError);
    scratch.rollback();
    expect(okRows(sm.read([q("SELECT v FROM t WHERE id = 3")]).steps[0])).toEqual([["raced"]]);
    // The writer is free again.
    const next = sm.beginScratch(STAMP);
    expect(next.execute({ sql: "SELECT count(*) FROM t" })).toMatchObject({ ok: true });
    next.rollback();
    sm.close();
  });

  test("one scratch at a time; a trigger's RAISE(ROLLBACK) aborts it", () => {
    const sm = openWithData();
    sm.applyEntries([{ index: 2, command: stmts(["CREATE TRIGGER no_x BEFORE INSERT ON t WHEN new.v = 'x' BEGIN SELECT RAISE(ROLLBACK, 'no x'); END"]) }]);
    const scratch = sm.beginScratch(STAMP);
    expect(() => sm.beginScratch(STAMP)).toThrow(/already open/);
    scratch.execute({ sql: "BEGIN" });
    expect(scratch.execute({ sql: "INSERT INTO t (v) VALUES ('x')" })).toMatchObject({ ok: false, error: { code: "SQLITE_CONSTRAINT_TRIGGER", message: "no x" } });
    expect(scratch.isAutocommit()).toBe(true);
    expect(() => scratch.execute({ sql: "SELECT 1" })).toThrow(ScratchAbortedError);
    scratch.rollback();
    sm.close();
  });
});
