/**
 * Raft's network: an HTTP/2 server for the peer routes (Bun.serve, h2c with
 * prior knowledge; HTTP/1.1 on the same port) and one PeerLink (a node:http2
 * client session with a long-lived message stream) per peer.
 */
import type { Message, NodeId, SnapshotMsg } from "../raft/types.ts";
import type { PeerAddress } from "./peer-address.ts";
import { PeerLink } from "./peer-link.ts";
import type { PeerLinkStats, PeerResponse } from "./peer-link.ts";
import { PeerRequestError } from "./peer-request-error.ts";
import { PeerRequestHandler } from "./peer-request-handler.ts";
import type { ReceivedStats, RpcReply } from "./peer-request-handler.ts";
import { RPC_PATH_PATTERN } from "./peer-protocol.ts";
import { DEFAULT_TRANSPORT_LIMITS } from "./transport-limits.ts";
import type { TransportLimits } from "./transport-limits.ts";

export type { PeerAddress } from "./peer-address.ts";
export type { PeerLinkStats, PeerResponse } from "./peer-link.ts";
export type { ReceivedStats, RpcReply } from "./peer-request-handler.ts";
export { PeerRequestError } from "./peer-request-error.ts";
export type { PeerRequestErrorKind } from "./peer-request-error.ts";
export type { TransportLimits } from "./transport-limits.ts";

export interface PeerTransportOptions {
  readonly self: NodeId;
  /** Where the peer server listens; port 0 picks a free port (read `port` after start()). */
  readonly listen: { readonly hostname: string; readonly port: number };
  /** Shared secret every peer request must carry; null disables authentication. */
  readonly clusterSecret: string | null;
  /**
   * Simulated one-way latency to a node, injected at the wire: outgoing
   * message batches, requests and snapshot uploads wait this long before
   * leaving, and this node's answers to RPCs and uploads wait it before
   * going back. Order per link is preserved.
   */
  readonly delayMs?: (to: NodeId) => number;
  /** Decoded, validated messages from one peer, in the order that peer sent them. */
  readonly onMessages: (msgs: Message[]) => void;
  /** Answers request() from peers (e.g. writes forwarded to the leader). Without it: 404. */
  readonly onRequest?: (path: string, from: NodeId, body: Uint8Array) => Promise<RpcReply>;
  /**
   * Receives a snapshot upload: `data` yields exactly the file's bytes (it errors if the
   * upload is cut short). Resolve once it is safely stored; the sender's sendSnapshot()
   * resolves after that. Without it: 404.
   */
  readonly onSnapshot?: (from: NodeId, msg: SnapshotMsg, data: ReadableStream<Uint8Array>) => Promise<void>;
  readonly limits?: Partial<TransportLimits>;
}

export interface TransportStats {
  readonly self: NodeId;
  readonly port: number | null;
  readonly peers: readonly PeerLinkStats[];
  /** Traffic this node's server accepted, per sender. */
  readonly received: Readonly<Record<NodeId, ReceivedStats>>;
  /** Requests refused for a missing or wrong cluster secret. */
  readonly unauthorized: number;
  /** Messages handed to send() for nodes outside the peer set (or this node itself). */
  readonly unroutable: number;
}

export class PeerTransport {
  private readonly limits: TransportLimits;
  private readonly handler: PeerRequestHandler;
  private server: ReturnType<typeof Bun.serve> | null = null;
  private readonly links = new Map<NodeId, PeerLink>();
  private unroutable = 0;
  private stopped = false;

  constructor(private readonly opts: PeerTransportOptions) {
    this.limits = { ...DEFAULT_TRANSPORT_LIMITS, ...opts.limits };
    this.handler = new PeerRequestHandler({
      self: opts.self,
      clusterSecret: opts.clusterSecret,
      limits: this.limits,
      delayMs: (to) => this.delayTo(to),
      onMessages: opts.onMessages,
      ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
      ...(opts.onSnapshot ? { onSnapshot: opts.onSnapshot } : {}),
    });
  }

  /** The port the server listens on (resolved when listen.port was 0). */
  get port(): number {
    if (this.server === null) throw new Error("transport not started");
    return this.server.port!;
  }

  /** The peer request handler, for mounting the routes on another Bun.serve if ever needed. */
  get fetch(): (req: Request) => Promise<Response> {
    return this.handler.fetch;
  }

  async start(): Promise<void> {
    if (this.server !== null) return;
    this.server = Bun.serve({
      http2: true,
      hostname: this.opts.listen.hostname,
      port: this.opts.listen.port,
      // Snapshots are GB-sized streams; the routes enforce their own per-route limits.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      development: false,
      fetch: this.handler.fetch,
      error: (e) => Response.json({ error: e.message }, { status: 500 }),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    const server = this.server;
    this.server = null;
    await server?.stop(true);
  }

  /** Replaces the peer set. Links to removed peers or changed addresses are closed; new ones connect lazily. */
  setPeers(peers: readonly PeerAddress[]): void {
    if (this.stopped) return;
    const wanted = new Map<NodeId, string>();
    for (const p of peers) if (p.id !== this.opts.self) wanted.set(p.id, p.raftAddr);
    for (const [id, link] of this.links) {
      if (wanted.get(id) !== link.raftAddr) {
        link.close();
        this.links.delete(id);
      }
    }
    for (const [id, raftAddr] of wanted) {
      if (this.links.has(id)) continue;
      const delayMs = this.opts.delayMs === undefined ? noDelay : () => this.delayTo(id);
      this.links.set(id, new PeerLink(id, raftAddr, { self: this.opts.self, secret: this.opts.clusterSecret, limits: this.limits, delayMs }));
    }
  }

  /**
   * Non-blocking and never throws. Messages queued for a peer in the same
   * tick travel as one frame on the link's message stream (one POST each for
   * peers without the stream route). Messages
   * to unknown, unreachable or backed-up peers are dropped (Raft retransmits);
   * messages to this node itself are dropped too (the runtime steps those).
   */
  send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      const link = this.links.get(m.to);
      if (link === undefined) this.unroutable++;
      else link.enqueue(m);
    }
  }

  /** An RPC to a peer's onRequest over the peer's session. Non-2xx answers resolve; transport failures reject with PeerRequestError. */
  request(to: NodeId, path: string, body: Uint8Array, timeoutMs: number): Promise<PeerResponse> {
    const link = this.links.get(to);
    if (link === undefined) return Promise.reject(new PeerRequestError(this.stopped ? "closed" : "unknown-peer", to, "not a known peer"));
    if (!RPC_PATH_PATTERN.test(path)) return Promise.reject(new PeerRequestError("invalid", to, `invalid rpc path ${JSON.stringify(path)}`));
    return link.request(path, body, timeoutMs);
  }

  /** Streams `file` to msg.to with bounded memory; resolves once the peer's onSnapshot resolved. */
  sendSnapshot(msg: SnapshotMsg, file: string): Promise<void> {
    const link = this.links.get(msg.to);
    if (link === undefined) return Promise.reject(new PeerRequestError(this.stopped ? "closed" : "unknown-peer", msg.to, "not a known peer"));
    if (msg.from !== this.opts.self) return Promise.reject(new PeerRequestError("invalid", msg.to, `snapshot message is from ${msg.from}, not ${this.opts.self}`));
    return link.sendSnapshot(msg, file);
  }

  stats(): TransportStats {
    const received = this.handler.stats();
    return {
      self: this.opts.self,
      port: this.server?.port ?? null,
      peers: [...this.links.values()].map((l) => l.stats()),
      received: received.from,
      unauthorized: received.unauthorized,
      unroutable: this.unroutable,
    };
  }

  private delayTo(to: NodeId): number {
    const f = this.opts.delayMs;
    if (f === undefined) return 0;
    let ms: number;
    try {
      ms = f(to);
    } catch {
      return 0;
    }
    return Number.isFinite(ms) && ms > 0 ? ms : 0;
  }
}

function noDelay(): number {
  return 0;
}
