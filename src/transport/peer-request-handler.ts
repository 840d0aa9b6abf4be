/**
 * The receiving side of the peer protocol: a fetch handler for Bun.serve
 * (HTTP/2 h2c or HTTP/1.1, the handler cannot tell and does not care).
 *
 *   POST /raft/stream        body: frames (stream-framing.ts), open-ended → 200 at once, body ends when the stream does
 *   POST /raft/messages      body: message batch (message-codec.ts)     → 204
 *   POST /raft/rpc/<path>    body: opaque bytes → onRequest's answer
 *   POST /raft/snapshot      body: snapshot upload (snapshot-framing.ts) → 204 once onSnapshot resolved
 *
 * Every request needs the cluster secret (when configured) and the sender's
 * id; errors are JSON `{"error": "..."}`.
 */
import type { Message, NodeId, SnapshotMsg } from "../raft/types.ts";
import { ArrivalOrder } from "./arrival-order.ts";
import { ClusterSecret } from "./cluster-secret.ts";
import { InboundMessageStream } from "./inbound-message-stream.ts";
import { decodeMessages } from "./message-codec.ts";
import { HEADER_FROM, HEADER_SECRET, HEADER_TO, ROUTE_MESSAGES, ROUTE_RPC_PREFIX, ROUTE_SNAPSHOT, ROUTE_STREAM } from "./peer-protocol.ts";
import { openSnapshotUpload } from "./snapshot-framing.ts";
import type { TransportLimits } from "./transport-limits.ts";
import { WireFormatError } from "./wire-format-error.ts";
import { MAX_NODE_ID_BYTES } from "./wire-limits.ts";

export interface RpcReply {
  readonly status: number;
  readonly body: Uint8Array;
  readonly headers?: Record<string, string>;
}

export interface PeerHandlerOptions {
  readonly self: NodeId;
  readonly clusterSecret: string | null;
  readonly limits: TransportLimits;
  /** Sanitized simulated latency towards a node; applied to RPC and snapshot answers. */
  readonly delayMs: (to: NodeId) => number;
  readonly onMessages: (msgs: Message[]) => void;
  readonly onRequest?: (path: string, from: NodeId, body: Uint8Array) => Promise<RpcReply>;
  readonly onSnapshot?: (from: NodeId, msg: SnapshotMsg, data: ReadableStream<Uint8Array>) => Promise<void>;
}

export interface ReceivedStats {
  readonly messages: number;
  /** Batches: POST bodies plus stream frames (keepalives not counted). */
  readonly batches: number;
  readonly bytes: number;
  /** Message streams (POST /raft/stream) this sender opened. */
  readonly streams: number;
  readonly requests: number;
  readonly snapshots: number;
  /** Requests from this sender answered with 4xx/5xx, and streams closed over a bad frame. */
  readonly rejected: number;
}

const MAX_TRACKED_SENDERS = 1024;

interface SenderStats {
  messages: number;
  batches: number;
  bytes: number;
  streams: number;
  requests: number;
  snapshots: number;
  rejected: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function jsonError(status: number, message: string): Response {
  return Response.json({ error: message }, { status });
}

export class PeerRequestHandler {
  /** Per sender: batches reach onMessages in the order they arrived. */
  private readonly orders = new Map<NodeId, ArrivalOrder>();
  /** Per sender: its current message stream (a newer one supersedes it, so two never interleave). */
  private readonly inbound = new Map<NodeId, InboundMessageStream>();
  private readonly received = new Map<NodeId, SenderStats>();
  private unauthorized = 0;
  private readonly secret: ClusterSecret;

  constructor(private readonly opts: PeerHandlerOptions) {
    this.secret = new ClusterSecret(opts.clusterSecret);
  }

  /** For Bun.serve's `fetch`. Never throws. */
  readonly fetch = async (req: Request): Promise<Response> => {
    const presented = req.headers.get(HEADER_SECRET);
    if (!this.secret.matches(presented)) {
      this.unauthorized++;
      req.body?.cancel().catch(() => {});
      return jsonError(401, presented === null ? "missing cluster secret" : "wrong cluster secret");
    }
    const from = req.headers.get(HEADER_FROM);
    if (from === null || from.length === 0 || Buffer.byteLength(from) > MAX_NODE_ID_BYTES) {
      return jsonError(400, `missing or invalid ${HEADER_FROM} header`);
    }
    const to = req.headers.get(HEADER_TO);
    if (to !== null && to !== this.opts.self) {
      // The address now belongs to another node (e.g. a replaced machine): do not let Raft see it.
      return this.reject(from, 421, `this is node ${this.opts.self}, not ${to}`);
    }
    if (req.method !== "POST") return this.reject(from, 405, `method ${req.method} not allowed`);
    const pathAndQuery = pathOf(req.url);
    try {
      if (pathAndQuery === ROUTE_STREAM) return this.messageStream(req, from);
      if (pathAndQuery === ROUTE_MESSAGES) return await this.messages(req, from);
      if (pathAndQuery === ROUTE_SNAPSHOT) return await this.snapshot(req, from);
      if (pathAndQuery.startsWith(ROUTE_RPC_PREFIX) && pathAndQuery.length > ROUTE_RPC_PREFIX.length) {
        return await this.rpc(req, from, pathAndQuery.slice(ROUTE_RPC_PREFIX.length));
      }
      return this.reject(from, 404, `no route ${pathAndQuery}`);
    } catch (e) {
      if (e instanceof HttpError) return this.reject(from, e.status, e.message);
      if (e instanceof WireFormatError) return this.reject(from, 400, e.message);
      return this.reject(from, 500, e instanceof Error ? e.message : String(e));
    }
  };

  private async messages(req: Request, from: NodeId): Promise<Response> {
    let order = this.orders.get(from);
    if (order === undefined) {
      order = new ArrivalOrder(this.opts.limits.messageTimeoutMs);
      this.orders.set(from, order);
    }
    const slot = order.enter();
    let bytes: Uint8Array;
    try {
      bytes = await readBody(req, this.opts.limits.maxMessageBodyBytes);
    } catch (e) {
      order.finish(slot, () => {});
      throw e;
    }
    let failure: unknown = null;
    await new Promise<void>((resolve) =>
      order.finish(slot, () => {
        try {
          this.deliver(from, bytes);
        } catch (e) {
          failure = e;
        }
        resolve();
      }),
    );
    if (order.waiting === 0 && this.orders.get(from) === order) this.orders.delete(from);
    if (failure !== null) throw failure;
    return new Response(null, { status: 204 });
  }

  /**
   * Answers 200 at once and delivers frames while they arrive; the response ends when the
   * sender ends the stream, or carries the reason when this side closes it over a bad frame.
   */
  private messageStream(req: Request, from: NodeId): Response {
    if (req.body === null) throw new HttpError(400, "empty message stream");
    const r = this.stat(from);
    r.streams++;
    const stream = new InboundMessageStream(
      req.body,
      this.opts.limits.maxMessageBodyBytes,
      (batch) => this.deliver(from, batch, r),
      (end) => {
        if (this.inbound.get(from) === stream) this.inbound.delete(from);
        if (end.kind === "refused") r.rejected++;
      },
    );
    this.inbound.get(from)?.supersede();
    this.inbound.set(from, stream);
    return stream.response;
  }

  private deliver(from: NodeId, bytes: Uint8Array, r: SenderStats = this.stat(from)): void {
    const msgs = decodeMessages(bytes);
    const self = this.opts.self;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (m.from !== from || m.to !== self) {
        throw new WireFormatError(`message ${m.from}→${m.to} does not belong on the link ${from}→${self}`);
      }
    }
    r.messages += msgs.length;
    r.batches++;
    r.bytes += bytes.length;
    if (msgs.length > 0) this.opts.onMessages(msgs);
  }

  private async rpc(req: Request, from: NodeId, path: string): Promise<Response> {
    const handler = this.opts.onRequest;
    if (handler === undefined) {
      req.body?.cancel().catch(() => {});
      throw new HttpError(404, "this node serves no RPCs");
    }
    const body = await readBody(req, this.opts.limits.maxRpcBodyBytes);
    this.stat(from).requests++;
    const reply = await handler(path, from, body);
    await this.delayAnswer(from);
    return new Response(reply.body, { status: reply.status, headers: reply.headers });
  }

  private async snapshot(req: Request, from: NodeId): Promise<Response> {
    const handler = this.opts.onSnapshot;
    if (handler === undefined || req.body === null) {
      req.body?.cancel().catch(() => {});
      throw new HttpError(handler === undefined ? 404 : 400, handler === undefined ? "this node accepts no snapshots" : "empty snapshot upload");
    }
    const upload = await openSnapshotUpload(req.body);
    if (upload.msg.from !== from || upload.msg.to !== this.opts.self) {
      upload.data.cancel().catch(() => {});
      throw new WireFormatError(`snapshot ${upload.msg.from}→${upload.msg.to} does not belong on the link ${from}→${this.opts.self}`);
    }
    await handler(from, upload.msg, upload.data);
    if (upload.delivered() !== upload.fileSize) {
      throw new HttpError(500, `snapshot handler returned after reading ${upload.delivered()} of ${upload.fileSize} bytes`);
    }
    this.stat(from).snapshots++;
    await this.delayAnswer(from);
    return new Response(null, { status: 204 });
  }

  private async delayAnswer(to: NodeId): Promise<void> {
    const ms = this.opts.delayMs(to);
    if (ms > 0) await Bun.sleep(ms);
  }

  private reject(from: NodeId, status: number, message: string): Response {
    this.stat(from).rejected++;
    return jsonError(status, message);
  }

  private stat(sender: NodeId): SenderStats {
    // Sender ids come from a header: past a sane cluster size, pool them instead of growing without bound.
    const from = this.received.size >= MAX_TRACKED_SENDERS && !this.received.has(sender) ? "(other)" : sender;
    let r = this.received.get(from);
    if (r === undefined) {
      r = { messages: 0, batches: 0, bytes: 0, streams: 0, requests: 0, snapshots: 0, rejected: 0 };
      this.received.set(from, r);
    }
    return r;
  }

  stats(): { readonly unauthorized: number; readonly from: Readonly<Record<NodeId, ReceivedStats>> } {
    return { unauthorized: this.unauthorized, from: Object.fromEntries([...this.received].map(([id, r]) => [id, { ...r }])) };
  }
}

/** `/path?query` of an absolute request URL, without allocating a URL object. */
function pathOf(url: string): string {
  const schemeEnd = url.indexOf("://");
  const slash = url.indexOf("/", schemeEnd < 0 ? 0 : schemeEnd + 3);
  return slash < 0 ? "/" : url.slice(slash);
}

/** The whole body, refusing (413) anything over `max` bytes before buffering it. */
async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    req.body?.cancel().catch(() => {});
    throw new HttpError(413, `body of ${declared} bytes exceeds ${max}`);
  }
  if (declared !== null) return new Uint8Array(await req.arrayBuffer());
  if (req.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > max) throw new HttpError(413, `body exceeds ${max} bytes`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
