/** What the Hrana layer makes of a statement's text (transaction control, stored SQL, one statement per Stmt), the batch plan, and the baton codec. */
import { describe, expect, test } from "bun:test";
import { BatonCodec } from "../../../src/api/hrana/baton.ts";
import { endsInAutocommit } from "../../../src/api/hrana/batch-plan.ts";
import { isPrepared, prepareStmt, type PreparedStmt } from "../../../src/api/hrana/prepared-stmt.ts";

const stmt = (sql: string, namedArgs: { name: string; value: null }[] = []) => ({
  source: { kind: "text", sql } as const,
  args: [],
  namedArgs,
  wantRows: true,
});
const prepared = (sql: string): PreparedStmt => {
  const p = prepareStmt(stmt(sql), new Map());
  if (!isPrepared(p)) throw new Error(`not prepared: ${p.message}`);
  return p;
};
const control = (sql: string) => prepared(sql).control;

describe("prepareStmt", () => {
  test("transaction statements the stream interprets; names as written", () => {
    expect(control("/* c */ begin")).toEqual({ op: "begin", readonly: false });
    expect(control("BEGIN IMMEDIATE TRANSACTION")).toEqual({ op: "begin", readonly: false });
    expect(control("END TRANSACTION")).toEqual({ op: "commit" });
    expect(control("ROLLBACK TRANSACTION")).toEqual({ op: "rollback" });
    expect(control(`ROLLBACK TO SAVEPOINT "Sp 1"`)).toEqual({ op: "rollback-to", name: "Sp 1" });
    expect(control("SAVEPOINT Sp1;")).toEqual({ op: "savepoint", name: "Sp1" });
    expect(control("RELEASE SAVEPOINT [sp1]")).toEqual({ op: "release", name: "sp1" });
    expect(control("SELECT 'BEGIN'")).toBeNull();
  });

  test("libSQL's BEGIN READONLY opens a read-only transaction and reaches the state machine as plain SQLite", () => {
    for (const sql of ["BEGIN TRANSACTION READONLY", "BEGIN READONLY"]) {
      const p = prepared(sql);
      expect(p.control).toEqual({ op: "begin", readonly: true });
      expect(p.statement.sql).toBe("BEGIN DEFERRED");
    }
  });

  test("a malformed transaction statement is an ordinary statement, left for SQLite to reject as written", () => {
    for (const sql of ["ROLLBACK TO", "SAVEPOINT", "BEGIN whatever", "COMMIT now", "RELEASE a b"]) {
      const p = prepared(sql);
      expect(p.control).toBeNull();
      expect(p.statement.sql).toBe(sql);
    }
  });

  test("one statement per Stmt, the text sent whole; stored SQL resolved", () => {
    expect(prepareStmt(stmt("SELECT 1; SELECT 2"), new Map())).toMatchObject({ code: "SQL_MANY_STATEMENTS" });
    expect(prepareStmt(stmt(" -- nothing\n;"), new Map())).toMatchObject({ code: "SQL_NO_STATEMENT" });
    expect(prepared("SELECT :a; -- done").statement).toEqual({ sql: "SELECT :a; -- done" });
    const stored = prepareStmt({ ...stmt(""), source: { kind: "id", sqlId: 7 } }, new Map([[7, "SELECT :a"]]));
    expect(stored).toMatchObject({ statement: { sql: "SELECT :a" } });
    expect(prepareStmt({ ...stmt(""), source: { kind: "id", sqlId: 8 } }, new Map())).toMatchObject({ code: "SQL_NOT_FOUND" });
    expect(prepareStmt(stmt("SELECT :a", [{ name: ":a", value: null }]), new Map())).toMatchObject({ statement: { args: { ":a": null } } });
  });
});

test("endsInAutocommit recognises @libsql/client's batch shape and nothing looser", () => {
  const B = { control: { op: "begin", readonly: false } as const };
  const S = { control: null };
  const C = (step: number) => ({ control: { op: "commit" } as const, condition: { type: "ok", step } as const });
  const R = (commitStep: number) => ({ control: { op: "rollback" } as const, condition: { type: "not", cond: { type: "ok", step: commitStep } } as const });
  expect(endsInAutocommit([S, S])).toBe(true);
  expect(endsInAutocommit([B, S, C(1), R(2)])).toBe(true);
  expect(endsInAutocommit([S, B, S, C(2), R(3), S])).toBe(true);
  expect(endsInAutocommit([B, S, { control: { op: "rollback" } }])).toBe(true);
  expect(endsInAutocommit([B, S])).toBe(false);
  expect(endsInAutocommit([B, S, C(1)])).toBe(false);
  expect(endsInAutocommit([B, S, C(1), { ...R(1) }])).toBe(false);
});

describe("BatonCodec", () => {
  const codec = new BatonCodec(new Uint8Array(32).fill(1));
  const fields = { nodeId: "node-ü", streamId: "0123456789abcdef0123456789abcdef", seq: 2n ** 64n - 1n };

  test("round-trips node, stream and sequence", () => {
    const b = codec.encode(fields);
    expect(b).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.decode(b)).toEqual(fields);
  });

  test("any flipped bit, truncation or another key is rejected", () => {
    const b = codec.encode(fields);
    const bytes = Buffer.from(b, "base64url");
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 1;
      expect(codec.decode(copy.toString("base64url"))).toBeNull();
    }
    expect(codec.decode(b.slice(0, -4))).toBeNull();
    expect(new BatonCodec(new Uint8Array(32).fill(2)).decode(b)).toBeNull();
  });
});
