/**
 * `quorumlite cluster`: a local multi-node cluster as child processes, with a
 * simulated geography (one-way latency injected at the peer transport). This
 * is what `npm start` runs.
 */
import { parseArgs } from "node:util";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { withAllocatorSettings } from "./allocator-settings.ts";

export const CLUSTER_HELP = `quorumlite cluster — start a local cluster (child processes on 127.0.0.1)

  --nodes N           number of nodes (default 3)
  --geo LIST          region of each node (default ams,ams,iad: two regions, leader kept in ams)
  --base-port P       HTTP ports P, P+1, …; Raft ports P+1000, … (default 8001)
  --data DIR          keep data in DIR (default: a fresh temporary directory each start)
  --intra-ms MS       one-way latency inside a region (default 1)
  --inter-ms MS       one-way latency between regions (default 15)
  --preferred-region R  (default: the first node's region)
  --secret S          cluster secret for peer traffic (default: random per start)`;

export async function clusterCommand(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: "string" },
      geo: { type: "string" },
      "base-port": { type: "string" },
      data: { type: "string" },
      "intra-ms": { type: "string" },
      "inter-ms": { type: "string" },
      "preferred-region": { type: "string" },
      secret: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(CLUSTER_HELP);
    return 0;
  }
  const n = Number(values.nodes ?? "3");
  const geo = (values.geo ?? "ams,ams,iad").split(",");
  while (geo.length < n) geo.push(geo[geo.length - 1] ?? "local");
  const base = Number(values["base-port"] ?? "8001");
  const intra = Number(values["intra-ms"] ?? "1");
  const inter = Number(values["inter-ms"] ?? "15");
  const regions = [...new Set(geo.slice(0, n))];
  const latency = regions.flatMap((a, i) => regions.slice(i).map((b) => `${a}-${b}=${a === b ? intra : inter}`)).join(",");
  const dataRoot = values.data ? resolve(values.data) : mkdtempSync(join(tmpdir(), "quorumlite-cluster-"));
  const preferred = values["preferred-region"] ?? geo[0]!;
  const secret = values.secret ?? crypto.randomUUID();

  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i + 1}`,
    region: geo[i]!,
    http: `127.0.0.1:${base + i}`,
    raft: `127.0.0.1:${base + 1000 + i}`,
  }));
  const bootstrap = nodes.map((x) => `${x.id}=${x.raft}@${x.region}`).join(",");
  const main = join(import.meta.dir, "main.ts");
  const children: Subprocess[] = [];
  for (const x of nodes) {
    const dir = join(dataRoot, x.id);
    mkdirSync(dir, { recursive: true });
    const child = Bun.spawn(
      [process.execPath, main, "serve", "--id", x.id, "--data", dir, "--http", x.http, "--raft", x.raft, "--region", x.region,
        "--preferred-region", preferred, "--bootstrap", bootstrap, "--cluster-secret", secret, "--latency", latency],
      { stdout: "inherit", stderr: "inherit", env: withAllocatorSettings(process.env) },
    );
    children.push(child);
  }
  console.log(`quorumlite: ${n} nodes, regions ${geo.slice(0, n).join(",")} (${intra} ms one-way inside a region, ${inter} ms between), data in ${dataRoot}`);
  for (const x of nodes) console.log(`  ${x.id}  ${x.region}  http://${x.http}   dashboard http://${x.http}/`);

  const stopAll = async () => {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => c.exited));
  };
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    console.log("\nquorumlite: stopping the cluster…");
    void stopAll().then(() => process.exit(0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const leader = await waitForLeader(nodes.map((x) => `http://${x.http}`), 20_000);
  if (leader) {
    console.log(`quorumlite: leader is ${leader.id} (${leader.region}) at ${leader.http}. Try:`);
    console.log(`  curl -X POST http://${nodes[0]!.http}/sql -d '{"sql":"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"}'`);
  } else {
    console.log("quorumlite: no leader yet after 20 s — check the node logs above");
  }
  await Promise.all(children.map((c) => c.exited));
  return stopping ? 0 : 1;
}

async function waitForLeader(urls: readonly string[], ms: number): Promise<{ id: string; region: string; http: string } | null> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const u of urls) {
      try {
        const r = await fetch(`${u}/readyz`);
        if (r.ok) {
          const s = (await (await fetch(`${u}/status`)).json()) as { leader: { id: string; region: string; http: string } | null };
          if (s.leader) return s.leader;
        }
      } catch {
        // not up yet
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}
