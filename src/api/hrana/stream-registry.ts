/**
 * The streams this node owns, and the batons that unlock them. A baton is
 * good for exactly one request: acquiring a stream advances its sequence
 * number, so the previous baton (a replay) no longer matches. Idle streams
 * expire; a tombstone remembers why a stream is gone for a while, so a late
 * client is told "expired" or "closed" rather than a puzzling "not found".
 */
import type { BatonCodec, BatonFields } from "./baton.ts";
import { HranaHttpError } from "./errors.ts";
import { HranaStream } from "./stream.ts";

export type DiscardReason = "closed" | "expired" | "failed" | "moved" | "abandoned";

const TOMBSTONE_TTL_MS = 5 * 60_000;
const MAX_TOMBSTONES = 10_000;

const GONE_MESSAGES: Readonly<Record<DiscardReason, readonly [string, string]>> = {
  expired: ["STREAM_EXPIRED", "The stream has expired due to inactivity"],
  closed: ["STREAM_CLOSED", "Stream for this baton was closed"],
  failed: ["STREAM_CLOSED", "The stream was closed after a server error"],
  moved: ["STREAM_CLOSED", "The stream moved to the leader; use the baton from the latest response"],
  abandoned: ["STREAM_CLOSED", "The client went away before the answer that carried this stream's next baton, so the stream was closed"],
};

export interface StreamRegistryOptions {
  readonly selfId: string;
  readonly codec: BatonCodec;
  readonly idleTimeoutMs: number;
  readonly maxStreams: number;
  /** Releases what a discarded stream holds (an open transaction). */
  readonly onDiscard: (stream: HranaStream, reason: DiscardReason) => void;
}

export class StreamRegistry {
  private readonly streams = new Map<string, HranaStream>();
  private readonly tombstones = new Map<string, { reason: DiscardReason; at: number }>();

  constructor(private readonly opts: StreamRegistryOptions) {}

  get size(): number {
    return this.streams.size;
  }

  open(): HranaStream {
    if (this.streams.size >= this.opts.maxStreams) {
      throw new HranaHttpError(503, "TOO_MANY_STREAMS", `This node already has ${this.streams.size} open streams`, 1);
    }
    const stream = new HranaStream();
    this.streams.set(stream.id, stream);
    return stream;
  }

  /** Takes the stream a verified baton names, for one request. */
  acquire(f: BatonFields): HranaStream {
    const stream = this.streams.get(f.streamId);
    if (stream === undefined) {
      const tomb = this.tombstones.get(f.streamId);
      const [code, message] =
        tomb !== undefined
          ? GONE_MESSAGES[tomb.reason]
          : ["STREAM_EXPIRED", "The stream has expired or its node restarted"];
      throw new HranaHttpError(400, code, message);
    }
    if (stream.acquired || stream.seq !== f.seq) {
      throw new HranaHttpError(400, "BATON_REUSED", "Received a baton that has already been used");
    }
    stream.acquired = true;
    stream.seq = (stream.seq + 1n) & 0xffff_ffff_ffff_ffffn;
    if (stream.idleTimer !== null) clearTimeout(stream.idleTimer);
    stream.idleTimer = null;
    return stream;
  }

  /**
   * Ends a request: returns the next baton, or null when the stream was closed (and is now gone).
   * A baton works once, so if the client gave up on this request it can never learn the next one:
   * the stream is closed at once (rolling back its transaction) rather than left to expire while it
   * holds the write lock.
   */
  release(stream: HranaStream, clientGone = false): string | null {
    if (stream.closed || clientGone) {
      this.discard(stream, stream.closed ? "closed" : "abandoned");
      return null;
    }
    stream.acquired = false;
    const timer = setTimeout(() => {
      if (!stream.acquired && this.streams.get(stream.id) === stream) this.discard(stream, "expired");
    }, this.opts.idleTimeoutMs);
    (timer as { unref?: () => void }).unref?.();
    stream.idleTimer = timer;
    return this.opts.codec.encode({ nodeId: this.opts.selfId, streamId: stream.id, seq: stream.seq });
  }

  discard(stream: HranaStream, reason: DiscardReason): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (stream.idleTimer !== null) clearTimeout(stream.idleTimer);
    stream.idleTimer = null;
    this.remember(stream.id, reason);
    this.opts.onDiscard(stream, reason);
  }

  /** Discards every stream (node shutdown). */
  discardAll(reason: DiscardReason): void {
    for (const s of [...this.streams.values()]) this.discard(s, reason);
  }

  private remember(id: string, reason: DiscardReason): void {
    const now = Date.now();
    this.tombstones.set(id, { reason, at: now });
    for (const [k, v] of this.tombstones) {
      if (this.tombstones.size <= MAX_TOMBSTONES && now - v.at < TOMBSTONE_TTL_MS) break;
      this.tombstones.delete(k);
    }
  }
}
