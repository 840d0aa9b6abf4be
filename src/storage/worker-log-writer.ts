import type { LogDurability, SegmentWrite, SegmentWriterOptions, WriteReport } from "./segment-writer.ts";
import type { LogWriter } from "./log-writer.ts";
import type { FromWriter, ToWriter } from "./log-writer-protocol.ts";

interface Waiter {
  readonly resolve: (msg: FromWriter) => void;
  readonly reject: (err: Error) => void;
}

/**
 * Hands batches to a Worker that writes and syncs them: the event loop only
 * pays for a postMessage (the framed batch, transferred), never for the
 * fdatasync. The worker is ref'd only while a request is outstanding, so
 * an idle store does not keep the process alive.
 */
export class WorkerLogWriter implements LogWriter {
  readonly kind = "worker" as const;
  private readonly waiters = new Map<number, Waiter>();
  private nextSeq = 1;
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent<FromWriter>) => this.onMessage(event.data);
    worker.addEventListener("error", (event) => {
      this.die(new Error(`raft log writer worker crashed: ${event.message}`));
    });
    worker.addEventListener("close", () => {
      this.die(new Error("raft log writer worker exited"));
    });
  }

  static start(dir: string, options: SegmentWriterOptions): Promise<WorkerLogWriter> {
    const worker = new Worker(new URL("./log-writer-worker.ts", import.meta.url).href);
    return new Promise((resolve, reject) => {
      const onOpen = (event: MessageEvent<FromWriter>) => {
        const msg = event.data;
        worker.removeEventListener("message", onOpen);
        if (msg.type === "opened") {
          const writer = new WorkerLogWriter(worker);
          worker.unref();
          resolve(writer);
        } else {
          worker.terminate();
          reject(new Error(msg.type === "open-failed" ? msg.message : `raft log writer: unexpected ${msg.type}`));
        }
      };
      worker.addEventListener("message", onOpen);
      worker.addEventListener("error", (event) => reject(new Error(`raft log writer worker failed to start: ${event.message}`)));
      const open: ToWriter = { type: "open", dir, options };
      worker.postMessage(open);
    });
  }

  schedule(flush: () => void): void {
    // Posting is cheap, so cut the batch as soon as the current synchronous run ends.
    queueMicrotask(flush);
  }

  async write(batch: SegmentWrite): Promise<WriteReport> {
    // The records buffer is the batch's own (frameBatch allocates it), so it is moved, not copied.
    const reply = await this.request((seq) => ({ type: "write", seq, batch }), [batch.records.buffer as ArrayBuffer]);
    if (reply.type !== "written") throw new Error(`raft log writer: unexpected ${reply.type}`);
    return reply.report;
  }

  async durability(): Promise<LogDurability> {
    const reply = await this.request((seq) => ({ type: "durability", seq }));
    if (reply.type !== "durability") throw new Error(`raft log writer: unexpected ${reply.type}`);
    return reply.durability;
  }

  async close(): Promise<void> {
    if (!this.dead) await this.request((seq) => ({ type: "close", seq }));
    this.dead ??= new Error("raft log writer is closed");
    this.worker.terminate();
  }

  private request(make: (seq: number) => ToWriter, transfer: ArrayBuffer[] = []): Promise<FromWriter> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      if (this.waiters.size === 0) this.worker.ref();
      this.waiters.set(seq, { resolve, reject });
      this.worker.postMessage(make(seq), transfer);
    });
  }

  private onMessage(msg: FromWriter): void {
    if (msg.type === "opened" || msg.type === "open-failed") return;
    const waiter = this.waiters.get(msg.seq);
    if (!waiter) return;
    this.waiters.delete(msg.seq);
    if (this.waiters.size === 0) this.worker.unref();
    if (msg.type === "failed") waiter.reject(new Error(msg.message));
    else waiter.resolve(msg);
  }

  private die(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }
}
