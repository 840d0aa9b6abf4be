/**
 * quorumlite under test: `quorumlite serve` child processes on loopback, each
 * with its own data directory, started exactly as an operator would (the
 * documented CLI), with optional simulated latency between regions.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BenchNode, RunningCluster } from "./bench-node.ts";
import { freePort } from "./free-port.ts";
import { ServerProcess, waitUntil } from "./server-process.ts";
import { withAllocatorSettings } from "../src/cli/allocator-settings.ts";

const MAIN = resolve(import.meta.dir, "../src/cli/main.ts");

export interface QuorumliteClusterOptions {
  /** Regions of the nodes n1, n2, …; one entry = a single node with no replication. */
  readonly regions: readonly string[];
  readonly preferredRegion: string | null;
  /** One-way latency spec for `--latency`, e.g. "ams-ams=1,ams-iad=15,iad-iad=1". */
  readonly latency: string | null;
}

interface StatusBody {
  readonly role?: string;
  readonly region?: string;
  readonly leader?: { readonly id?: string; readonly region?: string } | null;
  readonly applied_index?: number;
  readonly commit_index?: number;
}

export class QuorumliteCluster implements RunningCluster {
  private constructor(
    readonly nodes: readonly BenchNode[],
    private readonly procs: readonly ServerProcess[],
    private readonly root: string,
  ) {}

  static async start(opts: QuorumliteClusterOptions, root: string): Promise<QuorumliteCluster> {
    mkdirSync(root, { recursive: true });
    const specs: { id: string; region: string; http: number; raft: number }[] = [];
    for (const [i, region] of opts.regions.entries()) specs.push({ id: `n${i + 1}`, region, http: await freePort(), raft: await freePort() });
    const bootstrap = specs.map((s) => `${s.id}=127.0.0.1:${s.raft}@${s.region}`).join(",");
    const secret = `bench-${crypto.randomUUID()}`;
    const procs = specs.map((s) =>
      ServerProcess.spawn(
        s.id,
        [
          process.execPath, MAIN, "serve",
          "--id", s.id,
          "--data", join(root, s.id),
          "--http", `127.0.0.1:${s.http}`,
          "--raft", `127.0.0.1:${s.raft}`,
          "--region", s.region,
          "--bootstrap", bootstrap,
          "--cluster-secret", secret,
          ...(opts.preferredRegion ? ["--preferred-region", opts.preferredRegion] : []),
          ...(opts.latency ? ["--latency", opts.latency] : []),
        ],
        join(root, `${s.id}.log`),
        withAllocatorSettings(process.env),
      ),
    );
    const nodes = specs.map((s, i) => ({ id: s.id, region: s.region, url: `http://127.0.0.1:${s.http}`, pid: procs[i]!.pid }));
    const cluster = new QuorumliteCluster(nodes, procs, root);
    try {
      await waitUntil("every node ready with a leader", 60_000, procs, async () => {
        for (const n of nodes) if (!(await fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok) return false;
        const leader = await cluster.findLeader();
        return leader !== null && (opts.preferredRegion === null || leader.region === opts.preferredRegion);
      });
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  async status(id: string): Promise<StatusBody | null> {
    const n = this.node(id);
    const r = await fetch(`${n.url}/status`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    return r?.ok ? ((await r.json()) as StatusBody) : null;
  }

  node(id: string): BenchNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private async findLeader(): Promise<BenchNode | null> {
    for (const n of this.nodes) if ((await this.status(n.id))?.role === "leader") return n;
    return null;
  }

  async leaderId(): Promise<string> {
    const l = await this.findLeader();
    if (!l) throw new Error("quorumlite has no leader");
    return l.id;
  }

  /**
   * POSTs one /sql request to the leader, retrying while the cluster answers
   * 503 (election, not ready). Returns the parsed body.
   */
  async sql(body: unknown, query = "", timeoutMs = 60_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.node(await this.leaderId().catch(() => this.nodes[0]!.id));
      const r = await fetch(`${leader.url}/sql${query}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) }).catch((e: Error) => e);
      if (!(r instanceof Error) && r.ok) return r.json();
      const why = r instanceof Error ? r.message : `HTTP ${r.status} ${await r.text()}`;
      if ((r instanceof Error || r.status === 503) && Date.now() < deadline) {
        await Bun.sleep(200);
        continue;
      }
      throw new Error(`setup SQL failed: ${why}`);
    }
  }

  /** Waits until every node has applied what the leader has committed (so follower reads see the seed data). */
  async waitCaughtUp(timeoutMs = 60_000): Promise<void> {
    await waitUntil("followers to apply everything", timeoutMs, this.procs, async () => {
      const leader = await this.status(await this.leaderId());
      const commit = leader?.commit_index ?? Infinity;
      for (const n of this.nodes) if (((await this.status(n.id))?.applied_index ?? -1) < commit) return false;
      return true;
    });
  }

  logTail(id: string, lines = 20): string {
    return this.procs.find((p) => p.name === id)?.logTail(lines) ?? "";
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
