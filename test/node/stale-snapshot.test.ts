/**
 * Snapshots travel on their own stream beside the Raft messages, and a big
 * one takes a while to download. Found by a nemesis run (partitions, log
 * compacted every 100 entries): a follower installed a snapshot from the
 * current leader, then one that a deposed leader had started sending earlier —
 * its data went back six entries, and the next apply failed ("entry index 8515
 * does not follow 8499"), killing the node. A snapshot the Raft core would not
 * accept (older term, or index at or below the commit index) must not touch the
 * database.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SnapshotMsg } from "../../src/raft/types.ts";
import { PeerTransport } from "../../src/transport/peer-transport.ts";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster;
let dir: string;
beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3 });
  dir = mkdtempSync(join(tmpdir(), "ql-stale-snapshot-"));
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const count = async (id: string, bookmark?: number) =>
  (await cluster.sql(id, { sql: "SELECT count(*) AS n FROM t" }, "?level=none", bookmark ? { "x-quorumlite-bookmark": String(bookmark) } : {})).json.result.rows[0].n;

test("a follower ignores a snapshot older than what it has committed, keeps its data and keeps applying", async () => {
  const leader = await cluster.leader();
  const follower = cluster.specs.find((s) => s.id !== leader)!.id;
  expect((await cluster.sql(leader, { sql: "CREATE TABLE t (v)" })).status).toBe(200);
  for (let i = 0; i < 5; i++) await cluster.sql(leader, { sql: "INSERT INTO t VALUES (?)", args: [i] });

  // An old copy of the database: what a leader would have shipped back then.
  const backup = await fetch(`${cluster.url(leader)}/admin/backup`);
  const oldIndex = Number(backup.headers.get("x-quorumlite-applied-index"));
  const file = join(dir, "old.db");
  writeFileSync(file, new Uint8Array(await backup.arrayBuffer()));

  let last = 0;
  for (let i = 5; i < 10; i++) last = Number((await cluster.sql(leader, { sql: "INSERT INTO t VALUES (?)", args: [i] })).headers.get("x-quorumlite-bookmark"));
  expect(await count(follower, last)).toBe(10);
  const status = (await cluster.status(follower))!;

  // Delivered late, in the leader's own name and current term, as a slow download would be.
  const sender = new PeerTransport({ self: leader, listen: { hostname: "127.0.0.1", port: 0 }, clusterSecret: cluster.secret, onMessages: () => {} });
  try {
    sender.setPeers([{ id: follower, raftAddr: `127.0.0.1:${cluster.spec(follower).raftPort}` }]);
    const members = cluster.specs.map((s) => ({ id: s.id, role: "voter" as const, region: s.region, raftAddr: `127.0.0.1:${s.raftPort}` }));
    const msg: SnapshotMsg = { type: "snapshot", from: leader, to: follower, term: status.term, meta: { index: oldIndex, term: status.term, membership: { members } } };
    await sender.sendSnapshot(msg, file);
  } finally {
    await sender.stop();
  }

  expect(cluster.logs.get(follower)!.some((l) => l.includes("ignored a stale snapshot"))).toBe(true);
  expect(await count(follower)).toBe(10);
  const next = Number((await cluster.sql(leader, { sql: "INSERT INTO t VALUES (10)" })).headers.get("x-quorumlite-bookmark"));
  expect(await count(follower, next)).toBe(11);
  expect(cluster.procs.get(follower)!.exitCode).toBeNull();
}, 60_000);
