/** The Hrana layer's SQL lexing: statement splitting, parameters, transaction control; and the baton codec. */
import { describe, expect, test } from "bun:test";
import { BatonCodec } from "../../../src/api/hrana/baton.ts";
import { endsInAutocommit } from "../../../src/api/hrana/batch-plan.ts";
import { parameterNames, splitStatements, tokenize } from "../../../src/api/hrana/sql-lexer.ts";
import { classifyTxControl } from "../../../src/api/hrana/tx-control.ts";

const split = (sql: string) => splitStatements(sql).map((s) => s.sql);
const control = (sql: string) => classifyTxControl(tokenize(sql));

describe("splitStatements", () => {
  test("semicolons inside strings, identifiers, comments and blobs do not split", () => {
    expect(split(`SELECT 'a;b', "c;d", [e;f], \`g;h\`, x'3b'; -- x;y\n/* ; */ SELECT 2;;`)).toEqual([
      `SELECT 'a;b', "c;d", [e;f], \`g;h\`, x'3b'`,
      "SELECT 2",
    ]);
    expect(split(`SELECT 'it''s; fine'`)).toEqual([`SELECT 'it''s; fine'`]);
  });

  test("a trigger body is one statement, CASE … END inside included", () => {
    const trigger = "CREATE TEMP TRIGGER t AFTER INSERT ON x WHEN CASE WHEN 1 THEN 1 END BEGIN INSERT INTO y VALUES (CASE new.a WHEN 1 THEN 'x' END); DELETE FROM z; END";
    expect(split(`${trigger}; SELECT 1`)).toEqual([trigger, "SELECT 1"]);
  });

  test("comment-only and empty text has no statement", () => {
    expect(split("  -- nothing\n /* here */ ; ")).toEqual([]);
  });
});

test("parameterNames follows SQLite's numbering", () => {
  expect(parameterNames(tokenize("SELECT ?, :a, ?5, ?, :a, @b, $c::d"))).toEqual([null, ":a", null, null, "?5", null, "@b", "$c::d"]);
  expect(parameterNames(tokenize("SELECT ':not', \"?\" -- ?"))).toEqual([]);
});

describe("transaction control", () => {
  test("BEGIN variants, READONLY included", () => {
    expect(control("begin")).toEqual({ kind: "begin", readOnly: false });
    expect(control("BEGIN IMMEDIATE TRANSACTION")).toEqual({ kind: "begin", readOnly: false });
    expect(control("BEGIN TRANSACTION READONLY")).toEqual({ kind: "begin", readOnly: true });
    expect(control("/* c */ BEGIN READONLY")).toEqual({ kind: "begin", readOnly: true });
  });

  test("COMMIT/END, ROLLBACK, savepoints with quoted names", () => {
    expect(control("END TRANSACTION")).toEqual({ kind: "commit" });
    expect(control("COMMIT")).toEqual({ kind: "commit" });
    expect(control("ROLLBACK TRANSACTION")).toEqual({ kind: "rollback" });
    expect(control(`ROLLBACK TO SAVEPOINT "Sp 1"`)).toEqual({ kind: "rollback-to", name: "sp 1" });
    expect(control("SAVEPOINT Sp1")).toEqual({ kind: "savepoint", name: "sp1" });
    expect(control("RELEASE SAVEPOINT [sp1]")).toEqual({ kind: "release", name: "sp1" });
    expect(control("RELEASE sp1")).toEqual({ kind: "release", name: "sp1" });
    expect(control("SELECT 1")).toBeNull();
    expect(control("ROLLBACK TO")).toBeNull();
  });
});

test("endsInAutocommit recognises @libsql/client's batch shape and nothing looser", () => {
  const B = { control: { kind: "begin", readOnly: false } as const };
  const S = { control: null };
  const C = (step: number) => ({ control: { kind: "commit" } as const, condition: { type: "ok", step } as const });
  const R = (commitStep: number) => ({ control: { kind: "rollback" } as const, condition: { type: "not", cond: { type: "ok", step: commitStep } } as const });
  expect(endsInAutocommit([S, S])).toBe(true);
  expect(endsInAutocommit([B, S, C(1), R(2)])).toBe(true);
  expect(endsInAutocommit([S, B, S, C(2), R(3), S])).toBe(true);
  expect(endsInAutocommit([B, S, { control: { kind: "rollback" } }])).toBe(true);
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
