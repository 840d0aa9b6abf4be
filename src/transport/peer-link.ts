/**
 * The sending side of the link to one peer: one multiplexed node:http2
 * session (Bun's fetch cannot speak h2c) carrying one long-lived message
 * stream (POST /raft/stream; per-batch POSTs only for peers without it),
 * message batching, simulated latency, reconnect with backoff, RPCs and
 * snapshot uploads.
 *
 * Nothing here throws into the caller of enqueue(): a peer that is down or
 * stalled costs dropped messages (Raft retransmits), never a blocked loop.
 */
import { connect, constants, sensitiveHeaders } from "node:http2";
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import type { Message, NodeId, SnapshotMsg } from "../raft/types.ts";
import { encodeMessages, estimateMessageBytes } from "./message-codec.ts";
import { OutboundMessageStream } from "./outbound-message-stream.ts";
import type { OutboundStreamEnd } from "./outbound-message-stream.ts";
import { peerOrigin } from "./peer-address.ts";
import {
  CONTENT_TYPE_MESSAGES,
  CONTENT_TYPE_SNAPSHOT,
  CONTENT_TYPE_STREAM,
  HEADER_FROM,
  HEADER_SECRET,
  HEADER_TO,
  ROUTE_MESSAGES,
  ROUTE_RPC_PREFIX,
  ROUTE_SNAPSHOT,
  ROUTE_STREAM,
} from "./peer-protocol.ts";
import { PeerRequestError } from "./peer-request-error.ts";
import { encodeSnapshotPreamble } from "./snapshot-framing.ts";
import { encodeMessageFrame } from "./stream-framing.ts";
import type { TransportLimits } from "./transport-limits.ts";

export interface PeerResponse {
  readonly status: number;
  readonly body: Uint8Array;
  readonly headers: Record<string, string>;
}

/**
 * idle: no session (one is opened on demand) · connecting · connected ·
 * backoff: the last session failed; traffic is dropped until the timer ends · closed: stopped ·
 * invalid: the peer's raft address cannot be parsed; everything to it is dropped or refused.
 */
export type LinkState = "idle" | "connecting" | "connected" | "backoff" | "closed" | "invalid";

/**
 * The message stream: none (not opened yet, or reopening after a failure) · opening (waiting for
 * the peer to accept it) · open · blocked (waiting for flow control to drain) · posts (the peer has
 * no stream route: batches go as one POST each on this session).
 */
export type MessageStreamState = "none" | "opening" | "open" | "blocked" | "posts";

export interface PeerLinkStats {
  readonly id: NodeId;
  readonly raftAddr: string;
  readonly state: LinkState;
  readonly connected: boolean;
  /** Sessions opened so far (the first one plus every reconnect). */
  readonly sessions: number;
  readonly streamState: MessageStreamState;
  /** Message streams opened so far (normally one per session). */
  readonly streams: number;
  /** Messages and batches written to the message stream, or acknowledged (HTTP 204) when sent as POSTs. */
  readonly sentMessages: number;
  readonly sentBatches: number;
  readonly sentBytes: number;
  /** Messages given up on: queue full, peer unreachable, stream or batch refused. */
  readonly droppedMessages: number;
  readonly errors: number;
  /** Message POSTs in flight (only when the peer has no stream route). */
  readonly inflightBatches: number;
  /** Most message POSTs ever in flight at once (pipelining depth reached). */
  readonly peakInflightBatches: number;
  readonly queuedMessages: number;
  readonly requests: number;
  readonly requestErrors: number;
  /** request() calls waiting for a free stream (see maxConcurrentRequests). */
  readonly queuedRequests: number;
  readonly snapshotsSent: number;
  readonly snapshotBytesSent: number;
  readonly lastError: string | null;
}

export interface LinkContext {
  readonly self: NodeId;
  readonly secret: string | null;
  readonly limits: TransportLimits;
  /** Simulated one-way latency towards this peer, already sanitized (finite, ≥ 0). */
  readonly delayMs: () => number;
}

interface Batch {
  readonly msgs: Message[];
  readonly bytes: number;
  /** performance.now() at which the batch may go on the wire (simulated latency). */
  readonly releaseAt: number;
}

const ERROR_BODY_BYTES = 4096;
/**
 * A delay of 0 is reused for this long before delayMs() is asked again: asking costs a
 * lookup per batch, and latency is simulated only in tests and demos, where a change may
 * take this long to apply. Non-zero delays are sampled for every batch.
 */
const ZERO_DELAY_REUSE_MS = 1_000;
/** A batch this close to its release time goes now: timers fire on whole milliseconds, never early by more. */
const RELEASE_SLACK_MS = 0.1;

export class PeerLink {
  /** `http://host:port`, or null when raftAddr is not a valid address. */
  readonly origin: string | null;
  private session: ClientHttp2Session | null = null;
  private state: LinkState = "idle";
  private failures = 0;
  private backoffTimer: ReturnType<typeof setTimeout> | null = null;

  private pending: Message[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  /** Latency sampled when the tick's first message was enqueued: a message sent at t leaves at ≥ t + delay. */
  private pendingDueAt = 0;
  private outbox: Batch[] = [];
  private outboxHead = 0;
  private queuedMessages = 0;
  private queuedBytes = 0;
  private lastReleaseAt = 0;
  /**
   * One timer per delayed batch, armed when the batch is cut. A single shared
   * timer re-armed for the next batch when the previous one fires adds up to a
   * whole timer tick (Bun's timers are ≥ 1 ms) to every simulated hop.
   */
  private readonly releaseTimers = new Set<ReturnType<typeof setTimeout>>();
  private inflight = 0;
  private peakInflight = 0;
  private zeroDelayUntil = -Infinity;
  private stream: OutboundMessageStream | null = null;
  /** The session on which the peer answered the stream route with 404/405: POSTs there. */
  private postsOnly: ClientHttp2Session | null = null;
  private streamFailures = 0;
  private streamRetryTimer: ReturnType<typeof setTimeout> | null = null;
  private activeRequests = 0;
  /** request() calls waiting for a stream slot, oldest first. */
  private requestWaiters: Array<() => void> = [];
  /** Aborts for request()/sendSnapshot() calls still running, so close() can end them. */
  private readonly openCalls = new Set<(e: PeerRequestError) => void>();

  private sessions = 0;
  private streams = 0;
  private sentMessages = 0;
  private sentBatches = 0;
  private sentBytes = 0;
  private droppedMessages = 0;
  private errors = 0;
  private requests = 0;
  private requestErrors = 0;
  private snapshotsSent = 0;
  private snapshotBytesSent = 0;
  private lastError: string | null = null;

  constructor(
    readonly id: NodeId,
    readonly raftAddr: string,
    private readonly ctx: LinkContext,
  ) {
    let origin: string | null = null;
    try {
      origin = peerOrigin(raftAddr);
    } catch (e) {
      // Addresses come from replicated membership: a bad one must not take the node down.
      this.state = "invalid";
      this.lastError = (e as Error).message;
    }
    this.origin = origin;
  }

  // ---------------------------------------------------------------------------
  // Raft messages: batch per tick, delay, pipeline.
  // ---------------------------------------------------------------------------

  enqueue(msg: Message): void {
    if (this.state === "closed" || this.state === "backoff" || this.state === "invalid") {
      this.droppedMessages++;
      return;
    }
    const bytes = estimateMessageBytes(msg);
    const { maxQueuedMessages, maxQueuedBytes } = this.ctx.limits;
    // A single message larger than the byte bound still goes when the queue is empty.
    if (this.queuedMessages >= maxQueuedMessages || (this.queuedBytes > 0 && this.queuedBytes + bytes > maxQueuedBytes)) {
      this.droppedMessages++;
      return;
    }
    this.pending.push(msg);
    this.pendingBytes += bytes;
    this.queuedMessages++;
    this.queuedBytes += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      const now = performance.now();
      this.pendingDueAt = now + this.delay(now);
      queueMicrotask(this.flush);
    }
  }

  private delay(now: number): number {
    if (now < this.zeroDelayUntil) return 0;
    const d = this.ctx.delayMs();
    if (d === 0) this.zeroDelayUntil = now + ZERO_DELAY_REUSE_MS;
    return d;
  }

  /** Everything enqueued in this tick becomes one batch, released after the link's latency. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    // Later batches never overtake earlier ones, even if the configured delay shrinks.
    const releaseAt = Math.max(this.pendingDueAt, this.lastReleaseAt);
    this.lastReleaseAt = releaseAt;
    this.outbox.push({ msgs: this.pending, bytes: this.pendingBytes, releaseAt });
    this.pending = [];
    this.pendingBytes = 0;
    const wait = releaseAt - performance.now();
    if (wait > RELEASE_SLACK_MS) this.armReleaseTimer(wait);
    else this.pump();
  };

  /** Moves due batches onto the wire: frames on the message stream, or POSTs for peers without one. */
  private pump(): void {
    if (this.state === "closed" || this.state === "backoff" || this.state === "invalid") return;
    if (this.outboxHead >= this.outbox.length) return;
    const session = this.ensureSession();
    if (session === null) return;
    if (this.postsOnly === session) {
      this.pumpPosts();
      return;
    }
    let stream = this.stream;
    if (stream !== null && stream.session !== session) {
      // The old session got a GOAWAY: finish its stream, continue on the new session.
      stream.close();
      stream = this.stream = null;
    }
    if (stream === null) {
      this.openStream(session);
      return;
    }
    if (!stream.writable) return; // accepted → onOpen, drained → onDrain pump again
    const now = performance.now();
    while (this.outboxHead < this.outbox.length) {
      const taken = this.takeDue(now);
      if (taken === null) return;
      let frame: Uint8Array;
      try {
        frame = encodeMessageFrame(taken.msgs, taken.bytes);
      } catch (e) {
        this.encodeFailed(taken.msgs, e);
        continue;
      }
      this.sentMessages += taken.msgs.length;
      this.sentBatches++;
      this.sentBytes += frame.length;
      if (!stream.write(frame)) return;
    }
  }

  private pumpPosts(): void {
    const { maxInflightBatches } = this.ctx.limits;
    while (this.outboxHead < this.outbox.length && this.inflight < maxInflightBatches) {
      const taken = this.takeDue(performance.now());
      if (taken === null) return;
      this.post(taken.msgs);
    }
  }

  /**
   * The head batch and the due batches behind it (they waited for a drain or a free POST slot
   * and travel together, up to maxBatchBytes), or null when the head is not due yet.
   */
  private takeDue(now: number): { msgs: Message[]; bytes: number } | null {
    const head = this.outbox[this.outboxHead]!;
    if (head.releaseAt > now + RELEASE_SLACK_MS) {
      if (this.releaseTimers.size === 0) this.armReleaseTimer(head.releaseAt - now);
      return null;
    }
    const { maxBatchBytes } = this.ctx.limits;
    let msgs = head.msgs;
    let bytes = head.bytes;
    this.outboxHead++;
    while (this.outboxHead < this.outbox.length) {
      const next = this.outbox[this.outboxHead]!;
      if (next.releaseAt > now || bytes + next.bytes > maxBatchBytes) break;
      msgs = msgs.concat(next.msgs);
      bytes += next.bytes;
      this.outboxHead++;
    }
    this.compactOutbox();
    this.queuedMessages -= msgs.length;
    this.queuedBytes -= bytes;
    return { msgs, bytes };
  }

  private encodeFailed(msgs: readonly Message[], e: unknown): void {
    // A message the codec refuses is a bug upstream; losing it beats crashing the send loop.
    this.noteError(`cannot encode messages: ${(e as Error).message}`);
    this.droppedMessages += msgs.length;
  }

  private openStream(session: ClientHttp2Session): void {
    if (this.streamRetryTimer !== null) return;
    let stream: OutboundMessageStream;
    try {
      stream = new OutboundMessageStream(
        session,
        this.headers(ROUTE_STREAM, { "content-type": CONTENT_TYPE_STREAM }),
        { stallMs: this.ctx.limits.messageTimeoutMs, keepaliveMs: this.ctx.limits.streamKeepaliveMs },
        {
          onOpen: () => {
            this.streamFailures = 0;
            this.markHealthy();
            this.pump();
          },
          onDrain: () => this.pump(),
          onEnd: (end) => this.streamEnded(stream, end),
        },
      );
    } catch (e) {
      this.noteError(`cannot open message stream: ${(e as Error).message}`);
      this.retryStreamLater();
      return;
    }
    this.stream = stream;
    this.streams++;
  }

  private streamEnded(stream: OutboundMessageStream, end: OutboundStreamEnd): void {
    if (this.stream !== stream) return;
    this.stream = null;
    switch (end.kind) {
      case "unsupported":
        // A peer running an older version: fall back to a POST per batch for this session.
        this.postsOnly = stream.session;
        this.markHealthy();
        this.pump();
        return;
      case "stalled":
        this.failSession(stream.session, end.message);
        return;
      case "refused":
        // The peer will not take our messages (wrong secret, wrong node): like refused POSTs, they are dropped.
        this.markHealthy();
        this.noteError(`message stream refused: ${end.status} ${end.message}`);
        this.droppedMessages += this.queuedMessages;
        this.dropQueued();
        break;
      case "closed":
        // A failed session enters backoff on its own (and drops what is queued).
        if (stream.session.destroyed || stream.session.closed) return;
        this.noteError(end.message);
        break;
    }
    // Messages queued meanwhile wait for the next stream (bounded; Raft retransmits the rest).
    this.retryStreamLater();
  }

  private retryStreamLater(): void {
    if (this.streamRetryTimer !== null || this.state === "closed") return;
    this.streamFailures++;
    this.streamRetryTimer = setTimeout(() => {
      this.streamRetryTimer = null;
      this.pump();
    }, this.backoffDelay(this.streamFailures));
  }

  private compactOutbox(): void {
    if (this.outboxHead === this.outbox.length) {
      this.outbox = [];
      this.outboxHead = 0;
    } else if (this.outboxHead > 1024 && this.outboxHead * 2 > this.outbox.length) {
      this.outbox = this.outbox.slice(this.outboxHead);
      this.outboxHead = 0;
    }
  }

  private armReleaseTimer(ms: number): void {
    const timer = setTimeout(() => {
      this.releaseTimers.delete(timer);
      this.pump();
    }, Math.max(1, Math.ceil(ms)));
    this.releaseTimers.add(timer);
  }

  private post(msgs: Message[]): void {
    let body: Uint8Array;
    try {
      body = encodeMessages(msgs);
    } catch (e) {
      this.encodeFailed(msgs, e);
      return;
    }
    const session = this.ensureSession();
    if (session === null) {
      this.droppedMessages += msgs.length;
      return;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(this.headers(ROUTE_MESSAGES, { "content-type": CONTENT_TYPE_MESSAGES, "content-length": body.length }));
    } catch (e) {
      this.noteError(`cannot open stream: ${(e as Error).message}`);
      this.droppedMessages += msgs.length;
      return;
    }
    this.inflight++;
    if (this.inflight > this.peakInflight) this.peakInflight = this.inflight;
    let status = 0;
    let errorBody = "";
    let settled = false;
    const timer = setTimeout(() => {
      // An unacknowledged batch this old means the peer (or the path to it) is stalled.
      this.failSession(session, `message batch not acknowledged within ${this.ctx.limits.messageTimeoutMs} ms`);
    }, this.ctx.limits.messageTimeoutMs);
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      this.markHealthy();
    });
    stream.on("data", (chunk: Buffer) => {
      if (errorBody.length < ERROR_BODY_BYTES) errorBody += chunk.toString("utf8");
    });
    stream.on("error", () => {});
    stream.on("close", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.inflight--;
      if (status === 204) {
        this.sentMessages += msgs.length;
        this.sentBatches++;
        this.sentBytes += body.length;
      } else {
        this.droppedMessages += msgs.length;
        this.noteError(status === 0 ? "message batch failed: stream reset" : `message batch refused: ${status} ${errorBody.slice(0, 200)}`);
      }
      this.pump();
    });
    stream.end(body);
  }

  // ---------------------------------------------------------------------------
  // Generic RPC over the same session.
  // ---------------------------------------------------------------------------

  request(path: string, body: Uint8Array, timeoutMs: number): Promise<PeerResponse> {
    this.requests++;
    return new Promise<PeerResponse>((resolve, reject) => {
      let stream: ClientHttp2Stream | null = null;
      let done = false;
      let startTimer: ReturnType<typeof setTimeout> | null = null;
      const finish = (err: PeerRequestError | null, value?: PeerResponse): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (startTimer !== null) clearTimeout(startTimer);
        this.openCalls.delete(abort);
        if (err !== null) {
          this.requestErrors++;
          reject(err);
        } else resolve(value!);
      };
      const abort = (e: PeerRequestError): void => {
        if (stream !== null && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        finish(e);
      };
      this.openCalls.add(abort);
      const timer = setTimeout(() => abort(new PeerRequestError("timeout", this.id, `request ${path} timed out after ${timeoutMs} ms`)), timeoutMs);

      const start = (): void => {
        startTimer = null;
        if (done) return;
        if (this.activeRequests >= this.ctx.limits.maxConcurrentRequests) {
          this.requestWaiters.push(start);
          return;
        }
        const session = this.ensureSession();
        if (session === null) return finish(this.unreachable());
        try {
          stream = session.request(this.headers(ROUTE_RPC_PREFIX + path, { "content-length": body.length }));
        } catch (e) {
          // Nothing was sent, so the peer cannot have acted on it.
          return finish(new PeerRequestError("unreachable", this.id, `cannot open stream: ${(e as Error).message}`));
        }
        this.activeRequests++;
        let status = 0;
        let headers: Record<string, string> = {};
        let ended = false;
        let size = 0;
        const chunks: Buffer[] = [];
        stream.on("response", (h) => {
          status = Number(h[":status"]);
          headers = plainHeaders(h);
          this.markHealthy();
        });
        stream.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.ctx.limits.maxRpcBodyBytes) {
            abort(new PeerRequestError("reset", this.id, `response to ${path} exceeds ${this.ctx.limits.maxRpcBodyBytes} bytes`));
          } else chunks.push(chunk);
        });
        stream.on("end", () => {
          ended = true;
        });
        stream.on("error", () => {});
        stream.on("close", () => {
          this.activeRequests--;
          this.wakeRequests();
          if (status > 0 && ended) return finish(null, { status, body: toUint8Array(Buffer.concat(chunks)), headers });
          const failure = `stream closed before a response${session.destroyed ? ` (session failed: ${this.lastError ?? "closed"})` : ""}`;
          // A stream still pending never got an id: its HEADERS never left, typically because the session
          // failed to connect (a dead peer). Callers may retry that elsewhere; after a reset they may not.
          if (stream?.pending) finish(new PeerRequestError("unreachable", this.id, `request ${path} never sent: ${failure}`));
          else finish(new PeerRequestError("reset", this.id, `request ${path}: ${failure}`));
        });
        stream.end(body);
      };
      const delay = this.ctx.delayMs();
      if (delay > 0) startTimer = setTimeout(start, delay);
      else start();
    });
  }

  private wakeRequests(): void {
    while (this.requestWaiters.length > 0 && this.activeRequests < this.ctx.limits.maxConcurrentRequests) {
      this.requestWaiters.shift()!();
    }
  }

  // ---------------------------------------------------------------------------
  // Snapshots: a file streamed with bounded memory over a session of its own.
  // ---------------------------------------------------------------------------

  /**
   * A dedicated session keeps a multi-GB upload from queueing heartbeats and
   * appends behind its DATA frames (HTTP/2 multiplexes streams, but they share
   * one TCP send buffer and one connection flow-control window).
   */
  async sendSnapshot(msg: SnapshotMsg, file: string): Promise<void> {
    if (this.state === "closed") throw new PeerRequestError("closed", this.id, "transport stopped");
    const origin = this.origin;
    if (origin === null) throw new PeerRequestError("invalid", this.id, this.lastError ?? "invalid raft address");
    let fh: FileHandle;
    try {
      fh = await open(file, "r");
    } catch (e) {
      throw new PeerRequestError("invalid", this.id, `cannot open snapshot file: ${(e as Error).message}`);
    }
    let session: ClientHttp2Session | null = null;
    let failure: PeerRequestError | null = null;
    const abort = (e: PeerRequestError): void => {
      failure ??= e;
      session?.destroy();
    };
    this.openCalls.add(abort);
    const idle = setTimeout(
      () => abort(new PeerRequestError("timeout", this.id, `snapshot upload made no progress for ${this.ctx.limits.snapshotIdleTimeoutMs} ms`)),
      this.ctx.limits.snapshotIdleTimeoutMs,
    );
    try {
      const size = (await fh.stat()).size;
      const delay = this.ctx.delayMs();
      if (delay > 0) await Bun.sleep(delay);
      if (failure !== null) throw failure;
      const preamble = encodeSnapshotPreamble(msg, size);
      session = connect(origin);
      session.on("error", (e) => this.noteError(`snapshot session: ${e.message}`));
      const stream = session.request(
        this.headers(ROUTE_SNAPSHOT, { "content-type": CONTENT_TYPE_SNAPSHOT, "content-length": preamble.length + size }),
      );
      const response = collectResponse(stream);
      response.catch(() => {});
      // If the stream dies mid-upload, the peer's answer (e.g. 401, 400) is the better explanation.
      const streamGone = async (): Promise<never> => {
        const answer = await response.catch(() => null);
        if (failure === null && answer !== null && (answer.status < 200 || answer.status > 299)) {
          throw new PeerRequestError("status", this.id, `snapshot refused: ${answer.status} ${answer.body.slice(0, 200)}`, answer.status);
        }
        throw failure ?? new PeerRequestError("reset", this.id, `snapshot stream closed early: ${this.lastError ?? "reset"}`);
      };

      if (!stream.write(preamble)) await waitDrain(stream).catch(streamGone);
      let position = 0;
      while (position < size) {
        const chunk = Buffer.allocUnsafe(Math.min(this.ctx.limits.snapshotChunkBytes, size - position));
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) {
          stream.close(constants.NGHTTP2_CANCEL);
          throw new PeerRequestError("invalid", this.id, `snapshot file shrank to ${position} bytes while sending (expected ${size})`);
        }
        position += bytesRead;
        if (stream.destroyed) await streamGone();
        const more = stream.write(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
        idle.refresh();
        this.snapshotBytesSent += bytesRead;
        if (!more) await waitDrain(stream).catch(streamGone);
      }
      stream.end();
      idle.refresh();
      const { status, body } = await response.catch(streamGone);
      this.markHealthy();
      if (status < 200 || status > 299) {
        throw new PeerRequestError("status", this.id, `snapshot refused: ${status} ${body.slice(0, 200)}`, status);
      }
      this.snapshotsSent++;
    } catch (e) {
      const err = e instanceof PeerRequestError ? e : new PeerRequestError("reset", this.id, `snapshot upload failed: ${(e as Error).message}`);
      this.noteError(err.message);
      throw err;
    } finally {
      clearTimeout(idle);
      this.openCalls.delete(abort);
      session?.close();
      await fh.close().catch(() => {});
    }
  }

  // ---------------------------------------------------------------------------
  // Session lifecycle.
  // ---------------------------------------------------------------------------

  private ensureSession(): ClientHttp2Session | null {
    if (this.state === "closed" || this.state === "backoff" || this.origin === null) return null;
    if (this.session !== null) return this.session;
    const s = connect(this.origin);
    this.session = s;
    this.state = "connecting";
    this.sessions++;
    const connectTimer = setTimeout(() => {
      if (this.session === s && this.state === "connecting") this.failSession(s, `connect timed out after ${this.ctx.limits.connectTimeoutMs} ms`);
    }, this.ctx.limits.connectTimeoutMs);
    s.once("connect", () => {
      clearTimeout(connectTimer);
      if (this.session === s) this.state = "connected";
    });
    s.on("error", (e: Error) => this.noteError(e.message));
    s.on("goaway", () => {
      // The peer is shutting this session down; let its open streams finish and use a fresh one from now on.
      if (this.session === s) {
        this.session = null;
        this.state = "idle";
      }
    });
    s.on("close", () => {
      clearTimeout(connectTimer);
      if (this.postsOnly === s) this.postsOnly = null;
      if (this.stream?.session === s) {
        this.stream.close();
        this.stream = null;
      }
      if (this.session !== s) return;
      this.session = null;
      if (this.state !== "closed") this.enterBackoff();
    });
    return s;
  }

  private failSession(s: ClientHttp2Session, reason: string): void {
    this.noteError(reason);
    s.destroy();
  }

  private enterBackoff(): void {
    this.failures++;
    this.state = "backoff";
    this.droppedMessages += this.queuedMessages;
    this.dropQueued();
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (this.state === "backoff") this.state = "idle";
    }, this.backoffDelay(this.failures));
  }

  /** Doubling from backoffBaseMs up to backoffMaxMs, jittered over the upper half. */
  private backoffDelay(failures: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.ctx.limits;
    const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(failures - 1, 20));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  /** Any HTTP response proves the peer is up and speaks our protocol. */
  private markHealthy(): void {
    this.failures = 0;
  }

  /** Forgets every queued message (the caller counts them as dropped if they were). */
  private dropQueued(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.outbox = [];
    this.outboxHead = 0;
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    for (const timer of this.releaseTimers) clearTimeout(timer);
    this.releaseTimers.clear();
  }

  private unreachable(): PeerRequestError {
    if (this.state === "closed") return new PeerRequestError("closed", this.id, "transport stopped");
    if (this.state === "invalid") return new PeerRequestError("invalid", this.id, this.lastError ?? "invalid raft address");
    return new PeerRequestError("unreachable", this.id, `unreachable (${this.lastError ?? "reconnecting"})`);
  }

  private noteError(message: string): void {
    this.errors++;
    this.lastError = message;
  }

  private headers(path: string, extra: OutgoingHttpHeaders): OutgoingHttpHeaders {
    const h: OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": path,
      [HEADER_FROM]: this.ctx.self,
      [HEADER_TO]: this.id,
      ...extra,
    };
    if (this.ctx.secret !== null) {
      h[HEADER_SECRET] = this.ctx.secret;
      // Never-indexed (RFC 7541 §7.1.3): keeps the secret out of HPACK tables.
      (h as Record<symbol, unknown>)[sensitiveHeaders] = [HEADER_SECRET];
    }
    return h;
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.droppedMessages += this.queuedMessages;
    this.dropQueued();
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    if (this.streamRetryTimer !== null) clearTimeout(this.streamRetryTimer);
    this.stream?.close();
    this.stream = null;
    for (const abort of [...this.openCalls]) abort(new PeerRequestError("closed", this.id, "transport stopped"));
    this.requestWaiters = [];
    const s = this.session;
    this.session = null;
    s?.destroy();
  }

  stats(): PeerLinkStats {
    return {
      id: this.id,
      raftAddr: this.raftAddr,
      state: this.state,
      connected: this.state === "connected",
      sessions: this.sessions,
      streamState: this.stream !== null ? (this.stream.state === "ended" ? "none" : this.stream.state) : this.postsOnly !== null && this.postsOnly === this.session ? "posts" : "none",
      streams: this.streams,
      sentMessages: this.sentMessages,
      sentBatches: this.sentBatches,
      sentBytes: this.sentBytes,
      droppedMessages: this.droppedMessages,
      errors: this.errors,
      inflightBatches: this.inflight,
      peakInflightBatches: this.peakInflight,
      queuedMessages: this.queuedMessages,
      requests: this.requests,
      requestErrors: this.requestErrors,
      queuedRequests: this.requestWaiters.length,
      snapshotsSent: this.snapshotsSent,
      snapshotBytesSent: this.snapshotBytesSent,
      lastError: this.lastError,
    };
  }
}

function plainHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

function toUint8Array(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function waitDrain(stream: ClientHttp2Stream): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off("drain", onDrain);
      stream.off("close", onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error("stream closed"));
    };
    stream.on("drain", onDrain);
    stream.on("close", onClose);
  });
}

/** Status and (truncated) body text of a response; rejects if the stream closes without one. */
function collectResponse(stream: ClientHttp2Stream): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = "";
    let ended = false;
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (chunk: Buffer) => {
      if (body.length < ERROR_BODY_BYTES) body += chunk.toString("utf8");
    });
    stream.on("end", () => {
      ended = true;
    });
    stream.on("error", () => {});
    stream.on("close", () => {
      if (status > 0 && ended) resolve({ status, body });
      else reject(new Error("stream closed without a response"));
    });
  });
}
