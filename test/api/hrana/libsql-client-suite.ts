/**
 * The real, pinned @libsql/client against a Hrana endpoint: in-process nodes
 * here (libsql-client.test.ts), a real cluster through a follower in the
 * runtime's tests. Everything is checked through the client or `peek`, a
 * read of committed data; the service-call assertions run only when the
 * service is in-process.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createClient, LibsqlError, type Client } from "@libsql/client";
import type { CallRecord } from "./sqlite-sql-service.ts";

export interface HranaTarget {
  /** Base URL of the node the client talks to (for a cluster: a follower). */
  readonly url: string;
  /** Committed data, read outside any test stream (numbers as JS numbers). */
  peek(sql: string): Promise<unknown[][]>;
  /** The node's TRANSACTION_TIMEOUT; the idle-timeout test sleeps twice as long. */
  readonly txIdleTimeoutMs: number;
  /** In-process only: every SqlService call, to check how requests were mapped. */
  readonly calls?: readonly CallRecord[];
  /** In-process only: interactive transactions still open on the leader. */
  openTransactions?(): number;
}

export function libsqlClientSuite(setup: () => HranaTarget | Promise<HranaTarget>, teardown: () => void | Promise<void> = () => undefined): void {
  let target: HranaTarget;
  let client: Client;
  const run = Math.random().toString(36).slice(2, 8);
  const ops = (from: number) => target.calls!.slice(from).map((c) => c.op);
  const noOpenTransactions = () => {
    if (target.openTransactions) expect(target.openTransactions()).toBe(0);
  };

  beforeAll(async () => {
    target = await setup();
    client = createClient({ url: target.url, intMode: "bigint" });
  });

  afterAll(async () => {
    client.close();
    await teardown();
  });

  let table = 0;
  let t = "";
  beforeEach(async () => {
    t = `t${run}_${++table}`;
    await client.execute(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER, f REAL, b BLOB, x)`);
  });

  describe("execute", () => {
    test("every value type round-trips", async () => {
      const big = 9007199254740993n; // 2^53 + 1: not representable as a JS number
      const blob = new Uint8Array([0, 1, 2, 250, 255]);
      const ins = await client.execute({
        sql: `INSERT INTO ${t} (name, n, f, b, x) VALUES (?, ?, ?, ?, ?)`,
        args: ["héllo ☃", big, 1.5, blob, null],
      });
      expect(ins.rowsAffected).toBe(1);
      expect(ins.lastInsertRowid).toBe(1n);
      const rs = await client.execute(`SELECT name, n, f, b, x, typeof(n) AS tn, typeof(f) AS tf FROM ${t}`);
      expect(rs.columns).toEqual(["name", "n", "f", "b", "x", "tn", "tf"]);
      expect(rs.columnTypes).toEqual(["TEXT", "INTEGER", "REAL", "BLOB", "", "", ""]);
      const row = rs.rows[0]!;
      expect(row["name"]).toBe("héllo ☃");
      expect(row["n"]).toBe(big);
      expect(row["f"]).toBe(1.5);
      expect(new Uint8Array(row["b"] as ArrayBuffer)).toEqual(blob);
      expect(row["x"]).toBeNull();
      expect(row["tn"]).toBe("integer");
      expect(row["tf"]).toBe("real");
    });

    test("negative and extreme integers, integral floats in a REAL column", async () => {
      const min = -9223372036854775808n;
      const max = 9223372036854775807n;
      await client.execute({ sql: `INSERT INTO ${t} (n, f) VALUES (?, ?)`, args: [min, 2] });
      await client.execute({ sql: `INSERT INTO ${t} (n, f) VALUES (?, ?)`, args: [max, -0.25] });
      const rs = await client.execute(`SELECT n, f FROM ${t} ORDER BY id`);
      expect(rs.rows.map((r) => [r["n"], r["f"]])).toEqual([
        [min, 2],
        [max, -0.25],
      ]);
      // Through the wire, a REAL column's 2.0 stays a float: intMode "bigint" would make an integer a bigint.
      expect(typeof rs.rows[0]!["f"]).toBe("number");
    });

    test("JS numbers arrive as floats and land as integers in INTEGER columns", async () => {
      await client.execute({ sql: `INSERT INTO ${t} (n) VALUES (?)`, args: [42] });
      const rs = await client.execute(`SELECT n, typeof(n) AS ty FROM ${t}`);
      expect(rs.rows[0]!["n"]).toBe(42n);
      expect(rs.rows[0]!["ty"]).toBe("integer");
    });

    test("named arguments with each prefix", async () => {
      await client.execute({ sql: `INSERT INTO ${t} (name, n) VALUES (:name, $n)`, args: { name: "a", n: 1n } });
      await client.execute({ sql: `INSERT INTO ${t} (name, n) VALUES (@name, :n)`, args: { "@name": "b", ":n": 2n } });
      const rs = await client.execute({ sql: `SELECT name FROM ${t} WHERE n >= $min ORDER BY n`, args: { min: 1n } });
      expect(rs.rows.map((r) => r["name"])).toEqual(["a", "b"]);
    });

    test("intMode number rejects unsafe integers but reads safe ones", async () => {
      const c = createClient({ url: target.url });
      try {
        await c.execute({ sql: `INSERT INTO ${t} (n) VALUES (?)`, args: [7] });
        const rs = await c.execute(`SELECT n FROM ${t}`);
        expect(rs.rows[0]!["n"]).toBe(7);
        await client.execute({ sql: `INSERT INTO ${t} (n) VALUES (?)`, args: [2n ** 60n] });
        await expect(c.execute(`SELECT n FROM ${t} WHERE n > 7`)).rejects.toThrow(RangeError);
      } finally {
        c.close();
      }
    });

    test("RETURNING rows come back from a write", async () => {
      const rs = await client.execute({ sql: `INSERT INTO ${t} (name) VALUES (?) RETURNING id, name`, args: ["r"] });
      expect(rs.rows.map((r) => [r["id"], r["name"]])).toEqual([[1n, "r"]]);
    });

    test("constraint errors carry SQLite's extended code", async () => {
      await client.execute({ sql: `INSERT INTO ${t} (id, name) VALUES (1, 'a')`, args: [] });
      const pk = await client.execute(`INSERT INTO ${t} (id) VALUES (1)`).catch((e: unknown) => e);
      expect(pk).toBeInstanceOf(LibsqlError);
      expect((pk as LibsqlError).code).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
      expect((pk as LibsqlError).message).toContain("UNIQUE constraint failed");
      const uq = await client.execute(`INSERT INTO ${t} (name) VALUES ('a')`).catch((e: unknown) => e);
      expect((uq as LibsqlError).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
      const syntax = await client.execute(`SELEC 1`).catch((e: unknown) => e);
      expect((syntax as LibsqlError).code).toBe("SQLITE_ERROR");
      // The failed statements changed nothing.
      expect(await target.peek(`SELECT count(*) FROM ${t}`)).toEqual([[1]]);
    });

    test("a plain write is one write command, a read is one read", async () => {
      const before = target.calls?.length ?? 0;
      await client.execute(`INSERT INTO ${t} (name) VALUES ('w')`);
      await client.execute(`SELECT * FROM ${t}`);
      if (target.calls) expect(ops(before)).toEqual(["write", "read"]);
    });
  });

  describe("batch", () => {
    for (const mode of ["deferred", "write"] as const) {
      test(`${mode}: applies atomically as ONE write command`, async () => {
        const before = target.calls?.length ?? 0;
        const rs = await client.batch(
          [
            { sql: `INSERT INTO ${t} (name) VALUES (?)`, args: ["a"] },
            { sql: `INSERT INTO ${t} (name) VALUES (?)`, args: ["b"] },
            `SELECT name FROM ${t} ORDER BY id`,
          ],
          mode,
        );
        expect(rs.map((r) => r.rowsAffected)).toEqual([1, 1, 0]);
        expect(rs[2]!.rows.map((r) => r["name"])).toEqual(["a", "b"]);
        if (target.calls) {
          expect(ops(before)).toEqual(["write"]);
          expect((target.calls[before]!.detail as { kind: string }).kind).toBe("batch");
        }
        expect(await target.peek(`SELECT name FROM ${t} ORDER BY id`)).toEqual([["a"], ["b"]]);
      });

      test(`${mode}: a failing step rolls the whole batch back`, async () => {
        const err = await client
          .batch(
            [
              { sql: `INSERT INTO ${t} (name) VALUES (?)`, args: ["x"] },
              { sql: `INSERT INTO ${t} (name) VALUES (?)`, args: ["x"] },
            ],
            mode,
          )
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LibsqlError);
        expect((err as LibsqlError).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
        expect(await target.peek(`SELECT count(*) FROM ${t}`)).toEqual([[0]]);
      });
    }

    test("read: served as one read, and enforced read-only", async () => {
      await client.execute(`INSERT INTO ${t} (name) VALUES ('a')`);
      const before = target.calls?.length ?? 0;
      const rs = await client.batch([`SELECT count(*) AS c FROM ${t}`, `SELECT name FROM ${t}`], "read");
      expect(rs[0]!.rows[0]!["c"]).toBe(1n);
      if (target.calls) expect(ops(before)).toEqual(["read"]);
      const err = await client.batch([`INSERT INTO ${t} (name) VALUES ('no')`], "read").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LibsqlError);
      expect((err as LibsqlError).code).toBe("SQLITE_READONLY");
      expect(await target.peek(`SELECT name FROM ${t}`)).toEqual([["a"]]);
    });

    test("migrate: foreign keys off around one atomic write", async () => {
      const rs = await client.migrate([
        { sql: `CREATE TABLE ${t}_m (id INTEGER PRIMARY KEY, v TEXT)`, args: [] },
        { sql: `INSERT INTO ${t}_m (v) VALUES (?)`, args: ["m"] },
      ]);
      expect(rs).toHaveLength(2);
      expect(await target.peek(`SELECT v FROM ${t}_m`)).toEqual([["m"]]);
      const err = await client
        .migrate([
          { sql: `CREATE TABLE ${t}_n (id INTEGER PRIMARY KEY)`, args: [] },
          { sql: `INSERT INTO nope VALUES (1)`, args: [] },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LibsqlError);
      expect(await target.peek(`SELECT count(*) FROM sqlite_master WHERE name = '${t}_n'`)).toEqual([[0]]);
    });
  });

  describe("transaction", () => {
    test("commit: statements see their own writes, others see them after COMMIT", async () => {
      const tx = await client.transaction("write");
      await tx.execute({ sql: `INSERT INTO ${t} (name) VALUES (?)`, args: ["in-tx"] });
      const inside = await tx.execute(`SELECT name FROM ${t}`);
      expect(inside.rows.map((r) => r["name"])).toEqual(["in-tx"]);
      // Another stream does not see the uncommitted row.
      const outside = await client.execute(`SELECT count(*) AS c FROM ${t}`);
      expect(outside.rows[0]!["c"]).toBe(0n);
      await tx.commit();
      expect(await target.peek(`SELECT name FROM ${t}`)).toEqual([["in-tx"]]);
      noOpenTransactions();
    });

    test("rollback discards everything", async () => {
      const tx = await client.transaction("deferred");
      await tx.batch([
        { sql: `INSERT INTO ${t} (name) VALUES (?)`, args: ["a"] },
        { sql: `INSERT INTO ${t} (name) VALUES (?)`, args: ["b"] },
      ]);
      await tx.rollback();
      expect(await target.peek(`SELECT count(*) FROM ${t}`)).toEqual([[0]]);
      noOpenTransactions();
    });

    test("an error inside keeps the transaction usable; nested savepoints roll back", async () => {
      const tx = await client.transaction("write");
      await tx.execute(`INSERT INTO ${t} (name) VALUES ('keep')`);
      const err = await tx.execute(`INSERT INTO ${t} (name) VALUES ('keep')`).catch((e: unknown) => e);
      expect((err as LibsqlError).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
      await tx.execute("SAVEPOINT sp1");
      await tx.execute(`INSERT INTO ${t} (name) VALUES ('gone')`);
      await tx.execute("ROLLBACK TO SAVEPOINT sp1");
      await tx.execute("RELEASE SAVEPOINT sp1");
      await tx.execute("SAVEPOINT sp2");
      await tx.execute(`INSERT INTO ${t} (name) VALUES ('kept-in-open-savepoint')`);
      await tx.commit();
      expect(await target.peek(`SELECT name FROM ${t} ORDER BY id`)).toEqual([["keep"], ["kept-in-open-savepoint"]]);
    });

    test("other writers queue behind an open transaction", async () => {
      const tx = await client.transaction("write");
      await tx.execute(`INSERT INTO ${t} (name) VALUES ('first')`);
      let done = false;
      const other = client.execute(`INSERT INTO ${t} (name) VALUES ('second')`).then(() => (done = true));
      await Bun.sleep(50);
      expect(done).toBe(false);
      await tx.commit();
      await other;
      expect(await target.peek(`SELECT name FROM ${t} ORDER BY id`)).toEqual([["first"], ["second"]]);
    });

    test("read transaction: reads work, writes are refused", async () => {
      await client.execute(`INSERT INTO ${t} (name) VALUES ('r')`);
      const begins = target.calls?.filter((c) => c.op === "begin").length;
      const tx = await client.transaction("read");
      const rs = await tx.execute(`SELECT name FROM ${t}`);
      expect(rs.rows[0]!["name"]).toBe("r");
      const err = await tx.execute(`DELETE FROM ${t}`).catch((e: unknown) => e);
      expect((err as LibsqlError).code).toBe("SQLITE_READONLY");
      await tx.commit();
      expect(await target.peek(`SELECT count(*) FROM ${t}`)).toEqual([[1]]);
      // Served locally: no write transaction was opened on the leader.
      if (target.calls) expect(target.calls.filter((c) => c.op === "begin").length).toBe(begins!);
    });

    test("idle timeout: the transaction is rolled back and says so", async () => {
      const tx = await client.transaction("write");
      await tx.execute(`INSERT INTO ${t} (name) VALUES ('late')`);
      await Bun.sleep(target.txIdleTimeoutMs * 2);
      const err = await tx.execute(`SELECT 1`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LibsqlError);
      expect((err as LibsqlError).code).toBe("TRANSACTION_TIMEOUT");
      const commitErr = await tx.commit().catch((e: unknown) => e);
      expect(commitErr).toBeInstanceOf(LibsqlError);
      tx.close();
      expect(await target.peek(`SELECT count(*) FROM ${t}`)).toEqual([[0]]);
      noOpenTransactions();
      // The write lock is free again.
      await client.execute(`INSERT INTO ${t} (name) VALUES ('after')`);
    });

    test("executeMultiple inside a transaction", async () => {
      const tx = await client.transaction("write");
      await tx.executeMultiple(`INSERT INTO ${t} (name) VALUES ('m1'); INSERT INTO ${t} (name) VALUES ('m2');`);
      await tx.commit();
      expect(await target.peek(`SELECT name FROM ${t} ORDER BY id`)).toEqual([["m1"], ["m2"]]);
    });
  });

  describe("executeMultiple", () => {
    test("runs every statement, including a trigger body with semicolons", async () => {
      await client.executeMultiple(`
        CREATE TABLE ${t}_log (msg TEXT);
        -- a comment; with a semicolon
        CREATE TRIGGER ${t}_trg AFTER INSERT ON ${t} BEGIN
          INSERT INTO ${t}_log VALUES ('inserted ' || new.name);
          INSERT INTO ${t}_log VALUES (CASE WHEN new.n > 0 THEN 'pos' ELSE 'non-pos' END);
        END;
        INSERT INTO ${t} (name, n) VALUES ('a;b', 1);
      `);
      expect(await target.peek(`SELECT msg FROM ${t}_log`)).toEqual([["inserted a;b"], ["pos"]]);
    });

    test("stops at the first error, keeping what ran before (no implicit transaction)", async () => {
      const err = await client
        .executeMultiple(`INSERT INTO ${t} (name) VALUES ('one'); INSERT INTO nope VALUES (1); INSERT INTO ${t} (name) VALUES ('three');`)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LibsqlError);
      expect(await target.peek(`SELECT name FROM ${t}`)).toEqual([["one"]]);
    });

    test("BEGIN … COMMIT inside runs as a transaction", async () => {
      await client.executeMultiple(`BEGIN; INSERT INTO ${t} (name) VALUES ('x'); INSERT INTO ${t} (name) VALUES ('y'); COMMIT;`);
      expect(await target.peek(`SELECT name FROM ${t} ORDER BY id`)).toEqual([["x"], ["y"]]);
      const err = await client
        .executeMultiple(`BEGIN; INSERT INTO ${t} (name) VALUES ('z'); INSERT INTO ${t} (name) VALUES ('x'); COMMIT;`)
        .catch((e: unknown) => e);
      expect((err as LibsqlError).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
      // The stream closed with the transaction open: it was rolled back, 'z' is gone.
      await Bun.sleep(20);
      expect(await target.peek(`SELECT name FROM ${t} ORDER BY id`)).toEqual([["x"], ["y"]]);
      noOpenTransactions();
    });
  });
}
