/** POST /sql result shapes from the state machine's results, where INTEGER is bigint and REAL number. */
import { describe, expect, test } from "bun:test";
import type { StatementResult } from "../../src/db/command.ts";
import { plainResult, stringifyExact, typedResult } from "../../src/api/sql-json.ts";

const result: StatementResult = {
  columns: [
    { name: "i", decltype: "INTEGER" },
    { name: "f", decltype: "REAL" },
    { name: "big", decltype: null },
    { name: "t", decltype: "TEXT" },
    { name: "b", decltype: "BLOB" },
    { name: "n", decltype: null },
  ],
  rows: [
    [1n, 1, 2n ** 62n + 1n, "x", new Uint8Array([0, 255]), null],
    [-7n, -0.5, -(2n ** 63n), "", new Uint8Array(), null],
  ],
  rowsAffected: 2,
  lastInsertRowid: 9007199254740993n,
};

describe("sql-json", () => {
  test("format=typed: INTEGER goes out as integer and REAL as float, so 1 and 1.0 stay apart", () => {
    expect(typedResult(result, true)).toEqual({
      columns: ["i", "f", "big", "t", "b", "n"],
      decltypes: ["INTEGER", "REAL", null, "TEXT", "BLOB", null],
      rows: [
        [
          { type: "integer", value: "1" },
          { type: "float", value: 1 },
          { type: "integer", value: "4611686018427387905" },
          { type: "text", value: "x" },
          { type: "blob", base64: "AP8=" },
          { type: "null" },
        ],
        [
          { type: "integer", value: "-7" },
          { type: "float", value: -0.5 },
          { type: "integer", value: "-9223372036854775808" },
          { type: "text", value: "" },
          { type: "blob", base64: "" },
          { type: "null" },
        ],
      ],
      rows_affected: 2,
      last_insert_id: "9007199254740993",
    });
  });

  test("plain JSON writes bigints as exact number literals: the same body a number would give", () => {
    expect(stringifyExact(plainResult(result, true))).toBe(
      '{"rows":[{"i":1,"f":1,"big":4611686018427387905,"t":"x","b":{"base64":"AP8="},"n":null},' +
        '{"i":-7,"f":-0.5,"big":-9223372036854775808,"t":"","b":{"base64":""},"n":null}],"rows_affected":2,"last_insert_id":9007199254740993}',
    );
    // A read reports no write counters.
    expect(stringifyExact(plainResult({ ...result, rows: [] }, false))).toBe('{"rows":[],"rows_affected":0,"last_insert_id":0}');
  });
});

test("typed arguments outside SQLite's 64-bit range are a 400 naming the argument", async () => {
  const { sqlRoutes } = await import("../../src/api/sql-route.ts");
  const service = {
    isReadOnly: () => false,
    write: async () => {
      throw new Error("must not be called");
    },
  } as unknown as import("../../src/node/sql-service.ts").SqlService;
  const app = sqlRoutes(service, { defaultLevel: "linearizable" });
  const r = await app.request("/sql", { method: "POST", body: JSON.stringify({ sql: "INSERT INTO t VALUES (?)", args: [{ type: "integer", value: "99999999999999999999" }] }) });
  expect(r.status).toBe(400);
  expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/args.*64-bit/);
});

describe("plainResultJson", () => {
  const { plainResultJson } = require("../../src/api/sql-json.ts") as typeof import("../../src/api/sql-json.ts");
  const col = (name: string) => ({ name, decltype: null });
  const shapes: StatementResult[] = [
    result,
    { ...result, rows: [] },
    { columns: [], rows: [], rowsAffected: 3, lastInsertRowid: 7 },
    { columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null },
    { columns: [col("a"), col("b")], rows: [[1.5, -0], [Number.NaN, Infinity], [1e21, 2n ** 63n - 1n]], rowsAffected: 0, lastInsertRowid: null },
    { columns: [col('q"uo\\te'), col("\u2028"), col("é")], rows: [['"\n\t\u0000\ud800', "\u2028x", "ü😀"]], rowsAffected: 0, lastInsertRowid: null },
    // Names a JS object does not keep in column order: the generic path defines the bytes.
    { columns: [col("a"), col("b"), col("a")], rows: [[1n, 2n, 3n]], rowsAffected: 0, lastInsertRowid: null },
    { columns: [col("x"), col("2"), col("1")], rows: [[1n, 2n, 3n]], rowsAffected: 0, lastInsertRowid: null },
    { columns: [col("__proto__"), col("y")], rows: [[null, "v"], ["s", "w"]], rowsAffected: 0, lastInsertRowid: null },
    { columns: [col("01"), col("")], rows: [[1n, 2n], [new Uint8Array([1, 2, 3]), null]], rowsAffected: 0, lastInsertRowid: null },
    // Short rows read their missing cells as NULL.
    { columns: [col("a"), col("b")], rows: [[1n]], rowsAffected: 1, lastInsertRowid: 2n ** 60n },
  ];
  test("writes exactly the bytes of stringifyExact(plainResult(…)) for reads and writes", () => {
    for (const r of shapes) {
      for (const isWrite of [false, true]) expect(plainResultJson(r, isWrite)).toBe(stringifyExact(plainResult(r, isWrite)));
    }
  });
});

test("a stored text that spells out the bigint placeholder stays text", () => {
  const text = "\u0000big:123\u0000";
  expect(JSON.parse(stringifyExact({ t: text, n: 9007199254740993n }).replace("9007199254740993", '"n"'))).toEqual({ t: text, n: "n" });
  expect(stringifyExact([text, 9007199254740993n])).toBe(`[${JSON.stringify(text)},9007199254740993]`);
});
