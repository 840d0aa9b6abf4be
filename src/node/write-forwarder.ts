/**
 * A follower's writes on their way to the leader. While `maxInFlight` RPCs
 * are out, the writes that arrive meanwhile wait and then travel together in
 * one `write-batch` RPC: one HTTP/2 stream, one body to decode and one reply
 * for all of them (group commit, as the log does with fsyncs). A stream per
 * write cost about 200 µs of CPU per forwarded write across the two nodes
 * under load, half the cluster's throughput through a follower; a write that
 * finds a free slot still leaves at once, so a lone client waits for nothing.
 * The leader proposes the batch's writes separately, so each keeps its own
 * outcome, error and bookmark.
 *
 * A leader without the batch RPC (an older build during a rolling upgrade)
 * answers 404: its writes then go one per RPC, and the batch is tried again
 * after a while.
 */
import { unwrapReply, unwrapReplyValue } from "./peer-rpc.ts";
import { ServiceError, type Applied, type CommandInput, type WriteOptions } from "./sql-service.ts";
import type { CommandOutcome } from "../db/command.ts";
import { toTaggedJson } from "./tagged-json.ts";

/** One RPC to the current leader; throws a ServiceError when there is none or it fails (see leaderCallError). */
export type LeaderCall = (path: "write" | "write-batch", body: Uint8Array, timeoutMs: number) => Promise<{ readonly status: number; readonly body: Uint8Array }>;

export interface WriteForwarderOptions {
  /** RPCs out at once; later writes wait and go together (default 2). */
  readonly maxInFlight?: number;
  /** A batch body stops growing past this many bytes (the peer's RPC limit is far above). */
  readonly maxBatchBytes?: number;
  /** After a 404 for the batch RPC, writes go one by one for this long. */
  readonly singleModeMs?: number;
  readonly now?: () => number;
}

interface Pending {
  /** Writes of one durability share a batch: the leader answers a batch once its slowest write is done. */
  readonly durability: string;
  readonly json: string;
  readonly timeoutMs: number;
  readonly resolve: (a: Applied<CommandOutcome>) => void;
  readonly reject: (e: unknown) => void;
}

export class WriteForwarder {
  private queue: Pending[] = [];
  private inFlight = 0;
  private singlesUntil = Number.NEGATIVE_INFINITY;
  private readonly maxInFlight: number;
  private readonly maxBatchBytes: number;
  private readonly singleModeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly call: LeaderCall,
    opts: WriteForwarderOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxBatchBytes = opts.maxBatchBytes ?? 4 * 1024 * 1024;
    this.singleModeMs = opts.singleModeMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  write(cmd: CommandInput, options: WriteOptions, timeoutMs: number): Promise<Applied<CommandOutcome>> {
    // Encoded now, once: the same text is the single RPC's body or one element of a batch's.
    const json = toTaggedJson({ cmd, options });
    return new Promise((resolve, reject) => {
      this.queue.push({ durability: options.durability ?? "majority", json, timeoutMs, resolve, reject });
      if (this.inFlight < this.maxInFlight) this.flush();
    });
  }

  private flush(): void {
    const queued = this.queue;
    this.queue = [];
    if (queued.length === 0) return;
    if (queued.length === 1 || this.now() < this.singlesUntil) {
      for (const item of queued) this.track(this.single(item));
      return;
    }
    const byDurability = new Map<string, Pending[]>();
    for (const item of queued) {
      const group = byDurability.get(item.durability);
      if (group) group.push(item);
      else byDurability.set(item.durability, [item]);
    }
    for (const group of byDurability.values()) this.send(group);
  }

  /** `items` as batches of at most maxBatchBytes (a lone write as the plain RPC). */
  private send(items: readonly Pending[]): void {
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < items.length; i++) {
      bytes += items[i]!.json.length;
      if (bytes > this.maxBatchBytes && i > from) {
        this.track(this.batch(items.slice(from, i)));
        from = i;
        bytes = items[i]!.json.length;
      }
    }
    const rest = items.slice(from);
    this.track(rest.length === 1 ? this.single(rest[0]!) : this.batch(rest));
  }

  /** Counts an RPC as out until it settles; then whatever queued meanwhile goes. */
  private track(rpc: Promise<void>): void {
    this.inFlight++;
    void rpc.finally(() => {
      this.inFlight--;
      if (this.inFlight < this.maxInFlight) this.flush();
    });
  }

  private async single(item: Pending): Promise<void> {
    try {
      const reply = await this.call("write", new TextEncoder().encode(item.json), item.timeoutMs);
      item.resolve(unwrapReply(reply.body) as Applied<CommandOutcome>);
    } catch (e) {
      item.reject(e);
    }
  }

  private async batch(items: readonly Pending[]): Promise<void> {
    let values: unknown[];
    try {
      const body = new TextEncoder().encode(`{"items":[${items.map((i) => i.json).join(",")}]}`);
      const reply = await this.call("write-batch", body, Math.max(...items.map((i) => i.timeoutMs)));
      if (reply.status === 404) {
        this.singlesUntil = this.now() + this.singleModeMs;
        for (const item of items) this.track(this.single(item));
        return;
      }
      const value = unwrapReply(reply.body);
      if (!Array.isArray(value) || value.length !== items.length) throw new ServiceError("no-leader", `malformed reply from peer: ${items.length} writes, a reply of another shape`);
      values = value;
    } catch (e) {
      for (const item of items) item.reject(e);
      return;
    }
    items.forEach((item, i) => {
      try {
        item.resolve(unwrapReplyValue(values[i]) as Applied<CommandOutcome>);
      } catch (e) {
        item.reject(e);
      }
    });
  }
}

/** The leader's side: the writes of a decoded `write-batch` body, in order. */
export function writesOfBatch(decoded: unknown): { cmd: CommandInput; options: WriteOptions }[] {
  const items = (decoded as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw new ServiceError("bad-request", "write-batch body has no items array");
  return items as { cmd: CommandInput; options: WriteOptions }[];
}
