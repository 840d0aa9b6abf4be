/**
 * The etcd peer: 3 members of Debian's etcd 3.4 (`etcd-server`) on loopback,
 * default quota and snapshot settings, data in a temporary directory, driven
 * through its HTTP JSON gateway (/v3/kv/put, /v3/kv/range).
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BenchNode, RunningCluster } from "./bench-node.ts";
import { freePort } from "./free-port.ts";
import { ServerProcess, waitUntil } from "./server-process.ts";
import { etcdKey } from "./workload.ts";

/** Finds `etcd`, installing Debian's etcd-server when it is missing. Returns its path and version. */
export async function ensureEtcd(log: (line: string) => void): Promise<{ path: string; version: string }> {
  let path = Bun.which("etcd");
  if (!path) {
    log("etcd not found: installing Debian's etcd-server (apt-get install -y etcd-server)");
    const install = () => Bun.spawnSync(["apt-get", "install", "-y", "-qq", "etcd-server"], { stdout: "ignore", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    let r = install();
    if (r.exitCode !== 0) {
      Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "ignore", stderr: "ignore" });
      r = install();
    }
    path = Bun.which("etcd");
    if (!path) throw new Error(`could not install etcd-server: ${r.stderr.toString().trim().split("\n").slice(-3).join(" ")}`);
  }
  const v = Bun.spawnSync([path, "--version"]).stdout.toString();
  return { path, version: /etcd Version: (\S+)/.exec(v)?.[1] ?? "unknown" };
}

interface Member {
  readonly id: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

export class EtcdCluster implements RunningCluster {
  private constructor(
    readonly nodes: readonly BenchNode[],
    private readonly procs: readonly ServerProcess[],
    private readonly root: string,
  ) {}

  static async start(etcdPath: string, root: string, size = 3): Promise<EtcdCluster> {
    mkdirSync(root, { recursive: true });
    const members: Member[] = [];
    for (let i = 1; i <= size; i++) members.push({ id: `e${i}`, clientPort: await freePort(), peerPort: await freePort() });
    const initialCluster = members.map((m) => `${m.id}=http://127.0.0.1:${m.peerPort}`).join(",");
    const token = `bench-${process.pid}-${Date.now()}`;
    const procs = members.map((m) =>
      ServerProcess.spawn(
        m.id,
        [
          etcdPath,
          "--name", m.id,
          "--data-dir", join(root, m.id),
          "--listen-client-urls", `http://127.0.0.1:${m.clientPort}`,
          "--advertise-client-urls", `http://127.0.0.1:${m.clientPort}`,
          "--listen-peer-urls", `http://127.0.0.1:${m.peerPort}`,
          "--initial-advertise-peer-urls", `http://127.0.0.1:${m.peerPort}`,
          "--initial-cluster", initialCluster,
          "--initial-cluster-state", "new",
          "--initial-cluster-token", token,
          "--logger", "zap",
          "--log-level", "warn",
        ],
        join(root, `${m.id}.log`),
        // Only our flags: ETCD_* variables from the environment would override them.
        Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_"))),
      ),
    );
    const nodes = members.map((m, i) => ({ id: m.id, region: "local", url: `http://127.0.0.1:${m.clientPort}`, pid: procs[i]!.pid }));
    const cluster = new EtcdCluster(nodes, procs, root);
    try {
      await waitUntil("etcd members healthy and a leader", 30_000, procs, async () => {
        for (const n of nodes) {
          const r = await fetch(`${n.url}/health`, { signal: AbortSignal.timeout(1_000) });
          if (!r.ok || !((await r.json()) as { health?: string }).health?.includes("true")) return false;
        }
        return (await cluster.findLeader()) !== null;
      });
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  private async findLeader(): Promise<string | null> {
    for (const n of this.nodes) {
      const r = await fetch(`${n.url}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1_000) }).catch(() => null);
      if (!r?.ok) continue;
      const s = (await r.json()) as { header?: { member_id?: string }; leader?: string };
      if (s.leader && s.header?.member_id === s.leader) return n.id;
    }
    return null;
  }

  async leaderId(): Promise<string> {
    const id = await this.findLeader();
    if (!id) throw new Error("etcd has no leader");
    return id;
  }

  /** Writes keys 0..count-1 so that range reads find them. */
  async seed(count: number, payloadBytes: number): Promise<void> {
    const leaderId = await this.leaderId();
    const leader = this.nodes.find((n) => n.id === leaderId)!;
    const value = Buffer.from("v".repeat(payloadBytes)).toString("base64");
    const putOne = async (i: number) => {
      const r = await fetch(`${leader.url}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: Buffer.from(etcdKey(i)).toString("base64"), value }) });
      if (!r.ok) throw new Error(`etcd seed put: HTTP ${r.status} ${await r.text()}`);
    };
    for (let i = 0; i < count; i += 64) await Promise.all(Array.from({ length: Math.min(64, count - i) }, (_, j) => putOne(i + j)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
