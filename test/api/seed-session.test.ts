/**
 * The write-up that started the project (shared/seed): against a fresh 3-node
 * cluster its four curl commands must print exactly these bodies.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3 });
}, 60_000);
afterAll(() => cluster?.stop());

test("the write-up's curl session prints its exact bodies (writes via node 1, read via node 2)", async () => {
  const steps: [string, string, string][] = [
    ["n1", '{"sql":"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"}', '{"success":true,"result":{"rows":null,"rows_affected":0,"last_insert_id":0}}'],
    ["n1", '{"sql":"INSERT INTO users (name) VALUES (?)", "args":["Alice"]}', '{"success":true,"result":{"rows":null,"rows_affected":1,"last_insert_id":1}}'],
    ["n1", '{"sql":"INSERT INTO users (name) VALUES (?)", "args":["Bob"]}', '{"success":true,"result":{"rows":null,"rows_affected":1,"last_insert_id":2}}'],
    ["n2", '{"sql":"SELECT * FROM users"}', '{"success":true,"result":{"rows":[{"id":1,"name":"Alice"},{"id":2,"name":"Bob"}],"rows_affected":0,"last_insert_id":0}}'],
  ];
  for (const [node, body, expected] of steps) {
    // curl -d sends application/x-www-form-urlencoded; the API must not care.
    const r = await cluster.sql(node, body, "", { "content-type": "application/x-www-form-urlencoded" });
    expect(r.text).toBe(expected);
    expect(r.status).toBe(200);
    expect(Number(r.headers.get("x-quorumlite-bookmark"))).toBeGreaterThan(0);
  }
});
