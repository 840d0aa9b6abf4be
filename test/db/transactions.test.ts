import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { BatchStep, Command } from "../../src/db/command.ts";
import { StateMachine } from "../../src/db/state-machine.ts";
import { batch, okRows, stepsOf, stmts, tempDir } from "./state-machine-fixture.ts";

function openWithTable(): StateMachine {
  const sm = StateMachine.open(join(tempDir(), "db.sqlite"), { fsync: false });
  sm.applyEntries([{ index: 1, command: stmts(["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"]) }]);
  return sm;
}

function apply(sm: StateMachine, command: Command) {
  return sm.applyEntries([{ index: sm.appliedIndex() + 1, command }])[0]!;
}

function rowsOf(sm: StateMachine): unknown[] {
  return okRows(sm.read([{ stmt: { sql: "SELECT id, v FROM t ORDER BY id" } }]).steps[0]).map((r) => r.slice());
}

/**
 * What @libsql/client 0.18 sends for `client.batch(stmts, mode)` over Hrana 3
 * (executeHranaBatch): BEGIN, each statement conditioned on the previous one
 * and on not being in autocommit, COMMIT likewise, ROLLBACK unless COMMIT
 * succeeded; `migrate()` wraps it in PRAGMA foreign_keys=off/on.
 */
function libsqlBatch(mode: "deferred" | "write", sqls: readonly string[], disableForeignKeys = false): BatchStep[] {
  const steps: BatchStep[] = [];
  if (disableForeignKeys) steps.push({ stmt: { sql: "PRAGMA foreign_keys=off" } });
  steps.push({ stmt: { sql: mode === "write" ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED" } });
  const inTx = (prev: number) => ({ type: "and" as const, conds: [{ type: "ok" as const, step: prev }, { type: "not" as const, cond: { type: "is_autocommit" as const } }] });
  for (const sql of sqls) steps.push({ stmt: { sql }, condition: inTx(steps.length - 1) });
  const commit = steps.length;
  steps.push({ stmt: { sql: "COMMIT" }, condition: inTx(commit - 1) });
  steps.push({ stmt: { sql: "ROLLBACK" }, condition: { type: "not", cond: { type: "ok", step: commit } } });
  if (disableForeignKeys) steps.push({ stmt: { sql: "PRAGMA foreign_keys=on" } });
  return steps;
}

describe("transaction statements inside commands", () => {
  test("@libsql/client batch: all steps commit together", () => {
    const sm = openWithTable();
    const out = stepsOf(apply(sm, batch(libsqlBatch("write", ["INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b')"]))));
    expect(out.map((s) => s?.ok ?? null)).toEqual([true, true, true, true, null]);
    expect(rowsOf(sm)).toEqual([
      [1n, "a"],
      [2n, "b"],
    ]);
    sm.close();
  });

  test("@libsql/client batch: a failing step skips COMMIT and ROLLBACK undoes the earlier steps", () => {
    const sm = openWithTable();
    apply(sm, stmts(["INSERT INTO t VALUES (9, 'existing')"]));
    const out = stepsOf(apply(sm, batch(libsqlBatch("deferred", ["INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (9, 'dup')", "INSERT INTO t VALUES (3, 'c')"]))));
    expect(out.map((s) => s?.ok ?? null)).toEqual([true, true, false, null, null, true]);
    expect(out[2]).toMatchObject({ ok: false, error: { code: "SQLITE_CONSTRAINT_PRIMARYKEY" } });
    expect(rowsOf(sm)).toEqual([[9n, "existing"]]);
    sm.close();
  });

  test("@libsql/client migrate(): the batch wrapped in PRAGMA foreign_keys=off/on applies", () => {
    const sm = openWithTable();
    const out = stepsOf(apply(sm, batch(libsqlBatch("write", ["CREATE TABLE m (id INTEGER PRIMARY KEY)", "INSERT INTO m VALUES (1)"], true))));
    expect(out.map((s) => s?.ok ?? null)).toEqual([true, true, true, true, true, null, true]);
    expect(okRows(sm.read([{ stmt: { sql: "SELECT id FROM m" } }]).steps[0])).toEqual([[1n]]);
    sm.close();
  });

  test("is_autocommit follows BEGIN and COMMIT", () => {
    const sm = openWithTable();
    const probe = (n: number): BatchStep => ({ stmt: { sql: `SELECT ${n}` }, condition: { type: "is_autocommit" } });
    const out = stepsOf(apply(sm, batch([probe(1), { stmt: { sql: "BEGIN" } }, probe(2), { stmt: { sql: "END" } }, probe(3)])));
    expect(out.map((s) => (s === null ? "skipped" : (okRows(s)[0]?.[0] ?? "ok")))).toEqual([1n, "ok", "skipped", "ok", 3n]);
    sm.close();
  });

  test("a transaction left open at the end of a command is rolled back; work before BEGIN stays", () => {
    const sm = openWithTable();
    apply(sm, stmts(["INSERT INTO t VALUES (1, 'before')", "BEGIN", "INSERT INTO t VALUES (2, 'inside')"]));
    expect(rowsOf(sm)).toEqual([[1n, "before"]]);
    // The next command starts in autocommit mode.
    const out = stepsOf(apply(sm, batch([{ stmt: { sql: "SELECT 1" }, condition: { type: "is_autocommit" } }])));
    expect(out[0]).toMatchObject({ ok: true });
    sm.close();
  });

  test("savepoint names compare as SQLite does: ASCII letters fold, others do not", () => {
    const sm = openWithTable();
    const out = stepsOf(
      apply(
        sm,
        batch([
          { stmt: { sql: "SAVEPOINT Ä" } },
          { stmt: { sql: "RELEASE ä" } },
          { stmt: { sql: "INSERT INTO t VALUES (1, 'kept')" } },
          { stmt: { sql: "SAVEPOINT Abc" } },
          { stmt: { sql: "ROLLBACK TO abc" } },
          { stmt: { sql: "RELEASE ABC" } },
          { stmt: { sql: "RELEASE Ä" } },
        ]),
      ),
    );
    expect(out.map((s) => (s?.ok ? "ok" : s?.error.message))).toEqual(["ok", "no such savepoint: ä", "ok", "ok", "ok", "ok", "ok"]);
    expect(rowsOf(sm)).toEqual([[1n, "kept"]]);
    sm.close();
  });

  test("errors as SQLite gives them for misplaced transaction statements", () => {
    const sm = openWithTable();
    const out = stepsOf(
      apply(
        sm,
        batch([
          { stmt: { sql: "COMMIT" } },
          { stmt: { sql: "ROLLBACK" } },
          { stmt: { sql: "RELEASE nope" } },
          { stmt: { sql: "BEGIN" } },
          { stmt: { sql: "BEGIN" } },
          { stmt: { sql: "ROLLBACK TO nope" } },
          { stmt: { sql: "COMMIT TRANSACTION please now" } },
          { stmt: { sql: "COMMIT" } },
        ]),
      ),
    );
    expect(out.map((s) => (s?.ok ? "ok" : s?.error.message))).toEqual([
      "cannot commit - no transaction is active",
      "cannot rollback - no transaction is active",
      "no such savepoint: nope",
      "ok",
      "cannot start a transaction within a transaction",
      "no such savepoint: nope",
      'near "now": syntax error',
      "ok",
    ]);
    sm.close();
  });

  test("savepoints: nested rollback (Drizzle's nested transaction) and a savepoint that opens the transaction", () => {
    const sm = openWithTable();
    apply(
      sm,
      stmts([
        "BEGIN",
        "INSERT INTO t VALUES (1, 'outer')",
        "SAVEPOINT sp1",
        "INSERT INTO t VALUES (2, 'inner, rolled back')",
        "ROLLBACK TO SAVEPOINT sp1",
        "RELEASE sp1",
        "SAVEPOINT sp2",
        "INSERT INTO t VALUES (3, 'inner, released')",
        "RELEASE SAVEPOINT sp2",
        "COMMIT",
      ]),
    );
    expect(rowsOf(sm)).toEqual([
      [1n, "outer"],
      [3n, "inner, released"],
    ]);
    // SAVEPOINT in autocommit mode starts a transaction; releasing it (case-insensitively) commits.
    const out = stepsOf(
      apply(
        sm,
        batch([
          { stmt: { sql: "SAVEPOINT Outer" } },
          { stmt: { sql: "INSERT INTO t VALUES (4, 'sp')" } },
          { stmt: { sql: "SELECT 1" }, condition: { type: "is_autocommit" } },
          { stmt: { sql: "RELEASE outer" } },
          { stmt: { sql: "SELECT 2" }, condition: { type: "is_autocommit" } },
          { stmt: { sql: "SAVEPOINT x" } },
          { stmt: { sql: "INSERT INTO t VALUES (5, 'rolled back')" } },
          { stmt: { sql: "ROLLBACK" } },
        ]),
      ),
    );
    expect(out.map((s) => s?.ok ?? null)).toEqual([true, true, null, true, true, true, true, true]);
    expect(rowsOf(sm).map((r) => (r as unknown[])[0])).toEqual([1n, 3n, 4n]);
    sm.close();
  });

  test("BEGIN TRANSACTION READONLY refuses writes until it ends", () => {
    const sm = openWithTable();
    const out = stepsOf(
      apply(
        sm,
        batch([
          { stmt: { sql: "BEGIN TRANSACTION READONLY" } },
          { stmt: { sql: "SELECT count(*) FROM t" } },
          { stmt: { sql: "INSERT INTO t VALUES (1, 'x')" } },
          { stmt: { sql: "COMMIT" } },
          { stmt: { sql: "INSERT INTO t VALUES (2, 'after')" } },
        ]),
      ),
    );
    expect(out[2]).toMatchObject({ ok: false, error: { code: "SQLITE_READONLY" } });
    expect(out.map((s) => s?.ok)).toEqual([true, true, false, true, true]);
    expect(rowsOf(sm)).toEqual([[2n, "after"]]);
    sm.close();
  });

  test("an error inside a client transaction undoes only that statement, as in SQLite", () => {
    const sm = openWithTable();
    // `statements` stop at the error; the transaction they leave open is rolled back.
    apply(sm, stmts(["BEGIN", "INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (1, 'dup')"]));
    expect(rowsOf(sm)).toEqual([]);
    const out = stepsOf(
      apply(sm, batch([{ stmt: { sql: "BEGIN" } }, { stmt: { sql: "INSERT INTO t VALUES (1, 'a')" } }, { stmt: { sql: "INSERT INTO t VALUES (1, 'dup')" } }, { stmt: { sql: "COMMIT" } }])),
    );
    expect(out.map((s) => s?.ok)).toEqual([true, true, false, true]);
    expect(rowsOf(sm)).toEqual([[1n, "a"]]);
    sm.close();
  });
});

describe("client transactions inside all-or-nothing commands", () => {
  test("a failing statement inside BEGIN … of a transactional command rolls everything back cleanly", () => {
    const sm = openWithTable();
    const out = apply(sm, stmts(["INSERT INTO t VALUES (1, 'a')", "BEGIN", "SAVEPOINT s", "INSERT INTO t VALUES (2, 'b')", "INSERT INTO t VALUES (2, 'dup')", "COMMIT"], { transaction: true }));
    expect(out).toMatchObject({ ok: false, results: [], error: { code: "SQLITE_CONSTRAINT_PRIMARYKEY", statementIndex: 4 } });
    expect(rowsOf(sm)).toEqual([]);
    // The writer is healthy: the next command applies normally.
    expect(apply(sm, stmts(["BEGIN", "INSERT INTO t VALUES (3, 'c')", "COMMIT"], { transaction: true }))).toMatchObject({ ok: true });
    expect(rowsOf(sm)).toEqual([[3n, "c"]]);
    sm.close();
  });
});
