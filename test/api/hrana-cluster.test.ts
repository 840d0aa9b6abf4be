/**
 * The real, pinned @libsql/client against a real 3-node cluster, connected
 * through a follower: the same suite that pins the Hrana protocol in-process
 * (test/api/hrana/libsql-client-suite.ts), now across processes and Raft.
 */
import { createClient, type Client } from "@libsql/client";
import { libsqlClientSuite } from "./hrana/libsql-client-suite.ts";
import { TestCluster } from "../support/cluster.ts";

const TX_TIMEOUT_MS = 1_000;
let cluster: TestCluster;
let peeker: Client;

libsqlClientSuite(
  async () => {
    cluster = await TestCluster.start({ nodes: 3, extraArgs: ["--tx-timeout-ms", String(TX_TIMEOUT_MS)] });
    const leader = await cluster.leader();
    const follower = cluster.specs.find((s) => s.id !== leader)!.id;
    // Peek through the leader at the linearizable default: committed data only, outside any test stream.
    peeker = createClient({ url: cluster.url(leader) });
    return {
      url: cluster.url(follower),
      txIdleTimeoutMs: TX_TIMEOUT_MS,
      peek: async (sql: string) => (await peeker.execute(sql)).rows.map((r) => Array.from(r)),
    };
  },
  async () => {
    peeker?.close();
    await cluster?.stop();
  },
);
