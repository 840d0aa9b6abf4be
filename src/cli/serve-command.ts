/** `quorumlite serve`: run one node until SIGINT/SIGTERM. */
import { createApi } from "../api/app.ts";
import { QuorumNode } from "../node/quorum-node.ts";
import { MAX_BODY_BYTES } from "../api/json-body.ts";
import { dashboardRoutes } from "../api/dashboard-routes.ts";
import { latencyKey, resolveNodeOptions, SERVE_HELP, splitHostPort } from "./node-options.ts";
import type { NodeOptions } from "./node-options.ts";
import { joinCluster } from "./join-cluster.ts";
import { ZodError } from "zod";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { discoverFly } from "./fly-discovery.ts";
import { createHmac } from "node:crypto";
import { hranaRoutes } from "../api/hrana/routes.ts";
import { createBearerAuth, type Authenticator } from "../api/auth/bearer-auth.ts";
import { loadEd25519PublicKeys } from "../api/auth/jwt.ts";
import { startMemoryRelease, type ReleaseReport } from "../node/memory-release.ts";
import type { TransportStats } from "../transport/peer-transport.ts";

export async function serveCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(SERVE_HELP);
    return 0;
  }
  let opts: NodeOptions;
  try {
    opts = resolveNodeOptions(argv, process.env);
  } catch (e) {
    const msg = e instanceof ZodError ? e.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ") : (e as Error).message;
    console.error(`quorumlite serve: ${msg}\n\n${SERVE_HELP}`);
    return 2;
  }
  if (process.env.QUORUMLITE_DISCOVER === "fly" && opts.bootstrap.length === 0 && opts.join === null && !existsSync(join(opts.data, "raft"))) {
    const plan = await discoverFly(opts.id, process.env.FLY_APP_NAME ?? "", splitHostPort(opts.http).port);
    opts = plan.bootstrapSelf
      ? { ...opts, bootstrap: [{ id: opts.id, raftAddr: opts.raftAdvertise, region: opts.region }] }
      : { ...opts, join: plan.joinUrl };
  }
  const running = await startNode(opts);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await running.stop();
  return 0;
}

async function authenticatorFor(opts: NodeOptions): Promise<Authenticator | null> {
  const hasTokens = Object.keys(opts.authTokens).length > 0;
  if (!opts.authJwtKeyFile && !hasTokens) return null;
  const jwtKeys = opts.authJwtKeyFile ? await loadEd25519PublicKeys(await Bun.file(opts.authJwtKeyFile).text()) : [];
  return createBearerAuth({ jwtKeys, tokens: opts.authTokens });
}

/** Every node derives the same baton key from the cluster secret, so any node can verify any baton. */
function batonKeyFrom(secret: string | null): Uint8Array {
  if (secret === null) return crypto.getRandomValues(new Uint8Array(32));
  return new Uint8Array(createHmac("sha256", secret).update("quorumlite hrana baton key v1").digest());
}

export async function startNode(opts: NodeOptions): Promise<{ node: QuorumNode; stop: () => Promise<void> }> {
  const node = await QuorumNode.start({
    id: opts.id,
    dataDir: opts.data,
    region: opts.region,
    preferredRegion: opts.preferredRegion,
    raftListen: splitHostPort(opts.raft),
    raftAdvertise: opts.raftAdvertise,
    httpAdvertise: opts.httpAdvertise,
    bootstrap: opts.bootstrap,
    clusterSecret: opts.clusterSecret,
    latencyMs: (a, b) => opts.latency[latencyKey(a, b)] ?? 0,
    tickMs: opts.tickMs,
    snapshotThreshold: opts.snapshotThreshold,
    snapshotKeep: opts.snapshotKeep,
    logWriter: opts.logWriter,
  });
  const auth = await authenticatorFor(opts);
  if (!auth) console.log(`[${opts.id}] no --auth-jwt-key-file or --auth-tokens: the HTTP API is open to anyone who can reach ${opts.http}`);
  const hrana = hranaRoutes({
    service: node.service,
    selfId: opts.id,
    batonKey: batonKeyFrom(opts.clusterSecret),
    ownerUrl: (id) => node.httpOf(id),
    defaultReadLevel: "linearizable",
    txIdleTimeoutMs: opts.txTimeoutMs,
    ...(auth ? { auth } : {}),
  });
  const api = createApi(node.service, node, { defaultReadLevel: "linearizable", extra: [hrana, dashboardRoutes(node)], ...(auth ? { auth } : {}) });
  const { hostname, port } = splitHostPort(opts.http);
  let requests = 0;
  const server = Bun.serve({
    hostname,
    port,
    fetch: (req, srv) => {
      requests++;
      return api.fetch(req, srv);
    },
    maxRequestBodySize: MAX_BODY_BYTES + 1024,
  });
  const memory = startMemoryRelease({
    // QuorumNode.transportStats() hands out its PeerTransport's stats() as they are.
    work: () => requests + node.metrics.total("quorumlite_entries_applied_total") + peerWork(node.transportStats() as TransportStats),
    onRelease: (r) => reportRelease(opts.id, node, r),
  });
  console.log(`[${opts.id}] serving http://${opts.http} (raft ${opts.raft}, region ${opts.region}, data ${opts.data})`);
  if (opts.join) void joinCluster(opts, (m) => node.learnPeers(m), (l) => console.log(`[${opts.id}] ${l}`));
  return {
    node,
    stop: async () => {
      memory.stop();
      server.stop(true);
      await node.stop();
    },
  };
}

const MB = 1024 * 1024;

/**
 * Peer traffic as units of work for the memory release: each RPC (forwarded
 * writes) and each KiB of Raft messages: a leader answering 6,000 follower
 * reads a second receives ~100 KiB/s, heartbeats alone under 1 KiB/s.
 */
function peerWork(stats: TransportStats): number {
  let work = 0;
  for (const r of Object.values(stats.received)) work += r.requests + Math.floor(r.bytes / 1024);
  return work;
}

function reportRelease(id: string, node: QuorumNode, r: ReleaseReport): void {
  node.metrics.inc("quorumlite_memory_releases_total");
  node.metrics.inc("quorumlite_memory_release_pause_seconds_total", r.pauseMs / 1000);
  console.log(
    `[${id}] quiet after a burst: released memory (resident ${(r.rssBeforeBytes / MB).toFixed(0)} → ${(r.rssAfterBytes / MB).toFixed(0)} MB, ` +
      `JS heap ${(r.heapBeforeBytes / MB).toFixed(0)} → ${(r.heapAfterBytes / MB).toFixed(0)} MB, pause ${r.pauseMs.toFixed(0)} ms)`,
  );
}
