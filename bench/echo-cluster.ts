/** The trivial echo server (bench/echo-server.ts) as a one-node "cluster", for the generator's ceiling. */
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BenchNode, RunningCluster } from "./bench-node.ts";
import { freePort } from "./free-port.ts";
import { ServerProcess, waitUntil } from "./server-process.ts";

const ECHO = resolve(import.meta.dir, "echo-server.ts");

export class EchoCluster implements RunningCluster {
  private constructor(
    readonly nodes: readonly BenchNode[],
    private readonly proc: ServerProcess,
    private readonly root: string,
  ) {}

  static async start(root: string): Promise<EchoCluster> {
    mkdirSync(root, { recursive: true });
    const port = await freePort();
    const proc = ServerProcess.spawn("echo", [process.execPath, ECHO, String(port)], join(root, "echo.log"));
    const node = { id: "echo", region: "local", url: `http://127.0.0.1:${port}`, pid: proc.pid };
    const cluster = new EchoCluster([node], proc, root);
    await waitUntil("the echo server", 10_000, [proc], async () => (await fetch(`${node.url}/sql`, { method: "POST", body: "{}" })).ok);
    return cluster;
  }

  async leaderId(): Promise<string> {
    return "echo";
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}
