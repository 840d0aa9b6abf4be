/**
 * The sending side of one POST /raft/stream: a request that stays open and
 * carries every frame the link writes (stream-framing.ts), on the link's
 * node:http2 session. Creating a request per batch costs far more CPU in
 * Bun's node:http2 client than writing into an open one.
 *
 * Without a per-batch answer, a dead or stalled peer is noticed by:
 * - acceptance: the peer answers 200 as soon as it sees the request;
 * - flow control: a write the peer does not drain (it stopped reading);
 * - pings: writes not followed by an answered HTTP/2 PING (connection dead);
 * each within `stallMs`. Idle streams get a keepalive frame every
 * `keepaliveMs`, which keeps the server's idle timeout away and lets the pings
 * check the connection on quiet links too.
 */
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from "node:http2";
import { KEEPALIVE_FRAME } from "./stream-framing.ts";

export type OutboundStreamEnd =
  | { readonly kind: "unsupported"; readonly status: number } // 404/405: the peer predates the stream route
  | { readonly kind: "refused"; readonly status: number; readonly message: string } // any other non-200 answer
  | { readonly kind: "closed"; readonly message: string } // the peer ended or reset the stream, or the session failed
  | { readonly kind: "stalled"; readonly message: string }; // not accepted, not drained or pings unanswered in time

export interface OutboundStreamEvents {
  /** The peer accepted the stream: frames may be written. */
  readonly onOpen: () => void;
  /** A write had returned false and the stream is writable again. */
  readonly onDrain: () => void;
  /** Called once, unless close() was called first. */
  readonly onEnd: (end: OutboundStreamEnd) => void;
}

export interface OutboundStreamTimeouts {
  readonly stallMs: number;
  readonly keepaliveMs: number;
}

const PREAMBLE = "open\n";
const REASON_CHARS = 4096;

export class OutboundMessageStream {
  private readonly stream: ClientHttp2Stream;
  private accepted = false;
  private ended = false;
  private blocked = false;
  private status = 0;
  private answer = "";

  private readonly openedAt: number;
  private blockedSince = 0;
  private lastWriteAt = 0;
  /** Earliest write not yet confirmed by an answered ping (0: all confirmed). */
  private unconfirmedSince = 0;
  /** First write after the outstanding ping left (it needs the next ping). */
  private firstWriteAfterPing = 0;
  private pingOutstanding = false;
  private lastPingAt = -Infinity;
  private readonly pingIntervalMs: number;
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private keepalive: ReturnType<typeof setInterval> | null = null;

  /** Throws if the session cannot open a stream (it is closing or destroyed). */
  constructor(
    readonly session: ClientHttp2Session,
    headers: OutgoingHttpHeaders,
    private readonly timeouts: OutboundStreamTimeouts,
    private readonly events: OutboundStreamEvents,
  ) {
    // Spread over the stall window so a write is confirmed well before its deadline.
    this.pingIntervalMs = Math.min(1_000, timeouts.stallMs / 4);
    this.openedAt = performance.now();
    this.stream = session.request(headers, { endStream: false });
    this.armWatchdog(this.openedAt);
    this.stream.on("response", (h) => {
      this.status = Number(h[":status"]);
      if (this.status !== 200 || this.ended) return;
      this.accepted = true;
      this.keepalive = setInterval(() => this.keepAlive(), timeouts.keepaliveMs);
      this.events.onOpen();
    });
    this.stream.on("data", (chunk: Buffer) => {
      if (this.answer.length < REASON_CHARS) this.answer += chunk.toString("utf8");
    });
    this.stream.on("drain", () => {
      if (!this.blocked || this.ended) return;
      this.blocked = false;
      this.blockedSince = 0;
      this.events.onDrain();
    });
    this.stream.on("error", () => {});
    // The peer closes its side only to end the stream (its reason is in the body); ours follows.
    this.stream.on("end", () => this.peerEnded());
    this.stream.on("close", () => this.peerEnded());
  }

  /** Accepted and not waiting for a drain. */
  get writable(): boolean {
    return this.accepted && !this.blocked && !this.ended;
  }

  get state(): "opening" | "open" | "blocked" | "ended" {
    return this.ended ? "ended" : !this.accepted ? "opening" : this.blocked ? "blocked" : "open";
  }

  /** Only while writable. Returns false when the stream wants a drain (onDrain) before more. */
  write(frame: Uint8Array): boolean {
    const now = performance.now();
    this.lastWriteAt = now;
    if (this.unconfirmedSince === 0) {
      this.unconfirmedSince = now;
      this.armWatchdog(now);
      this.schedulePing(now);
    } else if (this.pingOutstanding && this.firstWriteAfterPing === 0) {
      this.firstWriteAfterPing = now;
    }
    if (this.stream.write(frame)) return true;
    this.blocked = true;
    this.blockedSince = now;
    this.armWatchdog(now);
    return false;
  }

  /** Ends the request (the peer sees a clean end of stream); no onEnd follows. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    try {
      this.stream.end();
    } catch {
      // The session is already gone.
    }
  }

  private peerEnded(): void {
    if (this.ended) return;
    const answer = this.answer.startsWith(PREAMBLE) ? this.answer.slice(PREAMBLE.length) : this.answer;
    const reason = answer.trim().slice(0, 500);
    let end: OutboundStreamEnd;
    if (this.status === 404 || this.status === 405) end = { kind: "unsupported", status: this.status };
    else if (this.status !== 0 && this.status !== 200) end = { kind: "refused", status: this.status, message: reason };
    else if (reason.length > 0) end = { kind: "closed", message: `peer closed the message stream: ${reason}` };
    else if (this.stream.rstCode !== undefined && this.stream.rstCode !== 0) end = { kind: "closed", message: `message stream reset (code ${this.stream.rstCode})` };
    else end = { kind: "closed", message: this.session.destroyed ? "session closed" : "peer ended the message stream" };
    this.fail(end);
  }

  private fail(end: OutboundStreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    if (!this.stream.closed) {
      try {
        this.stream.close();
      } catch {
        // The session is already gone.
      }
    }
    this.events.onEnd(end);
  }

  private keepAlive(): void {
    if (this.writable && performance.now() - this.lastWriteAt >= this.timeouts.keepaliveMs) this.write(KEEPALIVE_FRAME);
  }

  private schedulePing(now: number): void {
    if (this.pingOutstanding || this.pingTimer !== null) return;
    const wait = this.lastPingAt + this.pingIntervalMs - now;
    if (wait <= 0) {
      this.sendPing(now);
      return;
    }
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      if (!this.ended && this.unconfirmedSince !== 0) this.sendPing(performance.now());
    }, Math.ceil(wait));
  }

  private sendPing(now: number): void {
    this.pingOutstanding = true;
    this.lastPingAt = now;
    this.firstWriteAfterPing = 0;
    try {
      this.session.ping((err) => this.pingAnswered(err));
    } catch {
      // A closing session cannot ping; its close ends this stream (or the watchdog does).
      this.pingOutstanding = false;
    }
  }

  private pingAnswered(err: Error | null | undefined): void {
    this.pingOutstanding = false;
    // A failed ping means the session is going away; its close ends this stream.
    if (err || this.ended) return;
    // Frames written before the ping left went ahead of it on the same connection.
    this.unconfirmedSince = this.firstWriteAfterPing;
    this.firstWriteAfterPing = 0;
    if (this.unconfirmedSince !== 0) this.schedulePing(performance.now());
  }

  /** One timer serves every deadline: a condition that starts later never has an earlier deadline. */
  private armWatchdog(from: number): void {
    if (this.watchdog !== null || this.ended) return;
    this.watchdog = setTimeout(() => this.checkDeadlines(), Math.max(1, Math.ceil(from + this.timeouts.stallMs - performance.now())));
  }

  private checkDeadlines(): void {
    this.watchdog = null;
    if (this.ended) return;
    const now = performance.now();
    const stall = this.timeouts.stallMs;
    if (!this.accepted && now - this.openedAt >= stall) {
      this.fail({ kind: "stalled", message: `message stream not accepted within ${stall} ms` });
    } else if (this.blockedSince !== 0 && now - this.blockedSince >= stall) {
      this.fail({ kind: "stalled", message: `message stream not drained within ${stall} ms (the peer stopped reading)` });
    } else if (this.unconfirmedSince !== 0 && now - this.unconfirmedSince >= stall) {
      this.fail({ kind: "stalled", message: `peer did not answer a ping within ${stall} ms of a write` });
    } else {
      const starts = [this.accepted ? Infinity : this.openedAt, this.blockedSince || Infinity, this.unconfirmedSince || Infinity];
      const earliest = Math.min(...starts);
      if (earliest !== Infinity) this.armWatchdog(earliest);
    }
  }

  private clearTimers(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    if (this.keepalive !== null) clearInterval(this.keepalive);
    this.watchdog = this.pingTimer = this.keepalive = null;
  }
}
