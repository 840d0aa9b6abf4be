import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import type { CommandOutcome, StatementResult } from "../../src/db/command.ts";
import { StateMachine } from "../../src/db/state-machine.ts";
import { batch, okRows, stepsOf, stmts, tempDir } from "./state-machine-fixture.ts";

function openFresh(opts: { requestIdCapacity?: number } = {}): StateMachine {
  return StateMachine.open(join(tempDir(), "db.sqlite"), { fsync: false, ...opts });
}

function results(o: CommandOutcome | null): readonly StatementResult[] {
  if (o === null || o.kind !== "statements") throw new Error(`expected statements outcome: ${JSON.stringify(o)}`);
  if (!o.ok) throw new Error(`command failed: ${JSON.stringify(o.error)}`);
  return o.results;
}

function count(sm: StateMachine, sql: string): unknown {
  return okRows(sm.read([{ stmt: { sql } }]).steps[0])[0]![0];
}

describe("applied index", () => {
  test("advances with every entry, skips what is already applied, survives reopening", () => {
    const dir = tempDir();
    const path = join(dir, "db.sqlite");
    const sm = StateMachine.open(path);
    expect(sm.appliedIndex()).toBe(0);
    const first = sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (x)"]) },
      { index: 2, command: null },
      { index: 3, command: stmts(["INSERT INTO t VALUES (1)"]) },
    ]);
    expect(first[1]).toBeNull();
    expect(sm.appliedIndex()).toBe(3);
    // A replay of the same entries (as after a crash between apply and the caller's bookkeeping) changes nothing.
    const replay = sm.applyEntries([
      { index: 2, command: null },
      { index: 3, command: stmts(["INSERT INTO t VALUES (1)"]) },
      { index: 4, command: stmts(["INSERT INTO t VALUES (2)"]) },
    ]);
    expect(replay[0]).toBeNull();
    expect(replay[1]).toBeNull();
    expect(results(replay[2]!)[0]!.rowsAffected).toBe(1);
    expect(sm.appliedIndex()).toBe(4);
    sm.close();
    const again = StateMachine.open(path);
    expect(again.appliedIndex()).toBe(4);
    expect(count(again, "SELECT count(*) FROM t")).toBe(2n);
    again.close();
  });

  test("refuses a gap in the indexes", () => {
    const sm = openFresh();
    sm.applyEntries([{ index: 1, command: null }]);
    expect(() => sm.applyEntries([{ index: 3, command: null }])).toThrow(/does not follow 1/);
    expect(sm.appliedIndex()).toBe(1);
    sm.close();
  });

  test("a process killed at any point of an apply keeps each entry exactly once", async () => {
    const dir = tempDir();
    const path = join(dir, "db.sqlite");
    const setup = StateMachine.open(path);
    setup.applyEntries([{ index: 1, command: stmts(["CREATE TABLE big (x)", "CREATE TABLE counter (n)", "INSERT INTO counter VALUES (0)"]) }]);
    setup.close();
    // The child applies one heavy entry (400k rows, then the counter) and is killed while doing so, or just after.
    const child = Bun.spawn({
      cmd: [
        process.execPath,
        "-e",
        `
        const { StateMachine } = await import(${JSON.stringify(join(import.meta.dir, "../../src/db/state-machine.ts"))});
        const sm = StateMachine.open(${JSON.stringify(path)});
        const stamp = { now: 0, seed: 0 };
        console.log("ready");
        sm.applyEntries([{ index: 2, command: { kind: "statements", transaction: false, stamp, statements: [
          { sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) INSERT INTO big SELECT i FROM n" },
          { sql: "UPDATE counter SET n = n + 1" } ] } }]);
        console.log("applied");
        await Bun.sleep(60000);
        `,
      ],
      stdout: "pipe",
      stderr: "inherit",
    });
    const reader = child.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("ready");
    await Bun.sleep(150);
    child.kill("SIGKILL");
    await child.exited;

    const sm = StateMachine.open(path);
    const index = sm.appliedIndex();
    expect([1, 2]).toContain(index);
    // Index and data moved together.
    expect(count(sm, "SELECT n FROM counter")).toBe(BigInt(index - 1));
    expect(count(sm, "SELECT count(*) FROM big")).toBe(index === 2 ? 400000n : 0n);
    // The node then re-applies from its log: entry 2 lands exactly once.
    sm.applyEntries([
      {
        index: 2,
        command: stmts(["WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) INSERT INTO big SELECT i FROM n", "UPDATE counter SET n = n + 1"]),
      },
    ]);
    expect(sm.appliedIndex()).toBe(2);
    expect(count(sm, "SELECT n FROM counter")).toBe(1n);
    expect(count(sm, "SELECT count(*) FROM big")).toBe(400000n);
    sm.close();
  });
});

describe("statement results", () => {
  test("rows, decltypes, rowsAffected, lastInsertRowid only for inserts, RETURNING", () => {
    const sm = openFresh();
    const [create, insert, select, update, ret, upd2, del] = results(
      sm.applyEntries([
        {
          index: 1,
          command: stmts([
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)",
            ["INSERT INTO users (name, score, data) VALUES (?, ?, ?), (?, ?, ?)", ["Alice", 1.5, new Uint8Array([1, 2]), "Bob", 2, null]],
            "SELECT id, name, score, data, 1 + 1 AS two FROM users ORDER BY id",
            "UPDATE users SET score = score + 1",
            ["INSERT INTO users (name) VALUES (:name) RETURNING id, name", { name: "Carol" }],
            "UPDATE users SET name = upper(name) WHERE id > 1 RETURNING id",
            "DELETE FROM users WHERE id = 1",
          ]),
        },
      ])[0]!,
    );
    expect(create).toEqual({ columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null });
    expect(insert).toEqual({ columns: [], rows: [], rowsAffected: 2, lastInsertRowid: 2 });
    expect(select!.columns).toEqual([
      { name: "id", decltype: "INTEGER" },
      { name: "name", decltype: "TEXT" },
      { name: "score", decltype: "REAL" },
      { name: "data", decltype: "BLOB" },
      { name: "two", decltype: null },
    ]);
    expect(select!.rows).toEqual([
      // Bob's score is the REAL 2.0: a number, where the INTEGERs are bigints.
      [1n, "Alice", 1.5, new Uint8Array([1, 2]), 2n],
      [2n, "Bob", 2, null, 2n],
    ]);
    expect(select!.rowsAffected).toBe(0);
    expect(select!.lastInsertRowid).toBeNull();
    expect(update).toMatchObject({ rowsAffected: 2, lastInsertRowid: null });
    expect(ret).toEqual({
      columns: [
        { name: "id", decltype: "INTEGER" },
        { name: "name", decltype: "TEXT" },
      ],
      rows: [[3n, "Carol"]],
      rowsAffected: 1,
      lastInsertRowid: 3,
    });
    expect(upd2).toMatchObject({ rows: [[2n], [3n]], rowsAffected: 2, lastInsertRowid: null });
    expect(del).toMatchObject({ rowsAffected: 1, lastInsertRowid: null });
    sm.close();
  });

  test("every INTEGER comes back as bigint, beyond 2^53 too; lastInsertRowid is a number where it is safe", () => {
    const sm = openFresh();
    const out = results(
      sm.applyEntries([
        {
          index: 1,
          command: stmts([
            "CREATE TABLE n (id INTEGER PRIMARY KEY, v INTEGER)",
            ["INSERT INTO n VALUES (?, ?)", [9007199254740993n, -9007199254740993n]],
            ["INSERT INTO n VALUES (?, ?)", [5, 9007199254740991]],
            "SELECT id, v FROM n ORDER BY id",
          ]),
        },
      ])[0]!,
    );
    expect(out[1]!.lastInsertRowid).toBe(9007199254740993n);
    expect(out[3]!.rows).toEqual([
      [5n, 9007199254740991n],
      [9007199254740993n, -9007199254740993n],
    ]);
    sm.close();
  });

  test("the storage class survives: INTEGER as bigint, REAL as number, so 2 and 2.0 stay apart (a remembered outcome too)", () => {
    const sm = openFresh();
    const sql = "SELECT a, typeof(a), r, i, 1, 1.0, CAST(2 AS REAL), -0.0 FROM t ORDER BY rowid";
    const out = sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (a, r REAL, i INTEGER)", "INSERT INTO t VALUES (2.0, 2, '7'), (2, 2.5, 3.0)"]) },
      { index: 2, command: stmts([sql], { requestId: "typed" }) },
      { index: 3, command: stmts([sql], { requestId: "typed" }) },
    ]);
    const rows = results(out[1]!)[0]!.rows;
    expect(rows).toEqual([
      [2, "real", 2, 7n, 1n, 1, 2, -0],
      [2n, "integer", 2.5, 3n, 1n, 1, 2, -0],
    ]);
    expect(Object.is(rows[0]![7], -0)).toBe(true);
    // The retry gets the outcome back from the request log's bytes, types and all.
    expect(out[2]).toEqual(out[1]!);
    expect(results(out[2]!)[0]!.rows.map((r) => r.map((v) => typeof v))).toEqual(rows.map((r) => r.map((v) => typeof v)));
    sm.close();
  });

  test("parameters never leak from one command into the next", () => {
    const sm = openFresh();
    sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (a, b)"]) },
      { index: 2, command: stmts([["INSERT INTO t VALUES (?, ?)", [1, 2]]]) },
      // Same SQL text (a cached statement), no arguments this time: NULLs, not the previous values.
      { index: 3, command: stmts(["INSERT INTO t VALUES (?, ?)"]) },
      { index: 4, command: stmts([["INSERT INTO t VALUES (:a, :b)", { a: 3 }]]) },
    ]);
    expect(okRows(sm.read([{ stmt: { sql: "SELECT a, b FROM t ORDER BY rowid" } }]).steps[0])).toEqual([
      [1n, 2n],
      [null, null],
      [3n, null],
    ]);
    sm.close();
  });

  test("several statements in one SQL string run in order; with arguments they are refused", () => {
    const sm = openFresh();
    const out = sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);"]) },
      { index: 2, command: stmts([["INSERT INTO t VALUES (?); INSERT INTO t VALUES (?)", [3, 4]]]) },
      { index: 3, command: stmts(["  -- nothing here\n"]) },
    ]);
    expect(results(out[0]!)[0]).toMatchObject({ rowsAffected: 1, lastInsertRowid: 2 });
    expect(out[1]).toMatchObject({ ok: false, error: { code: "SQL_MANY_STATEMENTS", statementIndex: 0 } });
    expect(out[2]).toMatchObject({ ok: false, error: { code: "SQL_NO_STATEMENT" } });
    expect(count(sm, "SELECT count(*) FROM t")).toBe(2n);
    sm.close();
  });
});

describe("errors and atomicity", () => {
  test("a transaction rolls back entirely and names the failing statement with SQLite's extended code", () => {
    const sm = openFresh();
    const out = sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE, CHECK (length(v) < 10))"]) },
      { index: 2, command: stmts(["INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b')", "INSERT INTO t VALUES (1, 'c')"], { transaction: true }) },
      { index: 3, command: stmts(["INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'a')"], { transaction: true }) },
      { index: 4, command: stmts(["INSERT INTO t VALUES (5, NULL)"]) },
      { index: 5, command: stmts(["INSERT INTO t VALUES (6, 'far too long')"]) },
      { index: 6, command: stmts(["INSERT INTO nope VALUES (1)"]) },
      { index: 7, command: stmts(["SELEC 1"]) },
    ]);
    expect(out[1]).toEqual({
      kind: "statements",
      ok: false,
      results: [],
      error: { code: "SQLITE_CONSTRAINT_PRIMARYKEY", message: "UNIQUE constraint failed: t.id", statementIndex: 2 },
    });
    expect(out[2]).toMatchObject({ ok: false, error: { code: "SQLITE_CONSTRAINT_UNIQUE", statementIndex: 1 } });
    expect(out[3]).toMatchObject({ ok: false, error: { code: "SQLITE_CONSTRAINT_NOTNULL", statementIndex: 0 } });
    expect(out[4]).toMatchObject({ ok: false, error: { code: "SQLITE_CONSTRAINT_CHECK" } });
    expect(out[5]).toMatchObject({ ok: false, error: { code: "SQLITE_ERROR", message: "no such table: nope" } });
    expect(out[6]).toMatchObject({ ok: false, error: { code: "SQLITE_ERROR" } });
    expect(count(sm, "SELECT count(*) FROM t")).toBe(0n);
    expect(sm.appliedIndex()).toBe(7);
    sm.close();
  });

  test("without a transaction, statements before the failing one are kept and the rest do not run", () => {
    const sm = openFresh();
    const out = sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY)"]) },
      { index: 2, command: stmts(["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (3)"]) },
    ]);
    expect(out[1]).toMatchObject({ ok: false, results: [{ rowsAffected: 1 }], error: { statementIndex: 1 } });
    expect(okRows(sm.read([{ stmt: { sql: "SELECT id FROM t" } }]).steps[0])).toEqual([[1n]]);
    sm.close();
  });

  test("refused statements fail with SQLITE_AUTH and change nothing", () => {
    const sm = openFresh();
    const out = sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (x)"]) },
      { index: 2, command: stmts(["INSERT INTO t VALUES (1)", "ATTACH DATABASE ':memory:' AS other"], { transaction: true }) },
      { index: 3, command: stmts(["PRAGMA journal_mode = DELETE"]) },
      { index: 4, command: stmts(["DELETE FROM _quorumlite_meta"]) },
      { index: 5, command: stmts(["SELECT load_extension('x')"]) },
      { index: 6, command: stmts(["INSERT INTO t SELECT pageno FROM dbstat"]) },
      { index: 7, command: stmts(["VACUUM"]) },
      { index: 8, command: stmts(["PRAGMA foreign_keys = ON", "PRAGMA user_version = 7"]) },
    ]);
    for (const o of out.slice(1, 7)) expect(o).toMatchObject({ ok: false, error: { code: "SQLITE_AUTH" } });
    expect(out[7]).toMatchObject({ ok: true });
    expect(count(sm, "SELECT count(*) FROM t")).toBe(0n);
    const raw = new Database(sm.path, { readonly: true });
    expect(raw.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    raw.close();
    expect(count(sm, "PRAGMA user_version")).toBe(7n);
    // foreign_keys stays at the state machine's setting (SQLite ignores it inside a transaction).
    sm.applyEntries([{ index: 9, command: stmts(["CREATE TABLE p (id INTEGER PRIMARY KEY)", "CREATE TABLE c (p REFERENCES p(id))", "INSERT INTO c VALUES (42)"]) }]);
    expect(count(sm, "SELECT count(*) FROM c")).toBe(1n);
    sm.close();
  });

  test("RAISE(ROLLBACK) and ON CONFLICT ROLLBACK undo the whole entry, not the other entries of the apply", () => {
    const sm = openFresh();
    const out = sm.applyEntries([
      {
        index: 1,
        command: stmts([
          "CREATE TABLE t (x)",
          "CREATE TABLE k (id INTEGER PRIMARY KEY ON CONFLICT ROLLBACK)",
          "CREATE TRIGGER no_boom BEFORE INSERT ON t WHEN new.x = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'boom refused'); END",
        ]),
      },
      { index: 2, command: stmts(["INSERT INTO t VALUES ('kept 2')"]) },
      { index: 3, command: stmts(["INSERT INTO t VALUES ('lost 3a')", "INSERT INTO t VALUES ('boom')", "INSERT INTO t VALUES ('never')"], { requestId: "r3" }) },
      { index: 4, command: stmts(["INSERT INTO t VALUES ('kept 4')", "INSERT INTO k VALUES (1)"]) },
      {
        index: 5,
        command: batch([{ stmt: { sql: "INSERT INTO t VALUES ('lost 5a')" } }, { stmt: { sql: "INSERT INTO k VALUES (1)" } }, { stmt: { sql: "INSERT INTO t VALUES ('never')" } }]),
      },
      { index: 6, command: stmts(["INSERT INTO t VALUES ('kept 6')"]) },
    ]);
    expect(out[2]).toEqual({ kind: "statements", ok: false, results: [], error: { code: "SQLITE_CONSTRAINT_TRIGGER", message: "boom refused", statementIndex: 1 } });
    expect(stepsOf(out[4]!)[1]).toMatchObject({ ok: false, error: { code: "SQLITE_CONSTRAINT_PRIMARYKEY" } });
    expect(stepsOf(out[4]!)[2]).toBeNull();
    expect(out[5]).toMatchObject({ ok: true });
    expect(sm.appliedIndex()).toBe(6);
    expect(okRows(sm.read([{ stmt: { sql: "SELECT x FROM t ORDER BY rowid" } }]).steps[0]).map((r) => r[0])).toEqual(["kept 2", "kept 4", "kept 6"]);
    // The failed entry's outcome is remembered for its request id like any other.
    const retried = sm.applyEntries([{ index: 7, command: stmts(["INSERT INTO t VALUES ('other')"], { requestId: "r3" }) }]);
    expect(retried[0]).toEqual(out[2]!);
    sm.close();
  });
});

describe("exactly-once request ids", () => {
  test("a repeated request id returns the stored outcome without running again", () => {
    const sm = openFresh();
    const out = sm.applyEntries([
      { index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v)"]) },
      { index: 2, command: stmts([["INSERT INTO t (v) VALUES (?) RETURNING id, v", [9007199254740993n]]], { requestId: "client-1:1" }) },
      // The client retried after a timeout; the retry was committed too, in the same batch.
      { index: 3, command: stmts([["INSERT INTO t (v) VALUES (?) RETURNING id, v", [9007199254740993n]]], { requestId: "client-1:1" }) },
    ]);
    expect(out[2]).toEqual(out[1]!);
    const later = sm.applyEntries([{ index: 4, command: stmts([["INSERT INTO t (v) VALUES (?) RETURNING id, v", [1]]], { requestId: "client-1:1" }) }]);
    expect(later[0]).toEqual(out[1]!);
    expect(results(later[0]!)[0]!.rows).toEqual([[1n, 9007199254740993n]]);
    expect(count(sm, "SELECT count(*) FROM t")).toBe(1n);
    sm.close();
  });

  test("only the most recent ids are remembered", () => {
    const sm = openFresh({ requestIdCapacity: 3 });
    sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (v)"]) }]);
    for (let i = 0; i < 5; i++) sm.applyEntries([{ index: i + 2, command: stmts([["INSERT INTO t VALUES (?)", [i]]], { requestId: `r${i}` }) }]);
    // r4 (recent) is deduplicated, r0 (forgotten) runs again.
    sm.applyEntries([
      { index: 7, command: stmts([["INSERT INTO t VALUES (?)", [4]]], { requestId: "r4" }) },
      { index: 8, command: stmts([["INSERT INTO t VALUES (?)", [0]]], { requestId: "r0" }) },
    ]);
    expect(okRows(sm.read([{ stmt: { sql: "SELECT v, count(*) FROM t GROUP BY v ORDER BY v" } }]).steps[0])).toEqual([
      [0n, 2n],
      [1n, 1n],
      [2n, 1n],
      [3n, 1n],
      [4n, 1n],
    ]);
    const db = new Database(sm.path, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM _quorumlite_requests").get()).toEqual({ n: 3 });
    db.close();
    sm.close();
  });
});

describe("options", () => {
  test("autoCheckpointPages sets when the writer checkpoints its WAL itself (0: never)", () => {
    const walPages = (autoCheckpointPages: number): number => {
      const sm = StateMachine.open(join(tempDir(), "db.sqlite"), { fsync: false, autoCheckpointPages });
      sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (b BLOB)"]) }]);
      // Each entry adds about one page of data.
      for (let i = 0; i < 300; i++) sm.applyEntries([{ index: i + 2, command: stmts([["INSERT INTO t VALUES (?)", [new Uint8Array(3500).fill(i)]]]) }]);
      const pages = statSync(`${sm.path}-wal`).size / 4096;
      sm.close();
      return pages;
    };
    // A checkpoint lets the next write start the WAL over, so it stays near the threshold.
    expect(walPages(100)).toBeLessThan(200);
    expect(walPages(0)).toBeGreaterThan(300);
    expect(() => StateMachine.open(join(tempDir(), "db.sqlite"), { autoCheckpointPages: -1 })).toThrow(RangeError);
  });
});
