/**
 * Real multi-process clusters for integration tests: each node is a
 * `quorumlite serve` child process with its own data directory and real
 * sockets on 127.0.0.1. Nodes can be killed with SIGKILL and restarted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

import { freePort } from "../../bench/free-port.ts";
import type { NetnsLab } from "./netns-lab.ts";

const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

export interface TestNodeSpec {
  readonly id: string;
  readonly region: string;
  /** Where the HTTP and Raft listeners bind: 127.0.0.1, or the node's addresses in a NetnsLab. */
  readonly httpHost: string;
  readonly raftHost: string;
  readonly httpPort: number;
  readonly raftPort: number;
  readonly dataDir: string;
}

export interface ClusterOptions {
  readonly nodes?: number;
  readonly regions?: readonly string[];
  readonly preferredRegion?: string;
  /** e.g. "ams-ams=1,ams-iad=15,iad-iad=1" */
  readonly latency?: string;
  readonly secret?: string;
  readonly quiet?: boolean;
  readonly extraArgs?: readonly string[];
  /** Runs node i in the lab's namespace i (so the test can partition it); the lab outlives the cluster. */
  readonly netns?: NetnsLab;
}


export class TestCluster {
  readonly procs = new Map<string, Subprocess>();
  readonly logs = new Map<string, string[]>();
  /** Nodes started with --join (not part of the bootstrap list), and how they joined. */
  private readonly joiners = new Map<string, readonly string[]>();

  private constructor(
    readonly root: string,
    readonly specs: TestNodeSpec[],
    readonly opts: ClusterOptions,
    readonly secret: string,
  ) {}

  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    const n = opts.nodes ?? 3;
    const root = mkdtempSync(join(tmpdir(), "ql-test-"));
    const specs: TestNodeSpec[] = [];
    for (let i = 0; i < n; i++) {
      const lab = opts.netns?.nodes[i];
      if (opts.netns && !lab) throw new Error(`the NetnsLab has no namespace for node ${i + 1}`);
      specs.push({
        id: `n${i + 1}`,
        region: opts.regions?.[i] ?? "local",
        httpHost: lab?.clientIp ?? "127.0.0.1",
        raftHost: lab?.peerIp ?? "127.0.0.1",
        httpPort: await freePort(),
        raftPort: await freePort(),
        dataDir: join(root, `n${i + 1}`),
      });
    }
    const c = new TestCluster(root, specs, opts, opts.secret ?? "test-secret");
    for (const s of specs) c.spawn(s.id);
    try {
      await c.waitForLeader();
    } catch (e) {
      // The test gets no cluster to stop: its nodes must not outlive it.
      await c.stop();
      throw e;
    }
    return c;
  }

  url(id: string): string {
    const s = this.spec(id);
    return `http://${s.httpHost}:${s.httpPort}`;
  }

  spec(id: string): TestNodeSpec {
    const s = this.specs.find((x) => x.id === id);
    if (!s) throw new Error(`no node ${id}`);
    return s;
  }

  /** Start a new node that joins through `via` (as a voter, or a learner with ["--learner"]). */
  async addNode(id: string, region: string, via: string, extra: readonly string[] = []): Promise<void> {
    if (this.opts.netns) throw new Error("addNode: not supported in a NetnsLab");
    this.specs.push({ id, region, httpHost: "127.0.0.1", raftHost: "127.0.0.1", httpPort: await freePort(), raftPort: await freePort(), dataDir: join(this.root, id) });
    this.joiners.set(id, ["--join", this.url(via), ...extra]);
    this.spawn(id);
  }

  spawn(id: string): void {
    const s = this.spec(id);
    const joining = this.joiners.get(id);
    const bootstrap = this.specs.filter((x) => !this.joiners.has(x.id)).map((x) => `${x.id}=${x.raftHost}:${x.raftPort}@${x.region}`).join(",");
    const index = this.specs.indexOf(s);
    const args = [
      ...(this.opts.netns ? this.opts.netns.execPrefix(index) : []),
      process.execPath, MAIN, "serve", "--id", s.id, "--data", s.dataDir, "--raft", `${s.raftHost}:${s.raftPort}`,
      // In a NetnsLab the API listens on both links; nodes and discovery use the peer one (see netns-lab.ts).
      ...(this.opts.netns ? ["--http", `0.0.0.0:${s.httpPort}`, "--http-advertise", `http://${s.raftHost}:${s.httpPort}`] : ["--http", `${s.httpHost}:${s.httpPort}`]),
      "--region", s.region, ...(joining ?? ["--bootstrap", bootstrap]), "--cluster-secret", this.secret,
      ...(this.opts.preferredRegion ? ["--preferred-region", this.opts.preferredRegion] : []),
      ...(this.opts.latency ? ["--latency", this.opts.latency] : []),
      ...(this.opts.extraArgs ?? []),
    ];
    const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
    this.procs.set(id, proc);
    const lines: string[] = this.logs.get(id) ?? [];
    this.logs.set(id, lines);
    void pump(proc.stdout as ReadableStream<Uint8Array>, lines, this.opts.quiet === false ? `${id}> ` : null);
    void pump(proc.stderr as ReadableStream<Uint8Array>, lines, this.opts.quiet === false ? `${id}! ` : null);
  }

  /** SIGKILL: no chance to flush anything that is not already durable. */
  async kill(id: string): Promise<void> {
    const p = this.procs.get(id);
    if (!p) return;
    p.kill("SIGKILL");
    await p.exited;
    this.procs.delete(id);
  }

  /** SIGSTOP: the node keeps its sockets and state but does nothing until resume(), like a long GC pause or a stalled VM. */
  pause(id: string): void {
    this.procs.get(id)?.kill("SIGSTOP");
  }

  resume(id: string): void {
    this.procs.get(id)?.kill("SIGCONT");
  }

  async restart(id: string): Promise<void> {
    await this.kill(id);
    this.spawn(id);
    await this.waitFor(async () => (await this.status(id)) !== null, 15_000, `${id} to come back`);
  }

  async status(id: string): Promise<Record<string, any> | null> {
    try {
      const r = await fetch(`${this.url(id)}/status`, { signal: AbortSignal.timeout(1_000) });
      return r.ok ? ((await r.json()) as Record<string, any>) : null;
    } catch {
      return null;
    }
  }

  async leader(exclude: readonly string[] = []): Promise<string> {
    let found = "";
    await this.waitFor(async () => {
      for (const s of this.specs) {
        if (exclude.includes(s.id) || !this.procs.has(s.id)) continue;
        const st = await this.status(s.id);
        if (st?.role === "leader") {
          found = s.id;
          return true;
        }
      }
      return false;
    }, 20_000, "a leader");
    return found;
  }

  async waitForLeader(): Promise<string> {
    const l = await this.leader();
    // Every live node must know it, so a request to any node routes.
    await this.waitFor(async () => {
      for (const s of this.specs) {
        if (!this.procs.has(s.id)) continue;
        const r = await fetch(`${this.url(s.id)}/readyz`).catch(() => null);
        if (!r?.ok) return false;
      }
      return true;
    }, 20_000, "all nodes ready");
    return l;
  }

  async sql(id: string, body: unknown, query = "", headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: any; headers: Headers }> {
    const r = await fetch(`${this.url(id)}/sql${query}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers });
    const text = await r.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: r.status, text, json, headers: r.headers };
  }

  async waitFor(pred: () => Promise<boolean>, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await pred()) return;
      await Bun.sleep(50);
    }
    throw new Error(`timed out waiting for ${what}\n${this.dumpLogs()}`);
  }

  dumpLogs(): string {
    return [...this.logs].map(([id, l]) => `--- ${id}\n${l.slice(-40).join("\n")}`).join("\n");
  }

  async stop(): Promise<void> {
    for (const id of [...this.procs.keys()]) {
      const p = this.procs.get(id)!;
      p.kill("SIGCONT");
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 3_000);
      await p.exited;
      clearTimeout(t);
    }
    this.procs.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}

async function pump(stream: ReadableStream<Uint8Array>, lines: string[], echo: string | null): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (lines.length > 2000) lines.splice(0, 1000);
      if (echo) console.log(echo + line);
    }
  }
}
