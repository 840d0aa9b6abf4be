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
