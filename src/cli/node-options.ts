/**
 * Options of `quorumlite serve`, from flags, then the environment (Fly.io
 * machines set FLY_REGION, FLY_MACHINE_ID, FLY_APP_NAME, PRIMARY_REGION), then
 * defaults. Validated with zod so a typo names the flag.
 */
import { parseArgs } from "node:util";
import { z } from "zod";

export interface BootstrapPeer {
  readonly id: string;
  readonly raftAddr: string;
  readonly region: string | null;
}

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:\[\]]+):\d{1,5}$/, "expected HOST:PORT");

export const nodeOptionsSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "id: letters, digits, _ . - (1–64)"),
  data: z.string().min(1),
  http: hostPort,
  raft: hostPort,
  raftAdvertise: hostPort,
  httpAdvertise: z.string().url(),
  region: z.string().min(1),
  preferredRegion: z.string().min(1).nullable(),
  bootstrap: z.array(z.object({ id: z.string(), raftAddr: hostPort, region: z.string().nullable() })),
  join: z.string().url().nullable(),
  clusterSecret: z.string().nullable(),
  /** One-way simulated latency in ms between regions, e.g. {"ams|iad": 15, "ams|ams": 1}. */
  latency: z.record(z.string(), z.number().min(0)),
  tickMs: z.number().int().min(1).max(1000),
  learner: z.boolean(),
  /** Ed25519 public key(s) (PEM or JWK set) verifying client JWTs, as sqld's --auth-jwt-key-file. */
  authJwtKeyFile: z.string().nullable(),
  /** Static bearer tokens with their access. */
  authTokens: z.record(z.string(), z.enum(["ro", "rw"])),
  snapshotThreshold: z.number().int().min(1),
  snapshotKeep: z.number().int().min(0),
  /** Hrana TRANSACTION_TIMEOUT: an interactive transaction idle this long is rolled back. */
  txTimeoutMs: z.number().int().min(10),
  /** Where the Raft log's fsync runs: adaptive (Worker while leading, inline while following), worker, inline. */
  logWriter: z.enum(["adaptive", "worker", "inline"]),
});

export type NodeOptions = z.infer<typeof nodeOptionsSchema>;

export const SERVE_HELP = `quorumlite serve — run one node

  --id ID                 node id (default: $FLY_MACHINE_ID, else hostname)
  --data DIR              data directory (default: /data on Fly, else ./data/<id>)
  --http HOST:PORT        client API address (default 0.0.0.0:8001; on Fly [::]:8080)
  --raft HOST:PORT        peer (Raft, HTTP/2) address (default 0.0.0.0:9001)
  --raft-advertise H:P    address peers use to reach this node (default: --raft, or <id>.vm.<app>.internal:PORT on Fly)
  --http-advertise URL    URL other nodes and clients use for this node's API
  --region R              region name (default $FLY_REGION, else "local")
  --preferred-region R    where the leader should live (default $PRIMARY_REGION)
  --bootstrap LIST        initial voters: ID=HOST:PORT[@REGION],… (the same list on every first node)
  --join URL              join an existing cluster through any member's HTTP URL
  --learner               join as a non-voting learner (read replica)
  --cluster-secret S      shared secret for peer traffic (default $QUORUMLITE_CLUSTER_SECRET)
  --latency SPEC          simulated one-way latency: ams-iad=15,ams-ams=1 (ms)
  --tick-ms N             Raft tick length (default 10)
  --snapshot-threshold N  compact the log every N applied entries (default 10000)
  --snapshot-keep N       entries kept behind the applied index when compacting (default 2000)
  --tx-timeout-ms N       roll back an interactive transaction idle this long (default 5000)
  --log-writer W          where the Raft log's fsync runs: adaptive (default: a Worker thread while
                          leading, inline while following), worker (always), inline (always)
  --auth-jwt-key-file F   require Authorization: Bearer <JWT> signed by this Ed25519 key (claim a=ro|rw)
  --auth-tokens LIST      static bearer tokens: TOKEN[:ro|:rw],… (default $QUORUMLITE_AUTH_TOKENS)
                          Without either, the API is open: fine on loopback, not on a public address.`;

export function parseBootstrap(list: string): BootstrapPeer[] {
  if (list.trim() === "") return [];
  return list.split(",").map((item) => {
    const m = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(item.trim());
    if (!m) throw new Error(`--bootstrap: "${item}" is not ID=HOST:PORT[@REGION]`);
    return { id: m[1]!, raftAddr: m[2]!, region: m[3] ?? null };
  });
}

export function parseTokens(list: string): Record<string, "ro" | "rw"> {
  const out: Record<string, "ro" | "rw"> = {};
  for (const item of list.split(",").map((x) => x.trim()).filter(Boolean)) {
    const m = /^(.+?)(?::(ro|rw))?$/.exec(item)!;
    out[m[1]!] = (m[2] as "ro" | "rw" | undefined) ?? "rw";
  }
  return out;
}

export function parseLatency(spec: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (spec.trim() === "") return out;
  for (const item of spec.split(",")) {
    const m = /^([^-=]+)-([^=]+)=(\d+(?:\.\d+)?)$/.exec(item.trim());
    if (!m) throw new Error(`--latency: "${item}" is not REGION-REGION=MS`);
    out[latencyKey(m[1]!, m[2]!)] = Number(m[3]);
  }
  return out;
}

/** "host:port" or "[v6]:port" → parts suitable for Bun.serve / node:http2. */
export function splitHostPort(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i);
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(addr.slice(i + 1)) };
}

export function latencyKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export function resolveNodeOptions(argv: readonly string[], env: Record<string, string | undefined>): NodeOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      id: { type: "string" },
      data: { type: "string" },
      http: { type: "string" },
      raft: { type: "string" },
      "raft-advertise": { type: "string" },
      "http-advertise": { type: "string" },
      region: { type: "string" },
      "preferred-region": { type: "string" },
      bootstrap: { type: "string" },
      join: { type: "string" },
      learner: { type: "boolean" },
      "cluster-secret": { type: "string" },
      latency: { type: "string" },
      "tick-ms": { type: "string" },
      "auth-jwt-key-file": { type: "string" },
      "auth-tokens": { type: "string" },
      "snapshot-threshold": { type: "string" },
      "snapshot-keep": { type: "string" },
      "tx-timeout-ms": { type: "string" },
      "log-writer": { type: "string" },
    },
    strict: true,
  });
  const onFly = env.FLY_APP_NAME !== undefined && env.FLY_MACHINE_ID !== undefined;
  const id = values.id ?? env.FLY_MACHINE_ID ?? env.HOSTNAME ?? "node1";
  // Fly's private network (6PN) is IPv6: listen on [::] there.
  const http = values.http ?? (onFly ? "[::]:8080" : "0.0.0.0:8001");
  const raft = values.raft ?? (onFly ? "[::]:9001" : "0.0.0.0:9001");
  const raftPort = raft.split(":").pop()!;
  const httpPort = http.split(":").pop()!;
  const flyHost = onFly ? `${env.FLY_MACHINE_ID}.vm.${env.FLY_APP_NAME}.internal` : null;
  const raftAdvertise = values["raft-advertise"] ?? (flyHost ? `${flyHost}:${raftPort}` : raft.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]"));
  const httpAdvertise = values["http-advertise"] ?? (flyHost ? `http://${flyHost}:${httpPort}` : `http://${http.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]")}`);
  return nodeOptionsSchema.parse({
    id,
    data: values.data ?? (onFly ? "/data" : `./data/${id}`),
    http,
    raft,
    raftAdvertise,
    httpAdvertise,
    region: values.region ?? env.FLY_REGION ?? "local",
    preferredRegion: values["preferred-region"] ?? env.PRIMARY_REGION ?? null,
    bootstrap: parseBootstrap(values.bootstrap ?? env.QUORUMLITE_BOOTSTRAP ?? ""),
    join: values.join ?? env.QUORUMLITE_JOIN ?? null,
    clusterSecret: values["cluster-secret"] ?? env.QUORUMLITE_CLUSTER_SECRET ?? null,
    latency: parseLatency(values.latency ?? ""),
    tickMs: Number(values["tick-ms"] ?? "10"),
    learner: values.learner ?? false,
    authJwtKeyFile: values["auth-jwt-key-file"] ?? env.QUORUMLITE_AUTH_JWT_KEY_FILE ?? null,
    snapshotThreshold: Number(values["snapshot-threshold"] ?? "10000"),
    snapshotKeep: Number(values["snapshot-keep"] ?? "2000"),
    txTimeoutMs: Number(values["tx-timeout-ms"] ?? "5000"),
    logWriter: values["log-writer"] ?? env.QUORUMLITE_LOG_WRITER ?? "adaptive",
    authTokens: parseTokens(values["auth-tokens"] ?? env.QUORUMLITE_AUTH_TOKENS ?? ""),
  });
}
