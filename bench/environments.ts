/** Starting each peer/cluster shape the scenarios run against, with its data set up. */
import { join } from "node:path";
import type { RunningCluster } from "./bench-node.ts";
import { EchoCluster } from "./echo-cluster.ts";
import { ensureEtcd, EtcdCluster } from "./etcd-cluster.ts";
import { QuorumliteCluster, type QuorumliteClusterOptions } from "./quorumlite-cluster.ts";
import { ETCD_KEYS, PAYLOAD_BYTES, SEED_ROWS, type EnvironmentName } from "./scenarios.ts";
import { CREATE_BENCH_TABLE, CREATE_SEED_TABLE, seedRowsSql } from "./workload.ts";

export const BULK_TABLE = "bench_bulk";

export const GEO_LATENCY = "ams-ams=1,ams-iad=15,iad-iad=1";

const QUORUMLITE_SHAPES: Readonly<Record<"single" | "local" | "geo", QuorumliteClusterOptions>> = {
  single: { regions: ["local"], preferredRegion: null, latency: null },
  local: { regions: ["local", "local", "local"], preferredRegion: null, latency: null },
  geo: { regions: ["ams", "ams", "iad"], preferredRegion: "ams", latency: GEO_LATENCY },
};

export interface StartedEnvironment {
  readonly cluster: RunningCluster;
  /** Version or shape details worth recording with the results. */
  readonly note: string;
}

export async function startEnvironment(name: EnvironmentName, root: string, log: (line: string) => void): Promise<StartedEnvironment> {
  const dir = join(root, name);
  switch (name) {
    case "generator":
      return { cluster: await EchoCluster.start(dir), note: `Bun ${Bun.version} echo server` };
    case "etcd": {
      const etcd = await ensureEtcd(log);
      const cluster = await EtcdCluster.start(etcd.path, dir);
      await cluster.seed(ETCD_KEYS, PAYLOAD_BYTES);
      return { cluster, note: `etcd ${etcd.version}` };
    }
    case "single":
    case "local":
    case "geo": {
      const cluster = await QuorumliteCluster.start(QUORUMLITE_SHAPES[name], dir);
      try {
        await cluster.sql({ sql: CREATE_BENCH_TABLE });
        await cluster.sql({ sql: CREATE_SEED_TABLE });
        await cluster.sql({ sql: `CREATE TABLE IF NOT EXISTS ${BULK_TABLE} (id INTEGER PRIMARY KEY, v TEXT NOT NULL)` });
        await cluster.sql({ sql: seedRowsSql(SEED_ROWS, PAYLOAD_BYTES) });
        await cluster.waitCaughtUp();
      } catch (e) {
        const logs = cluster.nodes.map((n) => `--- ${n.id}\n${cluster.logTail(n.id, 8)}`).join("\n");
        await cluster.stop();
        throw new Error(`${(e as Error).message}\n${logs}`);
      }
      const shape = QUORUMLITE_SHAPES[name];
      return { cluster, note: `quorumlite ${shape.regions.join(",")}${shape.latency ? ` latency ${shape.latency}` : ""}` };
    }
  }
}
