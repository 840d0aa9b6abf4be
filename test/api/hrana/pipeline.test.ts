/** Raw Hrana-over-HTTP requests: batons, stored SQL, arguments, malformed bodies, conditions, cursors. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { BatonCodec } from "../../../src/api/hrana/baton.ts";
import { ServiceError, type SqlService } from "../../../src/node/sql-service.ts";
import { post, startNode, type TestNode } from "./harness.ts";
import { SqliteSqlService } from "./sqlite-sql-service.ts";
import { SERVICES, type TestService } from "./test-services.ts";

for (const [name, make] of SERVICES) describe(name, () => {
  let service: TestService;
  let node: TestNode;

  beforeAll(() => {
    service = make();
    node = startNode(service);
  });

  afterAll(() => {
    node.stop();
    service.close();
  });

  const exec = (sql: string, extra: Record<string, unknown> = {}) => ({ type: "execute", stmt: { sql, ...extra } });
  const int = (v: bigint | number | string) => ({ type: "integer", value: String(v) });
  const text = (v: string) => ({ type: "text", value: v });

  let table = 0;
  let t = "";
  beforeEach(async () => {
    t = `p${++table}`;
    const r = await post(node.url, "/v2/pipeline", { baton: null, requests: [exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT UNIQUE)`), { type: "close" }] });
    expect(r.json.results[0].type).toBe("ok");
  });

  /** Opens a stream and returns its baton. */
  async function open(path = "/v2/pipeline"): Promise<string> {
    const r = await post(node.url, path, { baton: null, requests: [] });
    expect(r.status).toBe(200);
    return r.json.baton;
  }

  describe("endpoints", () => {
    test("GET /v2 and /v3 answer 2xx; there is no protobuf endpoint", async () => {
      expect((await fetch(`${node.url}/v2`)).status).toBe(200);
      expect((await fetch(`${node.url}/v3`)).status).toBe(200);
      expect((await fetch(`${node.url}/v3-protobuf`)).status).toBe(404);
    });

    test("a pipeline answer is application/json with a fresh baton and no base_url", async () => {
      const r = await post(node.url, "/v2/pipeline", { requests: [exec("SELECT 1")] });
      expect(r.status).toBe(200);
      expect(r.contentType).toBe("application/json");
      expect(typeof r.json.baton).toBe("string");
      expect(r.json.base_url).toBeNull();
      expect(r.json.results[0]).toEqual({
        type: "ok",
        response: { type: "execute", result: { cols: [{ name: "1", decltype: null }], rows: [[int(1)]], affected_row_count: 0, last_insert_rowid: null } },
      });
    });

    test("v3 results carry rows_read, rows_written and query_duration_ms", async () => {
      const r = await post(node.url, "/v3/pipeline", { baton: null, requests: [exec(`INSERT INTO ${t} (v) VALUES ('a')`), { type: "close" }] });
      const res = r.json.results[0].response.result;
      expect(res.rows_written).toBe(1);
      expect(res.rows_read).toBe(0);
      expect(typeof res.query_duration_ms).toBe("number");
      expect(res.last_insert_rowid).toBe("1");
      expect(r.headers.get("x-quorumlite-bookmark")).toBe(String(service.lastIndex));
    });
  });

  describe("batons", () => {
    test("each response's baton is new and works once; a replay is refused and leaves the stream intact", async () => {
      const b1 = await open();
      const r2 = await post(node.url, "/v2/pipeline", { baton: b1, requests: [exec(`INSERT INTO ${t} (v) VALUES ('x')`)] });
      expect(r2.status).toBe(200);
      const b2: string = r2.json.baton;
      expect(b2).not.toBe(b1);

      const replay = await post(node.url, "/v2/pipeline", { baton: b1, requests: [exec(`INSERT INTO ${t} (v) VALUES ('replayed')`)] });
      expect(replay.status).toBe(400);
      expect(replay.contentType).toBe("application/json");
      expect(replay.json.code).toBe("BATON_REUSED");
      expect(replay.json.message).toContain("already been used");

      const r3 = await post(node.url, "/v2/pipeline", { baton: b2, requests: [exec(`SELECT v FROM ${t}`)] });
      expect(r3.status).toBe(200);
      expect(r3.json.results[0].response.result.rows).toEqual([[text("x")]]);
    });

    test("forged batons are refused: tampered, random, signed with another key, another node's id unknown", async () => {
      const b = await open();
      const tampered = b.slice(0, 10) + (b[10] === "A" ? "B" : "A") + b.slice(11);
      const otherKey = new BatonCodec(new Uint8Array(32).fill(9)).encode({ nodeId: "n1", streamId: "00".repeat(16), seq: 1n });
      for (const forged of [tampered, "not a baton", "AAAA", otherKey]) {
        const r = await post(node.url, "/v2/pipeline", { baton: forged, requests: [exec(`INSERT INTO ${t} (v) VALUES ('forged')`)] });
        expect(r.status).toBe(400);
        expect(r.json.code).toBe("BATON_INVALID");
      }
      // The stream the forgeries imitated still works, and nothing was written.
      const ok = await post(node.url, "/v2/pipeline", { baton: b, requests: [exec(`SELECT count(*) FROM ${t}`)] });
      expect(ok.json.results[0].response.result.rows).toEqual([[int(0)]]);
    });

    test("close ends the stream: null baton, later requests in the pipeline and the old baton fail", async () => {
      const b = await open();
      const r = await post(node.url, "/v2/pipeline", { baton: b, requests: [{ type: "close" }, exec("SELECT 1")] });
      expect(r.json.baton).toBeNull();
      expect(r.json.results[0]).toEqual({ type: "ok", response: { type: "close" } });
      expect(r.json.results[1].type).toBe("error");
      expect(r.json.results[1].error.code).toBe("STREAM_CLOSED");
    });

    test("an idle stream expires with a clear error, and its transaction is rolled back", async () => {
      const s = new SqliteSqlService();
      const n = startNode(s, { streamIdleTimeoutMs: 100 });
      try {
        await post(n.url, "/v2/pipeline", { requests: [exec("CREATE TABLE e (v)")] });
        const r = await post(n.url, "/v2/pipeline", { requests: [exec("BEGIN"), exec("INSERT INTO e VALUES (1)")] });
        expect(s.openTransactions).toBe(1);
        await Bun.sleep(300);
        const late = await post(n.url, "/v2/pipeline", { baton: r.json.baton, requests: [exec("COMMIT")] });
        expect(late.status).toBe(400);
        expect(late.json.code).toBe("STREAM_EXPIRED");
        expect(late.json.message).toContain("expired");
        expect(s.openTransactions).toBe(0);
        expect(s.query("SELECT count(*) FROM e")).toEqual([[0]]);
      } finally {
        n.stop();
        s.close();
      }
    });
  });

  describe("stored SQL", () => {
    test("store_sql, execute by sql_id, close_sql; an unknown sql_id is a request error and the stream goes on", async () => {
      const r = await post(node.url, "/v2/pipeline", {
        baton: null,
        requests: [
          { type: "store_sql", sql_id: 1, sql: `INSERT INTO ${t} (v) VALUES (?)` },
          { type: "execute", stmt: { sql_id: 1, args: [text("a")] } },
          { type: "execute", stmt: { sql_id: 2, args: [text("b")] } },
          { type: "batch", batch: { steps: [{ stmt: { sql_id: 1, args: [text("c")] } }] } },
          { type: "close_sql", sql_id: 1 },
          { type: "execute", stmt: { sql_id: 1, args: [text("d")] } },
          { type: "sequence", sql_id: 77 },
        ],
      });
      const res = r.json.results;
      expect(res.map((x: { type: string }) => x.type)).toEqual(["ok", "ok", "error", "ok", "ok", "error", "error"]);
      expect(res[2].error).toEqual({ message: "SQL text 2 not found", code: "SQL_NOT_FOUND" });
      expect(res[5].error.code).toBe("SQL_NOT_FOUND");
      expect(res[6].error.code).toBe("SQL_NOT_FOUND");
      const after = await post(node.url, "/v2/pipeline", { baton: r.json.baton, requests: [exec(`SELECT v FROM ${t} ORDER BY id`)] });
      expect(after.json.results[0].response.result.rows).toEqual([[text("a")], [text("c")]]);
    });

    test("a duplicate id and too many texts are refused", async () => {
      const many = Array.from({ length: 51 }, (_, i) => ({ type: "store_sql", sql_id: i, sql: "SELECT 1" }));
      const r = await post(node.url, "/v2/pipeline", { requests: [...many, { type: "store_sql", sql_id: 0, sql: "SELECT 2" }] });
      expect(r.json.results[49].type).toBe("ok");
      expect(r.json.results[50].error.code).toBe("SQL_STORE_TOO_MANY");
      expect(r.json.results[51].error.code).toBe("SQL_EXISTS");
    });
  });

  describe("arguments", () => {
    test("positional (?, ?NNN) and named (:, @, $) arguments bind", async () => {
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          exec(`INSERT INTO ${t} (id, v) VALUES (?, ?)`, { args: [int(1), text("one")] }),
          exec(`INSERT INTO ${t} (id, v) VALUES (?2, ?1)`, { args: [text("two"), int(2)] }),
          exec(`INSERT INTO ${t} (id, v) VALUES (:id, @v)`, { named_args: [{ name: ":id", value: int(3) }, { name: "@v", value: text("three") }] }),
          exec(`INSERT INTO ${t} (id, v) VALUES ($id, $v)`, { named_args: [{ name: "id", value: int(4) }, { name: "v", value: text("four") }] }),
          exec(`SELECT id, v FROM ${t} ORDER BY id`),
        ],
      });
      expect(r.json.results.slice(0, 4).every((x: { type: string }) => x.type === "ok")).toBe(true);
      expect(r.json.results[4].response.result.rows).toEqual([
        [int(1), text("one")],
        [int(2), text("two")],
        [int(3), text("three")],
        [int(4), text("four")],
      ]);
    });

    test("positional and named together: a documented request error, nothing written, stream intact", async () => {
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          exec(`INSERT INTO ${t} (id, v) VALUES (?, :v)`, { args: [int(1)], named_args: [{ name: ":v", value: text("x") }] }),
          exec(`SELECT count(*) FROM ${t}`),
        ],
      });
      expect(r.status).toBe(200);
      expect(r.json.results[0]).toEqual({
        type: "error",
        error: { message: "Specifying both positional and named arguments is not supported", code: "ARGS_BOTH_POSITIONAL_AND_NAMED" },
      });
      expect(r.json.results[1].response.result.rows).toEqual([[int(0)]]);
      expect(typeof r.json.baton).toBe("string");
    });

    test("values: big integers exact, floats, blobs, null", async () => {
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          exec("SELECT ?, ?, ?, ?, ?, ?", {
            args: [int(-9223372036854775808n), int(9007199254740993n), { type: "float", value: 0.5 }, { type: "blob", base64: "AAH/" }, { type: "null" }, { type: "float", value: 3 }],
          }),
        ],
      });
      expect(r.json.results[0].response.result.rows[0]).toEqual([
        int(-9223372036854775808n),
        int(9007199254740993n),
        { type: "float", value: 0.5 },
        { type: "blob", base64: "AAH/" },
        { type: "null" },
        // Results keep the storage class, but bun:sqlite binds the integral float 3 as INTEGER (src/db/command.ts, SqlValue).
        int(3),
      ]);
    });

    test("result values keep SQLite's storage class, whatever the column's declared type", async () => {
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          exec(`CREATE TABLE ${t}_any (a, r REAL, i INTEGER)`),
          exec(`INSERT INTO ${t}_any VALUES (2.0, 3, '7'), (2, 2.5, 4.0)`),
          exec(`SELECT a, r, i, 1, 1.0, CAST(5 AS REAL), CAST(6.0 AS INTEGER) FROM ${t}_any ORDER BY rowid`),
        ],
      });
      const float = (v: number) => ({ type: "float", value: v });
      expect(r.json.results[2].response.result.rows).toEqual([
        [float(2), float(3), int(7), int(1), float(1), float(5), int(6)],
        [int(2), float(2.5), int(4), int(1), float(1), float(5), int(6)],
      ]);
    });
  });

  describe("malformed bodies get 400 naming the problem, and leave the stream and data intact", () => {
    const cases: [string, unknown, string][] = [
      ["not JSON", "{nope", "JSON"],
      ["requests missing", { baton: null }, "requests"],
      ["unknown request type", { requests: [exec("SELECT 1"), { type: "explode" }] }, "requests[1].type"],
      ["unknown value type", { requests: [exec("SELECT ?", { args: [{ type: "date", value: "x" }] })] }, "requests[0].stmt.args[0].type"],
      ["integer out of range", { requests: [exec("SELECT ?", { args: [int("9223372036854775808")] })] }, "64-bit"],
      ["sql and sql_id both", { requests: [{ type: "execute", stmt: { sql: "SELECT 1", sql_id: 1 } }] }, "not both"],
      ["condition on a later step", { requests: [{ type: "batch", batch: { steps: [{ stmt: { sql: "SELECT 1" }, condition: { type: "ok", step: 0 } }] } }] }, "step 0"],
      ["baton not a string", { baton: 5, requests: [] }, "baton"],
    ];
    for (const [name, body, mention] of cases) {
      test(name, async () => {
        const b = await open();
        const withBaton = typeof body === "string" || (body as { baton?: unknown }).baton !== undefined ? body : { ...(body as object), baton: b };
        const r = await post(node.url, "/v2/pipeline", withBaton);
        expect(r.status).toBe(400);
        expect(r.contentType).toBe("application/json");
        expect(r.json.code).toBe("HRANA_PROTO_ERROR");
        expect(r.json.message).toContain(mention);
        const after = await post(node.url, "/v2/pipeline", { baton: b, requests: [exec(`SELECT count(*) FROM ${t}`)] });
        expect(after.status).toBe(200);
        expect(after.json.results[0].response.result.rows).toEqual([[int(0)]]);
      });
    }

    test("nothing in a malformed pipeline runs, even the valid requests before the bad one", async () => {
      const r = await post(node.url, "/v2/pipeline", { requests: [exec(`INSERT INTO ${t} (v) VALUES ('x')`), { type: "bogus" }] });
      expect(r.status).toBe(400);
      expect(service.query(`SELECT count(*) FROM ${t}`)).toEqual([[0]]);
    });

    test("several statements in one execute, or none", async () => {
      const r = await post(node.url, "/v2/pipeline", { requests: [exec(`INSERT INTO ${t} (v) VALUES ('a'); DELETE FROM ${t}`), exec("  -- nothing ")] });
      expect(r.json.results[0].error.code).toBe("SQL_MANY_STATEMENTS");
      expect(r.json.results[1].error.code).toBe("SQL_NO_STATEMENT");
      expect(service.query(`SELECT count(*) FROM ${t}`)).toEqual([[0]]);
    });

    test("a body over the limit is 413", async () => {
      const s = new SqliteSqlService();
      const n = startNode(s, { maxBodyBytes: 1000 });
      try {
        const r = await post(n.url, "/v2/pipeline", { requests: [exec(`SELECT '${"x".repeat(2000)}'`)] });
        expect(r.status).toBe(413);
        expect(r.json.code).toBe("BODY_TOO_LARGE");
      } finally {
        n.stop();
        s.close();
      }
    });
  });

  describe("batches and conditions", () => {
    test("ok / error / not / and / or; skipped steps have neither result nor error", async () => {
      const before = service.calls.length;
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          {
            type: "batch",
            batch: {
              steps: [
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('a')` } },
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('a')` } },
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('on-error')` }, condition: { type: "error", step: 1 } },
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('skipped')` }, condition: { type: "ok", step: 1 } },
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('and')` }, condition: { type: "and", conds: [{ type: "ok", step: 0 }, { type: "not", cond: { type: "ok", step: 3 } }] } },
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('or')` }, condition: { type: "or", conds: [{ type: "ok", step: 3 }, { type: "error", step: 3 }] } },
              ],
            },
          },
        ],
      });
      const result = r.json.results[0].response.result;
      expect(result.step_results.map((x: unknown) => x !== null)).toEqual([true, false, true, false, true, false]);
      expect(result.step_errors.map((x: unknown) => x !== null)).toEqual([false, true, false, false, false, false]);
      expect(result.step_errors[1].code).toBe("SQLITE_CONSTRAINT_UNIQUE");
      expect(service.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["a"], ["on-error"], ["and"]]);
      // Evaluated by the state machine: the whole batch was one write command.
      expect(service.calls.slice(before).map((c) => c.op)).toEqual(["write"]);
    });

    test("is_autocommit and get_autocommit follow the stream's transaction (v3)", async () => {
      const r = await post(node.url, "/v3/pipeline", {
        requests: [
          { type: "get_autocommit" },
          {
            type: "batch",
            batch: {
              steps: [
                { stmt: { sql: "BEGIN" } },
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('in-tx')` }, condition: { type: "not", cond: { type: "is_autocommit" } } },
                { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('never')` }, condition: { type: "is_autocommit" } },
              ],
            },
          },
          { type: "get_autocommit" },
          { type: "batch", batch: { steps: [{ stmt: { sql: `INSERT INTO ${t} (v) VALUES ('still-in-tx')` }, condition: { type: "not", cond: { type: "is_autocommit" } } }] } },
          exec("COMMIT"),
          { type: "get_autocommit" },
          { type: "close" },
        ],
      });
      const res = r.json.results;
      expect(res[0].response.is_autocommit).toBe(true);
      expect(res[1].response.result.step_results.map((x: unknown) => x !== null)).toEqual([true, true, false]);
      expect(res[2].response.is_autocommit).toBe(false);
      expect(res[3].response.result.step_results[0]).not.toBeNull();
      expect(res[5].response.is_autocommit).toBe(true);
      expect(service.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["in-tx"], ["still-in-tx"]]);
    });

    test("COMMIT or ROLLBACK without a transaction is SQLite's error", async () => {
      const r = await post(node.url, "/v2/pipeline", { requests: [exec("COMMIT"), exec("ROLLBACK"), exec("RELEASE x")] });
      expect(r.json.results.map((x: { error: { message: string } }) => x.error.message)).toEqual([
        "SQLite error: cannot commit - no transaction is active",
        "SQLite error: cannot rollback - no transaction is active",
        "SQLite error: no such savepoint: x",
      ]);
    });

    test("savepoint names match as SQLite matches them: ASCII letters in any case, nothing else folded", async () => {
      const baton = await open();
      const r = await post(node.url, "/v2/pipeline", {
        baton,
        requests: [
          exec(`SAVEPOINT "Outer"`),
          exec(`INSERT INTO ${t} (v) VALUES ('rolled-back')`),
          exec("ROLLBACK TO outer"),
          exec("SAVEPOINT Äx"),
          exec("RELEASE äx"),
          exec(`INSERT INTO ${t} (v) VALUES ('kept')`),
          exec("RELEASE SAVEPOINT OUTER"),
          { type: "get_autocommit" },
          { type: "close" },
        ],
      });
      const res = r.json.results;
      expect(res.map((x: { type: string }) => x.type)).toEqual(["ok", "ok", "ok", "ok", "error", "ok", "ok", "ok", "ok"]);
      expect(res[4].error.message).toBe("SQLite error: no such savepoint: äx");
      expect(res[7].response.is_autocommit).toBe(true);
      expect(service.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["kept"]]);
    });

    test("a malformed transaction statement is SQLite's syntax error and leaves the transaction state as it was", async () => {
      const malformed = ["BEGIN whatever", "ROLLBACK TO", "COMMIT now", "SAVEPOINT"];
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          ...malformed.map((sql) => exec(sql)),
          { type: "get_autocommit" },
          exec("BEGIN"),
          ...malformed.map((sql) => exec(sql)),
          exec(`INSERT INTO ${t} (v) VALUES ('in-tx')`),
          { type: "get_autocommit" },
          exec("COMMIT"),
          { type: "close" },
        ],
      });
      const res = r.json.results;
      for (const i of [0, 1, 2, 3, 6, 7, 8, 9]) {
        expect(res[i].type).toBe("error");
        expect(res[i].error.message).toMatch(/^SQLite error: .*(syntax error|incomplete input)/);
      }
      expect(res[4].response.is_autocommit).toBe(true);
      expect(res[11].response.is_autocommit).toBe(false);
      expect(res[12].type).toBe("ok");
      expect(service.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["in-tx"]]);
    });

    test("want_rows: false drops the rows", async () => {
      const r = await post(node.url, "/v2/pipeline", { requests: [exec("SELECT 1", { want_rows: false })] });
      expect(r.json.results[0].response.result.rows).toEqual([]);
      expect(r.json.results[0].response.result.cols).toHaveLength(1);
    });
  });

  describe("sequence and describe", () => {
    test("sequence runs statements and reports the first error", async () => {
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          { type: "sequence", sql: `INSERT INTO ${t} (v) VALUES ('s1'); INSERT INTO ${t} (v) VALUES ('s2')` },
          { type: "sequence", sql: `INSERT INTO ${t} (v) VALUES ('s3'); INSERT INTO ${t} (v) VALUES ('s1'); INSERT INTO ${t} (v) VALUES ('s4')` },
          { type: "sequence", sql: "" },
        ],
      });
      expect(r.json.results[0].type).toBe("ok");
      expect(r.json.results[1].error.code).toBe("SQLITE_CONSTRAINT_UNIQUE");
      expect(r.json.results[2].type).toBe("ok");
      expect(service.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["s1"], ["s2"], ["s3"]]);
    });

    test("describe: parameters, columns, read-only, explain", async () => {
      const r = await post(node.url, "/v2/pipeline", {
        requests: [
          { type: "describe", sql: `SELECT id, v AS value, ?2 + 1 FROM ${t} WHERE v = :v OR id = ?` },
          { type: "describe", sql: `INSERT INTO ${t} (v) VALUES (@v)` },
          { type: "describe", sql: "EXPLAIN SELECT 1" },
          { type: "describe", sql: "SELECT * FROM no_such_table" },
        ],
      });
      const [sel, ins, expl, bad] = r.json.results;
      expect(sel.response.result).toEqual({
        params: [{ name: null }, { name: "?2" }, { name: ":v" }, { name: null }],
        cols: [
          { name: "id", decltype: "INTEGER" },
          { name: "value", decltype: "TEXT" },
          { name: "?2 + 1", decltype: null },
        ],
        is_explain: false,
        is_readonly: true,
      });
      expect(ins.response.result).toEqual({ params: [{ name: "@v" }], cols: [], is_explain: false, is_readonly: false });
      expect(expl.response.result.is_explain).toBe(true);
      expect(bad.error.code).toBe("SQLITE_ERROR");
      expect(bad.error.message).toContain("no such table");
    });
  });

  describe("v3 cursor", () => {
    test("newline-delimited JSON: the baton first, then step entries", async () => {
      const b = await open("/v3/pipeline");
      const resp = await fetch(`${node.url}/v3/cursor`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          baton: b,
          batch: {
            steps: [
              { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('c1'), ('c2')` } },
              { stmt: { sql: `SELECT v FROM ${t} ORDER BY id` } },
              { stmt: { sql: `INSERT INTO ${t} (v) VALUES ('c1')` } },
              { stmt: { sql: "SELECT 'skipped'" }, condition: { type: "ok", step: 2 } },
            ],
          },
        }),
      });
      expect(resp.status).toBe(200);
      const body = await resp.text();
      expect(body.endsWith("\n")).toBe(true);
      const lines = body.trimEnd().split("\n").map((l) => JSON.parse(l));
      expect(typeof lines[0].baton).toBe("string");
      expect(lines[0].base_url).toBeNull();
      expect(lines.slice(1)).toEqual([
        { type: "step_begin", step: 0, cols: [] },
        { type: "step_end", affected_row_count: 2, last_insert_rowid: "2" },
        { type: "step_begin", step: 1, cols: [{ name: "v", decltype: "TEXT" }] },
        { type: "row", row: [text("c1")] },
        { type: "row", row: [text("c2")] },
        { type: "step_end", affected_row_count: 0, last_insert_rowid: null },
        { type: "step_error", step: 2, error: { message: "SQLite error: UNIQUE constraint failed: " + t + ".v", code: "SQLITE_CONSTRAINT_UNIQUE" } },
      ]);
      const after = await post(node.url, "/v3/pipeline", { baton: lines[0].baton, requests: [exec(`SELECT count(*) FROM ${t}`)] });
      expect(after.json.results[0].response.result.rows).toEqual([[int(2)]]);
    });
  });

  describe("request options and service errors", () => {
    test("the level header reaches reads; a bad level is 400", async () => {
      const before = service.calls.length;
      await post(node.url, "/v2/pipeline", { requests: [exec("SELECT 1")] }, { "x-quorumlite-level": "none" });
      const read = service.calls.slice(before).find((c) => c.op === "read");
      expect(read?.options).toEqual({ level: "none" });
      const bad = await post(node.url, "/v2/pipeline", { requests: [exec("SELECT 1")] }, { "x-quorumlite-level": "eventual" });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toContain("level");
    });

    test("a stream reads its own writes: later reads carry its bookmark", async () => {
      const before = service.calls.length;
      await post(node.url, "/v2/pipeline", { requests: [exec(`INSERT INTO ${t} (v) VALUES ('b')`), exec(`SELECT v FROM ${t}`)] });
      const read = service.calls.slice(before).find((c) => c.op === "read");
      expect(read?.options).toEqual({ level: "linearizable", bookmark: service.lastIndex });
    });

    test("no leader: 503 JSON with Retry-After, and the stream is gone", async () => {
      let down = false;
      const flaky: SqlService = {
        write: (cmd, o) => (down ? Promise.reject(new ServiceError("no-leader", "no leader elected")) : service.write(cmd, o)),
        read: (s, o) => service.read(s, o),
        isReadOnly: (sql) => service.isReadOnly(sql),
        beginInteractive: (o) => service.beginInteractive(o),
      };
      const n = startNode(flaky);
      try {
        const b = (await post(n.url, "/v2/pipeline", { requests: [] })).json.baton;
        down = true;
        const r = await post(n.url, "/v2/pipeline", { baton: b, requests: [exec(`INSERT INTO ${t} (v) VALUES ('x')`)] });
        expect(r.status).toBe(503);
        expect(r.contentType).toBe("application/json");
        expect(r.headers.get("retry-after")).toBe("1");
        expect(r.json).toEqual({ message: "no leader elected", code: "NO_LEADER" });
      } finally {
        n.stop();
      }
    });
  });
});
