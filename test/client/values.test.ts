/** Exact values end to end: bigint beyond 2^53, floats vs integers, blobs, text, null. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createClient, QuorumliteError } from "../../src/client/index.ts";
import { decodeValue, encodeValue } from "../../src/client/values.ts";
import { FakeCluster } from "./fake-cluster.ts";

describe("value encoding", () => {
  test("arguments are sent as typed values", () => {
    expect(encodeValue(9007199254740993n)).toEqual({ type: "integer", value: "9007199254740993" });
    expect(encodeValue(42)).toEqual({ type: "integer", value: "42" });
    expect(encodeValue(2.5)).toEqual({ type: "float", value: 2.5 });
    expect(encodeValue(2 ** 60)).toEqual({ type: "float", value: 2 ** 60 });
    expect(encodeValue("x")).toEqual({ type: "text", value: "x" });
    expect(encodeValue(null)).toEqual({ type: "null" });
    expect(encodeValue(undefined)).toEqual({ type: "null" });
    expect(encodeValue(true)).toEqual({ type: "integer", value: "1" });
    expect(encodeValue(new Date(1700000000123))).toEqual({ type: "integer", value: "1700000000123" });
    expect(encodeValue(new Uint8Array([0, 1, 255]))).toEqual({ type: "blob", base64: "AAH/" });
    expect(encodeValue(new Uint8Array([0, 1, 255]).buffer)).toEqual({ type: "blob", base64: "AAH/" });
  });

  test("values that cannot be stored exactly are refused before sending", () => {
    for (const bad of [NaN, Infinity, { a: 1 }, [1]] as unknown[]) {
      expect(() => encodeValue(bad as never)).toThrow(QuorumliteError);
    }
  });

  test("typed cells decode exactly; intMode bigint keeps integers apart from floats", () => {
    expect(decodeValue({ type: "integer", value: "9007199254740993" }, "auto")).toBe(9007199254740993n);
    expect(decodeValue({ type: "integer", value: "-9007199254740991" }, "auto")).toBe(-9007199254740991);
    expect(decodeValue({ type: "integer", value: "7" }, "bigint")).toBe(7n);
    expect(decodeValue({ type: "float", value: 7 }, "bigint")).toBe(7);
    expect(decodeValue({ type: "blob", base64: "AAH/" }, "auto")).toEqual(new Uint8Array([0, 1, 255]));
    expect(decodeValue({ type: "text", value: "" }, "auto")).toBe("");
    expect(decodeValue({ type: "null" }, "auto")).toBeNull();
    expect(() => decodeValue({ type: "integer", value: null }, "auto")).toThrow(QuorumliteError);
  });
});

describe("round trip through the wire", () => {
  let cluster: FakeCluster;
  beforeEach(() => {
    cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
  });
  afterEach(() => cluster.stop());

  test("every value type survives a write to the leader and a read at a follower", async () => {
    const client = createClient({ nodes: [cluster.url("n2")], readLevel: "none" });
    await client.execute("CREATE TABLE v (i INTEGER, big INTEGER, f REAL, t TEXT, b BLOB, n ANY)");
    const blob = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    const insert = await client.execute({
      sql: "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)",
      args: [42, 2n ** 62n + 3n, 2.5, "héllo 🌍 ' \" \\", blob, null],
    });
    expect(insert.rowsAffected).toBe(1);
    expect(insert.lastInsertRowid).toBe(1);

    const rs = await client.execute("SELECT i, big, f, t, b, n FROM v");
    expect(rs.columns).toEqual(["i", "big", "f", "t", "b", "n"]);
    expect(rs.decltypes).toEqual(["INTEGER", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"]);
    const row = rs.rows[0]!;
    expect(row.i).toBe(42);
    expect(row.big).toBe(2n ** 62n + 3n);
    expect(row.f).toBe(2.5);
    expect(row.t).toBe("héllo 🌍 ' \" \\");
    expect(row.b).toEqual(blob);
    expect(row.n).toBeNull();
    expect(rs.rowsArray[0]).toEqual([42, 2n ** 62n + 3n, 2.5, "héllo 🌍 ' \" \\", blob, null]);
    expect(cluster.node("n2").sqlRequests().at(-1)!.body).toEqual({ sql: "SELECT i, big, f, t, b, n FROM v" });
  });

  test("intMode bigint tells 1.0 from 1", async () => {
    const client = createClient({ url: cluster.url("n1"), intMode: "bigint" });
    const rs = await client.execute("SELECT 1.0 AS f, 1 AS i");
    expect(rs.rows[0]).toEqual({ f: 1, i: 1n });
    expect(rs.lastInsertRowid).toBe(0n);
  });

  test("named arguments, with or without their prefix", async () => {
    const client = createClient({ url: cluster.url("n1") });
    await client.execute("CREATE TABLE p (a TEXT, b INTEGER)");
    await client.execute({ sql: "INSERT INTO p VALUES (:a, $b)", args: { a: "x", $b: 5 } });
    expect(await client.query({ sql: "SELECT * FROM p WHERE a = @a", args: { a: "x" } })).toEqual([{ a: "x", b: 5 }]);
  });

  test("query and get return rows; get gives undefined for no row", async () => {
    const client = createClient({ url: cluster.url("n1") });
    await client.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, name TEXT)");
    await client.batch(["INSERT INTO q (name) VALUES ('a')", "INSERT INTO q (name) VALUES ('b')"]);
    expect(await client.query<{ id: number; name: string }>("SELECT * FROM q ORDER BY id")).toEqual([
      { id: 1, name: "a" },
      { id: 2, name: "b" },
    ]);
    expect(await client.get({ sql: "SELECT name FROM q WHERE id = ?", args: [2] })).toEqual({ name: "b" });
    expect(await client.get("SELECT name FROM q WHERE id = 99")).toBeUndefined();
  });
});
