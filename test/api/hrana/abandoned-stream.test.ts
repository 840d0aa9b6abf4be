/**
 * A client that gives up on a Hrana request can never learn the stream's next
 * baton (a baton works once), so whatever the stream holds must be let go at
 * once — above all the leader's write lock, which every other writer queues
 * behind. Found by the nemesis bank run: abandoned BEGINs took the lock one
 * after another, each for a whole idle timeout, and stalled all writes for
 * 10–20 s after the faults had ended.
 */
import { afterEach, expect, test } from "bun:test";
import type { InteractiveTx, SqlService } from "../../../src/node/sql-service.ts";
import { post, startNode, type TestNode } from "./harness.ts";
import { StateMachineSqlService } from "./state-machine-sql-service.ts";

// Long, so a lock left to expire would show as a stall far beyond what the asserts allow.
const TX_IDLE_MS = 10_000;
const exec = (sql: string) => ({ type: "execute", stmt: { sql } });

let service: StateMachineSqlService;
let node: TestNode;
afterEach(() => {
  node?.stop();
  service?.close();
});

/** Sends a pipeline and gives up on it after `ms`, as a client with a timeout does. */
async function abandon(url: string, body: unknown, ms: number): Promise<void> {
  const r = await fetch(`${url}/v2/pipeline`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(ms) }).catch((e: Error) => e);
  expect(r).toBeInstanceOf(Error);
}

test("a BEGIN whose client gave up while another transaction held the write lock never takes it", async () => {
  service = new StateMachineSqlService();
  node = startNode(service, { txIdleTimeoutMs: TX_IDLE_MS });
  await post(node.url, "/v2/pipeline", { baton: null, requests: [exec("CREATE TABLE t (v)"), { type: "close" }] });
  const holder = await post(node.url, "/v2/pipeline", { baton: null, requests: [exec("BEGIN"), exec("INSERT INTO t VALUES (1)")] });
  expect(holder.json.results.map((r: { type: string }) => r.type)).toEqual(["ok", "ok"]);

  await abandon(node.url, { baton: null, requests: [exec("BEGIN"), exec("INSERT INTO t VALUES (2)")] }, 150);
  await Bun.sleep(50);
  await post(node.url, "/v2/pipeline", { baton: holder.json.baton, requests: [exec("COMMIT"), { type: "close" }] });

  const started = Date.now();
  const w = await post(node.url, "/v2/pipeline", { baton: null, requests: [exec("INSERT INTO t VALUES (3)"), { type: "close" }] });
  expect(w.json.results[0].type).toBe("ok");
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(service.openTransactions).toBe(0);
  expect(service.query("SELECT v FROM t ORDER BY v")).toEqual([[1], [3]]);
});

test("a stream whose client went away in the middle of a transaction is rolled back at once", async () => {
  // Holds statements that mention "slow" for 300 ms, so the client can give up while one runs.
  class SlowService extends StateMachineSqlService {
    override async beginInteractive(options: Parameters<SqlService["beginInteractive"]>[0]): Promise<InteractiveTx> {
      const tx = await super.beginInteractive(options);
      return {
        id: tx.id,
        isAutocommit: () => tx.isAutocommit(),
        commit: (o) => tx.commit(o),
        rollback: () => tx.rollback(),
        execute: async (stmt) => {
          if (stmt.sql.includes("slow")) await Bun.sleep(300);
          return tx.execute(stmt);
        },
      };
    }
  }
  service = new SlowService();
  node = startNode(service, { txIdleTimeoutMs: TX_IDLE_MS });
  await post(node.url, "/v2/pipeline", { baton: null, requests: [exec("CREATE TABLE t (v)"), { type: "close" }] });
  const begun = await post(node.url, "/v2/pipeline", { baton: null, requests: [exec("BEGIN"), exec("INSERT INTO t VALUES (1)")] });
  expect(service.openTransactions).toBe(1);

  await abandon(node.url, { baton: begun.json.baton, requests: [exec("SELECT 'slow'")] }, 100);
  await Bun.sleep(400);
  expect(service.openTransactions).toBe(0);
  const started = Date.now();
  const w = await post(node.url, "/v2/pipeline", { baton: null, requests: [exec("INSERT INTO t VALUES (2)"), { type: "close" }] });
  expect(w.json.results[0].type).toBe("ok");
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(service.query("SELECT v FROM t ORDER BY v")).toEqual([[2]]);
});
