import { describe, expect, test } from "bun:test";
import { DecodeError } from "../../src/db/byte-codec.ts";
import type { Command, CommandOutcome } from "../../src/db/command.ts";
import { decodeCommand, encodeCommand, UnknownCommandVersionError } from "../../src/db/command-codec.ts";
import { decodeOutcome, encodeOutcome } from "../../src/db/outcome-codec.ts";

const stamp = { now: 1714979289123, seed: 2 ** 52 + 7 };

describe("command codec", () => {
  test("round-trips every value type, named and positional args, absent vs empty args", () => {
    const cmd: Command = {
      kind: "statements",
      transaction: true,
      stamp,
      requestId: "req-ü-1",
      statements: [
        { sql: "SELECT 1" },
        { sql: "SELECT ?", args: [] },
        {
          sql: "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          args: [null, 0, -1, 42, 2 ** 52 + 1, -(2 ** 60), 1.5, -0, Number.NaN, 2n ** 63n - 1n, -(2n ** 70n)],
        },
        { sql: "SELECT :a, @b, $c", args: { ":a": "text 🎉", b: new Uint8Array([0, 1, 255]), $c: 9007199254740993n, __proto__x: "" } },
        { sql: "SELECT ''", args: { ["__proto__"]: "kept as a key" } },
      ],
    };
    const back = decodeCommand(encodeCommand(cmd));
    expect(back).toEqual(cmd);
    const values = (back as Extract<Command, { kind: "statements" }>).statements[2]!.args as unknown[];
    expect(Object.is(values[7], -0)).toBe(true);
    expect(Number.isNaN(values[8])).toBe(true);
    expect(typeof values[9]).toBe("bigint");
    expect(typeof values[4]).toBe("number");
    expect("args" in (back as Extract<Command, { kind: "statements" }>).statements[0]!).toBe(false);
    const named = (back as Extract<Command, { kind: "statements" }>).statements[4]!.args as Record<string, unknown>;
    expect(Object.keys(named)).toEqual(["__proto__"]);
  });

  test("round-trips batches with nested conditions and no request id", () => {
    const cmd: Command = {
      kind: "batch",
      stamp,
      steps: [
        { stmt: { sql: "BEGIN DEFERRED" } },
        { stmt: { sql: "INSERT INTO t VALUES (1)" }, condition: { type: "ok", step: 0 } },
        {
          stmt: { sql: "COMMIT" },
          condition: { type: "and", conds: [{ type: "ok", step: 1 }, { type: "not", cond: { type: "error", step: 0 } }, { type: "or", conds: [] }] },
        },
        { stmt: { sql: "ROLLBACK" }, condition: { type: "not", cond: { type: "is_autocommit" } } },
      ],
    };
    expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
  });

  test("is compact for a typical single-row insert", () => {
    const bytes = encodeCommand({ kind: "statements", transaction: false, stamp, statements: [{ sql: "INSERT INTO users (name) VALUES (?)", args: ["Alice"] }] });
    // 35 bytes of SQL + 5 of text: the framing costs about 30 bytes.
    expect(bytes.length).toBeLessThan(35 + 5 + 32);
  });

  test("stores a SQL text repeated in a command once, and decodes it to one string", () => {
    const sql = "INSERT INTO bench_kv (client, seq, v) VALUES (?, ?, ?)";
    const cmd: Command = {
      kind: "statements",
      transaction: true,
      stamp,
      statements: [
        ...Array.from({ length: 50 }, (_, i) => ({ sql, args: [1, i, `v${i}`] })),
        { sql: "UPDATE t SET x = 1" },
        { sql, args: [2, 0, "last"] },
      ],
    };
    const bytes = encodeCommand(cmd);
    const back = decodeCommand(bytes) as Extract<Command, { kind: "statements" }>;
    expect(back).toEqual(cmd);
    expect(bytes.length).toBeLessThan(2 * sql.length + 52 * 16);
    expect(back.statements.every((s, i) => i === 50 || s.sql === back.statements[0]!.sql)).toBe(true);
    const batch: Command = { kind: "batch", stamp, steps: [{ stmt: { sql: "SELECT 1" } }, { stmt: { sql: "SELECT 2" }, condition: { type: "ok", step: 0 } }, { stmt: { sql: "SELECT 1" } }] };
    expect(decodeCommand(encodeCommand(batch))).toEqual(batch);
  });

  test("still decodes version 1 entries (SQL inline in every statement)", () => {
    // u8 version 1, kind 1, f64 now, f64 seed, no request id, transaction, 2 statements:
    // "SELECT ?" with [7], "SELECT ?" with ["é"].
    const f64 = (v: number) => [...new Uint8Array(new Float64Array([v]).buffer)];
    const text = (s: string) => {
      const b = new TextEncoder().encode(s);
      return [b.length, ...b];
    };
    const v1 = new Uint8Array([1, 1, ...f64(stamp.now), ...f64(stamp.seed), 0, 1, 2, ...text("SELECT ?"), 1, 1, 1, 14, ...text("SELECT ?"), 1, 1, 4, ...text("é")]);
    expect(decodeCommand(v1)).toEqual({ kind: "statements", transaction: true, stamp, statements: [{ sql: "SELECT ?", args: [7] }, { sql: "SELECT ?", args: ["é"] }] });
    // …and writes them, byte for byte as the previous build did, for a cluster that still runs it.
    expect(encodeCommand(decodeCommand(v1), 1)).toEqual(v1);
  });

  test("rejects a reference to a SQL text it has not seen, and invalid UTF-8", () => {
    const good = encodeCommand({ kind: "statements", transaction: false, stamp, statements: [{ sql: "SELECT ?", args: ["ab"] }] });
    // The statement follows the 19-byte header, the transaction flag and the count.
    const badRef = good.slice();
    expect(badRef[20]).toBe(1); // one statement
    expect(badRef[21]).toBe(0); // a literal SQL text
    badRef[21] = 1;
    expect(() => decodeCommand(badRef)).toThrow(DecodeError);
    const badText = good.slice();
    badText[badText.length - 1] = 0xff; // the last byte of "ab"
    expect(() => decodeCommand(badText)).toThrow(DecodeError);
    const replacement = encodeCommand({ kind: "statements", transaction: false, stamp, statements: [{ sql: "SELECT ?", args: ["a\uFFFD\uD800"] }] });
    expect(decodeCommand(replacement)).toEqual({ kind: "statements", transaction: false, stamp, statements: [{ sql: "SELECT ?", args: ["a\uFFFD\uFFFD"] }] });
  });

  test("rejects bytes it did not produce", () => {
    const good = encodeCommand({ kind: "statements", transaction: false, stamp, statements: [{ sql: "SELECT 1", args: [1] }] });
    expect(() => decodeCommand(good.subarray(0, good.length - 1))).toThrow(DecodeError);
    expect(() => decodeCommand(new Uint8Array([...good, 0]))).toThrow(DecodeError);
    expect(() => decodeCommand(new Uint8Array([9, 1]))).toThrow(DecodeError);
    expect(() => decodeCommand(new TextEncoder().encode('{"sql":"SELECT 1"}'))).toThrow(DecodeError);
    // A huge claimed count must not allocate: it is bounded by the input length.
    const huge = new Uint8Array([1, 1, ...new Uint8Array(16), 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => decodeCommand(huge)).toThrow(DecodeError);
  });
});

describe("outcome codec", () => {
  test("round-trips statement results and errors", () => {
    const outcomes: CommandOutcome[] = [
      {
        kind: "statements",
        ok: true,
        results: [
          {
            columns: [
              { name: "id", decltype: "INTEGER" },
              { name: "expr", decltype: null },
            ],
            rows: [
              [1n, 2n ** 62n],
              [null, new Uint8Array([7])],
              ["x", 0.25],
              // A REAL 2.0 and an INTEGER 2: results keep them apart, and so must the request log.
              [2, 2n],
            ],
            rowsAffected: 3,
            lastInsertRowid: 2n ** 60n,
          },
        ],
      },
      { kind: "statements", ok: false, results: [], error: { message: "UNIQUE constraint failed: t.id", code: "SQLITE_CONSTRAINT_PRIMARYKEY", statementIndex: 4 } },
      {
        kind: "batch",
        steps: [null, { ok: true, result: { columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null } }, { ok: false, error: { message: "boom", code: "SQLITE_ERROR" } }],
      },
    ];
    for (const o of outcomes) expect(decodeOutcome(encodeOutcome(o))).toEqual(o);
    const back = decodeOutcome(encodeOutcome(outcomes[0]!)) as Extract<CommandOutcome, { kind: "statements" }>;
    expect(back.results[0]!.rows[3]!.map((v) => typeof v)).toEqual(["number", "bigint"]);
  });
});

test("an entry of an unknown (newer) command version is its own error, which the node treats as fatal", () => {
  const bytes = encodeCommand({ kind: "statements", statements: [{ sql: "SELECT 1" }], transaction: false, stamp });
  bytes[0] = 99;
  expect(() => decodeCommand(bytes)).toThrow(UnknownCommandVersionError);
  expect(() => decodeCommand(bytes)).toThrow(DecodeError);
});
