/**
 * A server under test as a child process, its output going to a log file (not
 * a pipe: nothing in the orchestrator spends CPU on it during a run).
 */
import { openSync, closeSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";

/** Servers still running; killed if the orchestrator exits without stopping them (a crash, an uncaught error). */
const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export class ServerProcess {
  private constructor(
    readonly name: string,
    readonly logPath: string,
    private readonly proc: Subprocess,
  ) {}

  static spawn(name: string, argv: readonly string[], logPath: string, env: Record<string, string | undefined> = process.env): ServerProcess {
    const fd = openSync(logPath, "a");
    try {
      const proc = Bun.spawn([...argv], { stdin: "ignore", stdout: fd, stderr: fd, env });
      live.add(proc);
      void proc.exited.then(() => live.delete(proc));
      return new ServerProcess(name, logPath, proc);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** The exit code once it has exited, else null. */
  get exitCode(): number | null {
    return this.proc.exitCode ?? (this.proc.signalCode ? -1 : null);
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(this.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.exitCode !== null) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.proc.exited;
    clearTimeout(timer);
  }
}

/** Polls `ready` every 100 ms until it holds, a process dies, or `timeoutMs` passes. */
export async function waitUntil(what: string, timeoutMs: number, procs: readonly ServerProcess[], ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`${dead.name} exited (${dead.exitCode}) while waiting for ${what}:\n${dead.logTail()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${procs.map((p) => `--- ${p.name}\n${p.logTail(8)}`).join("\n")}`);
    await Bun.sleep(100);
  }
}
