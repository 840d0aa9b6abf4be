/**
 * POST /sql through the node's app (createApi), which answers /sql without
 * generic routing and validates the common body shape without zod: the
 * bodies, statuses and headers must be exactly those of docs/http-api.md,
 * including every error, and other paths must still route as before.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createApi } from "../../src/api/app.ts";
import { createBearerAuth, type Authenticator } from "../../src/api/auth/bearer-auth.ts";
import { parseSqlRequest } from "../../src/api/sql-request.ts";
import { NodeMetrics } from "../../src/node/node-metrics.ts";
import type { NodeView } from "../../src/node/node-view.ts";
import { StateMachineSqlService } from "./hrana/state-machine-sql-service.ts";

const service = new StateMachineSqlService();
afterAll(() => service.close());
const node = { metrics: new NodeMetrics(), isReady: () => ({ ready: true, reason: "ok" }) } as unknown as NodeView;
const api = createApi(service, node, { defaultReadLevel: "linearizable" });
const authed = createApi(service, node, { defaultReadLevel: "linearizable", auth: createBearerAuth({ tokens: { rw1: "rw", ro1: "ro" } }) });

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, app = api) {
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const r = await app.fetch(new Request(`http://127.0.0.1:1${path}`, init));
  return { status: r.status, type: r.headers.get("content-type"), bookmark: r.headers.get("x-quorumlite-bookmark"), text: await r.text() };
}

const bad = (message: string) => JSON.stringify({ success: false, error: { message, code: "bad-request" } });

describe("POST /sql", () => {
  test("results byte for byte: rows as objects, INTEGER as exact numbers, blobs as base64", async () => {
    expect((await send("POST", "/sql", { sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, f REAL, b BLOB)" })).text).toBe(
      '{"success":true,"result":{"rows":null,"rows_affected":0,"last_insert_id":0}}',
    );
    const w = await send("POST", "/sql", { sql: "INSERT INTO t (id, v, f, b) VALUES (?, ?, ?, ?)", args: [{ type: "integer", value: "9007199254740993" }, true, 2, { base64: "AAE=" }] });
    expect(w).toEqual({ status: 200, type: "application/json", bookmark: "2", text: '{"success":true,"result":{"rows":null,"rows_affected":1,"last_insert_id":9007199254740993}}' });
    const r = await send("POST", "/sql?level=none", { sql: "SELECT id, v, f, b, 1.0 AS one, NULL AS n FROM t WHERE id = ?", args: [{ type: "integer", value: "9007199254740993" }] });
    expect(r).toEqual({
      status: 200,
      type: "application/json",
      bookmark: "2",
      text: '{"success":true,"result":{"rows":[{"id":9007199254740993,"v":"1","f":2,"b":{"base64":"AAE="},"one":1,"n":null}],"rows_affected":0,"last_insert_id":0}}',
    });
    // Names an object would reorder or merge keep the object's shape.
    expect((await send("POST", "/sql?level=none", { sql: 'SELECT 1 AS a, 2 AS a, 3 AS "1", 4 AS __proto__' })).text).toBe(
      '{"success":true,"result":{"rows":[{"1":3,"a":2}],"rows_affected":0,"last_insert_id":0}}',
    );
    expect((await send("POST", "/sql?level=none", { statements: [{ sql: "SELECT 1 AS x" }, { sql: "SELECT ? AS y", args: ["z"] }] })).text).toBe(
      '{"success":true,"results":[{"rows":[{"x":1}],"rows_affected":0,"last_insert_id":0},{"rows":[{"y":"z"}],"rows_affected":0,"last_insert_id":0}]}',
    );
    expect((await send("POST", "/sql?format=typed&level=none", { sql: "SELECT 2 AS i, 2.0 AS f" })).text).toBe(
      '{"success":true,"result":{"columns":["i","f"],"decltypes":[null,null],"rows":[[{"type":"integer","value":"2"},{"type":"float","value":2}]],"rows_affected":0,"last_insert_id":"0"}}',
    );
  });

  test("every malformed request gets the same 400 body as before", async () => {
    const cases: [unknown, string][] = [
      [{ sql: "" }, "sql: sql must not be empty"],
      [{ sql: "SELECT 1", extra: 1 }, 'body: Unrecognized key: "extra"'],
      [{ sql: 5 }, "sql: Invalid input: expected string, received number"],
      [{ sql: "SELECT ?", args: [[1]] }, "args: Invalid input"],
      [{ sql: "SELECT ?", args: "x" }, "args: Invalid input"],
      [{ sql: "SELECT ?", args: [{ type: "integer", value: "99999999999999999999" }] }, "args.value: integer out of 64-bit range"],
      [{ statements: [] }, "statements: statements must not be empty"],
      [[1, 2], 'body must be a JSON object: {"sql": "...", "args": [...]} or {"statements": [...], "transaction": true}'],
      ["{not json", "malformed JSON: JSON Parse error: Expected '}'"],
      ["", "request body is empty; expected JSON"],
    ];
    for (const [body, message] of cases) {
      const r = await send("POST", "/sql?level=none", body);
      expect({ status: r.status, text: r.text }).toEqual({ status: 400, text: bad(message) });
    }
    const sqlError = await send("POST", "/sql?level=none", { sql: "SELECT nope FROM t" });
    expect(sqlError.status).toBe(400);
    expect(sqlError.text).toBe('{"success":false,"error":{"message":"no such column: nope","code":"SQLITE_ERROR","statement_index":0}}');
  });

  test("query parameters decode as Hono's, headers stand in for them", async () => {
    const one = '{"success":true,"result":{"rows":[{"1":1}],"rows_affected":0,"last_insert_id":0}}';
    expect((await send("POST", "/sql?level=n%6Fne", { sql: "SELECT 1" })).text).toBe(one);
    expect((await send("POST", "/sql?level=none&level=bogus", { sql: "SELECT 1" })).text).toBe(one);
    expect((await send("POST", "/sql", { sql: "SELECT 1" }, { "x-quorumlite-level": "none" })).text).toBe(one);
    expect((await send("POST", "/sql?a+b=1&level=bogus+x", { sql: "SELECT 1" })).text).toBe(bad('level must be one of none, weak, linearizable, strong; got "bogus x"'));
    expect((await send("POST", "/sql?lev%65l=x", { sql: "SELECT 1" })).text).toBe(bad('level must be one of none, weak, linearizable, strong; got "x"'));
    expect((await send("POST", "/sql?level=none", { sql: "SELECT 1" }, { "x-quorumlite-bookmark": "abc" })).text).toBe(bad("x-quorumlite-bookmark must be a non-negative integer"));
  });

  test("only POST to exactly /sql is the SQL route; other paths and methods route as before", async () => {
    expect((await send("POST", "/%73ql?level=none", { sql: "SELECT 1" })).status).toBe(200);
    for (const [method, path] of [["POST", "/sql/"], ["POST", "/sqlx"], ["POST", "//sql"], ["GET", "/sql"], ["PUT", "/sql"]] as const) {
      const r = await send(method, path, method === "GET" ? undefined : { sql: "SELECT 1" });
      expect({ status: r.status, text: r.text }).toEqual({ status: 404, text: JSON.stringify({ success: false, error: { message: `no route for ${method} ${path}`, code: "not-found" } }) });
    }
    expect((await send("GET", "/readyz")).text).toBe('{"ready":true,"reason":"ok"}');
  });

  test("every answer carries its own bookmark, whatever was done to an earlier response's headers", async () => {
    const first = await api.fetch(new Request("http://127.0.0.1:1/sql?level=none", { method: "POST", body: JSON.stringify({ sql: "SELECT 1" }) }));
    const at = Number(first.headers.get("x-quorumlite-bookmark"));
    first.headers.set("x-quorumlite-bookmark", "999");
    first.headers.set("x-extra", "1");
    const again = await send("POST", "/sql?level=none", { sql: "SELECT 1" });
    expect(again.bookmark).toBe(String(at));
    const w = await send("POST", "/sql", { sql: "INSERT INTO t (v) VALUES ('b')" });
    expect(w.bookmark).toBe(String(at + 1));
    const after = await api.fetch(new Request("http://127.0.0.1:1/sql?level=none", { method: "POST", body: JSON.stringify({ sql: "SELECT 1" }) }));
    expect([...after.headers]).toEqual([["content-type", "application/json"], ["x-quorumlite-bookmark", String(at + 1)]]);
  });

  test("an unexpected exception is the app's JSON 500", async () => {
    const failing: Authenticator = {
      authenticate: async () => {
        throw new Error("boom");
      },
    };
    const r = await send("POST", "/sql", { sql: "SELECT 1" }, {}, createApi(service, node, { defaultReadLevel: "linearizable", auth: failing }));
    expect({ status: r.status, type: r.type, text: r.text }).toEqual({
      status: 500,
      type: "application/json",
      text: JSON.stringify({ success: false, error: { message: "internal error: boom", code: "internal" } }),
    });
  });

  test("auth applies on the direct path", async () => {
    expect((await send("POST", "/sql?level=none", { sql: "SELECT 1" }, {}, authed)).status).toBe(401);
    expect((await send("POST", "/sql?level=none", { sql: "SELECT 1" }, { authorization: "Bearer ro1" }, authed)).status).toBe(200);
    const refused = await send("POST", "/sql", { sql: "INSERT INTO t (v) VALUES ('x')" }, { authorization: "Bearer ro1" }, authed);
    expect({ status: refused.status, text: refused.text }).toEqual({
      status: 403,
      text: JSON.stringify({ success: false, error: { message: "this token is read-only; writes are refused", code: "AUTH_READ_ONLY" } }),
    });
  });
});

describe("parseSqlRequest", () => {
  test("the common shape gives what zod gives: only the keys sent, args copied", () => {
    const args = [1, "a", null, true, 1.5];
    const r = parseSqlRequest({ sql: "SELECT ?", args });
    expect(r).toEqual({ ok: true, value: { sql: "SELECT ?", args } });
    if (r.ok && "args" in r.value) expect(r.value.args).not.toBe(args);
    const noArgs = parseSqlRequest({ sql: "SELECT 1" });
    expect(noArgs.ok && Object.keys(noArgs.value)).toEqual(["sql"]);
    // Values JSON cannot carry go to zod, which refuses them.
    expect(parseSqlRequest({ sql: "SELECT ?", args: [Number.POSITIVE_INFINITY] }).ok).toBe(false);
    expect(parseSqlRequest({ sql: "SELECT ?", args: [undefined] }).ok).toBe(false);
  });

  test("plain batches give what zod gives, and every other batch still gets zod's errors", () => {
    const statements = [{ sql: "INSERT INTO t VALUES (?)", args: [1] }, { sql: "SELECT 1" }];
    const r = parseSqlRequest({ statements, transaction: true });
    expect(r).toEqual({ ok: true, value: { statements, transaction: true } });
    if (r.ok && "statements" in r.value) expect(r.value.statements[0]).not.toBe(statements[0]);
    const noTx = parseSqlRequest({ statements });
    expect(noTx.ok && Object.keys(noTx.value)).toEqual(["statements"]);
    // Named args take zod's path and come out the same way.
    expect(parseSqlRequest({ statements: [{ sql: "SELECT :a", args: { a: 1 } }] })).toEqual({ ok: true, value: { statements: [{ sql: "SELECT :a", args: { a: 1 } }] } });
    const refused = (body: unknown) => {
      const x = parseSqlRequest(body);
      return x.ok ? "accepted" : x.message;
    };
    expect(refused({ statements: [] })).toContain("statements: statements must not be empty");
    expect(refused({ statements: [{ sql: "" }] })).toContain("statements.0.sql: sql must not be empty");
    expect(refused({ statements: [{ sql: "SELECT 1" }], transaction: "yes" })).toContain("transaction");
    expect(refused({ statements: [{ sql: "SELECT 1", extra: 1 }] })).toContain("statements.0");
    expect(refused({ statements: [null] })).toContain("statements.0");
    expect(refused({ statements: Array.from({ length: 10_001 }, () => ({ sql: "SELECT 1" })) })).toContain("statements");
    expect(refused({ statements: [{ sql: "SELECT 1" }], other: 1 })).toContain("other");
  });
});
