/**
 * Hrana over HTTP: `GET /v2`, `POST /v2/pipeline`, `GET /v3`,
 * `POST /v3/pipeline`, `POST /v3/cursor` (JSON encoding; see README.md in
 * this folder for the behaviour and the error codes).
 */
import { Hono, type Context } from "hono";
import type { ReadLevel, SqlService } from "../../node/sql-service.ts";
import type { Access, Authenticator } from "../auth/bearer-auth.ts";
import { BatonCodec } from "./baton.ts";
import { cursorEntries } from "./cursor-entries.ts";
import { decodeCursorBody, decodePipelineBody } from "./decode.ts";
import { errorResponse, HranaHttpError, protocolError } from "./errors.ts";
import type { HranaVersion, PipelineBody, PipelineResponseBody, StreamResult } from "./protocol.ts";
import { forwardHrana, MOVED_HEADER } from "./proxy.ts";
import { requestOptions } from "./request-options.ts";
import type { HranaStream } from "./stream.ts";
import { StreamRegistry } from "./stream-registry.ts";
import { MoveToLeader, StreamExecutor, type ExecContext, type ExecutorDeps } from "./stream-executor.ts";

export type HranaAuth = Authenticator;

export interface HranaRoutesDeps {
  readonly service: SqlService;
  readonly selfId: string;
  /** HMAC key shared by the cluster (derive it from the cluster secret): every node can verify every baton. */
  readonly batonKey: Uint8Array;
  /** HTTP base URL of another node, to route a baton that belongs elsewhere; null if unknown. */
  readonly ownerUrl: (nodeId: string) => string | null;
  readonly defaultReadLevel: ReadLevel;
  /** A stream unused this long is closed (default 10 s, as sqld). */
  readonly streamIdleTimeoutMs?: number;
  /** TRANSACTION_TIMEOUT: an interactive transaction idle this long is rolled back (default 5 s). */
  readonly txIdleTimeoutMs?: number;
  /** Without it every request has read-write access. */
  readonly auth?: HranaAuth;
  /** Default 8 MiB, like /sql. */
  readonly maxBodyBytes?: number;
  readonly maxStreams?: number;
  /** For forwarding to other nodes (default: global fetch). */
  readonly fetch?: typeof fetch;
}

const DEFAULT_STREAM_IDLE_MS = 10_000;
const DEFAULT_TX_IDLE_MS = 5_000;
const DEFAULT_MAX_BODY = 8 * 1024 * 1024;
const DEFAULT_MAX_STREAMS = 4096;

function json(body: unknown, status = 200, bookmark = 0): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bookmark > 0) headers["x-quorumlite-bookmark"] = String(bookmark);
  return new Response(JSON.stringify(body), { status, headers });
}

async function readJson(req: Request, maxBytes: number): Promise<{ text: string; value: unknown }> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new HranaHttpError(413, "BODY_TOO_LARGE", `Request body exceeds ${maxBytes} bytes`);
  const buf = await req.arrayBuffer();
  if (buf.byteLength > maxBytes) throw new HranaHttpError(413, "BODY_TOO_LARGE", `Request body exceeds ${maxBytes} bytes`);
  const text = new TextDecoder().decode(buf);
  try {
    return { text, value: JSON.parse(text) };
  } catch (e) {
    throw protocolError(`Cannot deserialize the request body as JSON: ${(e as Error).message}`);
  }
}

function isPipelineResponse(v: unknown, results: number): v is PipelineResponseBody {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (o["baton"] === null || typeof o["baton"] === "string") && Array.isArray(o["results"]) && o["results"].length === results;
}

export function hranaRoutes(deps: HranaRoutesDeps): Hono {
  const codec = new BatonCodec(deps.batonKey);
  const fetcher = deps.fetch ?? fetch;
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const registry = new StreamRegistry({
    selfId: deps.selfId,
    codec,
    idleTimeoutMs: deps.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_MS,
    maxStreams: deps.maxStreams ?? DEFAULT_MAX_STREAMS,
    onDiscard: (stream) => {
      const tx = stream.tx;
      stream.tx = { kind: "none" };
      if (tx.kind === "write") void tx.tx.rollback().catch(() => undefined);
    },
  });
  const execDeps: ExecutorDeps = {
    service: deps.service,
    txIdleTimeoutMs: deps.txIdleTimeoutMs ?? DEFAULT_TX_IDLE_MS,
    // sqld allows 50 stored texts per stream; @libsql/client keeps at most 30, each under 5000 characters.
    maxStoredSql: 50,
    maxStoredSqlChars: 16_384,
  };

  async function authorize(req: Request): Promise<Access> {
    if (deps.auth === undefined) return "rw";
    const r = await deps.auth.authenticate(req.headers.get("authorization"));
    if (!r.ok) throw new HranaHttpError(r.status, r.code, r.message);
    return r.access;
  }

  function context(req: Request, version: HranaVersion, access: Access): ExecContext {
    const { read, write } = requestOptions(req, deps.defaultReadLevel);
    return { version, read, write, access, mayMove: req.headers.get(MOVED_HEADER) === null, signal: req.signal };
  }

  /** Verifies a baton: returns the local stream, or the node that owns it. */
  function locate(baton: string | null): HranaStream | { owner: string } {
    if (baton === null) return registry.open();
    const f = codec.decode(baton);
    if (f === null) throw new HranaHttpError(400, "BATON_INVALID", "Received an invalid baton");
    if (f.nodeId !== deps.selfId) return { owner: f.nodeId };
    return registry.acquire(f);
  }

  function forwardToOwner(owner: string, req: Request, path: string, body: string): Promise<Response> {
    const url = deps.ownerUrl(owner);
    if (url === null) {
      throw new HranaHttpError(503, "STREAM_OWNER_UNAVAILABLE", `The stream belongs to node ${owner}, which this node does not know`, 1);
    }
    return forwardHrana(fetcher, url, req, path, body);
  }

  const stored = (stream: HranaStream) => [...stream.sqls].map(([id, sql]) => ({ type: "store_sql", sql_id: id, sql }));

  /** The stream continues on the leader: forward what has not run yet, behind the SQL texts stored so far. */
  async function movePipeline(
    move: MoveToLeader,
    stream: HranaStream,
    body: PipelineBody,
    index: number,
    done: readonly StreamResult[],
    req: Request,
    version: HranaVersion,
    bookmark: number,
  ): Promise<Response> {
    const prefix = stored(stream);
    registry.discard(stream, "moved");
    const requests = [...prefix, ...body.rawRequests.slice(index)];
    const resp = await forwardHrana(fetcher, move.leaderUrl, req, `v${version}/pipeline`, JSON.stringify({ baton: null, requests }), true);
    if (resp.status !== 200) return resp;
    const remote: unknown = await resp.json();
    if (!isPipelineResponse(remote, requests.length)) {
      throw new HranaHttpError(503, "STREAM_OWNER_UNAVAILABLE", "The leader answered the moved stream with an unexpected body", 1);
    }
    const remoteBookmark = Number(resp.headers.get("x-quorumlite-bookmark") ?? "0") || 0;
    return json(
      { baton: remote.baton, base_url: remote.base_url ?? null, results: [...done, ...remote.results.slice(prefix.length)] },
      200,
      Math.max(bookmark, remoteBookmark),
    );
  }

  async function moveCursor(move: MoveToLeader, stream: HranaStream, rawBatch: unknown, req: Request): Promise<Response> {
    const prefix = stored(stream);
    registry.discard(stream, "moved");
    let baton: string | null = null;
    if (prefix.length > 0) {
      const resp = await forwardHrana(fetcher, move.leaderUrl, req, "v3/pipeline", JSON.stringify({ baton: null, requests: prefix }), true);
      if (resp.status !== 200) return resp;
      const remote: unknown = await resp.json();
      if (!isPipelineResponse(remote, prefix.length)) {
        throw new HranaHttpError(503, "STREAM_OWNER_UNAVAILABLE", "The leader answered the moved stream with an unexpected body", 1);
      }
      baton = remote.baton;
    }
    return forwardHrana(fetcher, move.leaderUrl, req, "v3/cursor", JSON.stringify({ baton, batch: rawBatch }), true);
  }

  /** Runs `fn` with the stream; an HTTP-level failure ends the stream (the client treats it as gone). */
  async function withStream<T>(stream: HranaStream, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof MoveToLeader)) registry.discard(stream, "failed");
      throw e;
    }
  }

  async function pipeline(c: Context, version: HranaVersion): Promise<Response> {
    const req = c.req.raw;
    try {
      const access = await authorize(req);
      const { text, value } = await readJson(req, maxBody);
      const body = decodePipelineBody(value);
      const ctx = context(req, version, access);
      const located = locate(body.baton);
      if (!("id" in located)) return await forwardToOwner(located.owner, req, `v${version}/pipeline`, text);
      const stream = located;
      const exec = new StreamExecutor(execDeps, stream, ctx);
      const results: StreamResult[] = [];
      let i = 0;
      try {
        await withStream(stream, async () => {
          for (; i < body.requests.length; i++) results.push(await exec.execute(body.requests[i]!));
        });
      } catch (e) {
        if (e instanceof MoveToLeader) return await movePipeline(e, stream, body, i, results, req, version, exec.bookmark);
        throw e;
      }
      const baton = registry.release(stream, req.signal.aborted);
      return json({ baton, base_url: null, results }, 200, exec.bookmark);
    } catch (e) {
      return failure(e);
    }
  }

  async function cursor(c: Context): Promise<Response> {
    const req = c.req.raw;
    try {
      const access = await authorize(req);
      const { text, value } = await readJson(req, maxBody);
      const body = decodeCursorBody(value);
      const ctx = context(req, 3, access);
      const located = locate(body.baton);
      if (!("id" in located)) return await forwardToOwner(located.owner, req, "v3/cursor", text);
      const stream = located;
      const exec = new StreamExecutor(execDeps, stream, ctx);
      let r: Awaited<ReturnType<StreamExecutor["runCursorBatch"]>>;
      try {
        r = await withStream(stream, () => exec.runCursorBatch(body.steps));
      } catch (e) {
        if (e instanceof MoveToLeader) return await moveCursor(e, stream, body.rawBatch, req);
        throw e;
      }
      const baton = registry.release(stream, req.signal.aborted);
      const lines = [JSON.stringify({ baton, base_url: null })];
      const wantRows = body.steps.map((s) => s.stmt.wantRows);
      for (const entry of cursorEntries(r.ok ? r.value : r.error, wantRows)) lines.push(JSON.stringify(entry));
      const headers: Record<string, string> = { "content-type": "application/x-ndjson" };
      if (exec.bookmark > 0) headers["x-quorumlite-bookmark"] = String(exec.bookmark);
      return new Response(lines.join("\n") + "\n", { status: 200, headers });
    } catch (e) {
      return failure(e);
    }
  }

  function failure(e: unknown): Response {
    if (e instanceof HranaHttpError) return errorResponse(e);
    console.error("hrana: internal error", e);
    return errorResponse(new HranaHttpError(500, "INTERNAL_ERROR", `Internal error: ${(e as Error)?.message ?? String(e)}`));
  }

  const hello = (version: HranaVersion) => () =>
    new Response(`Hello, this is HTTP API v${version} (Hrana over HTTP)`, { headers: { "content-type": "text/plain" } });

  const app = new Hono();
  app.get("/v2", hello(2));
  app.get("/v3", hello(3));
  app.post("/v2/pipeline", (c) => pipeline(c, 2));
  app.post("/v3/pipeline", (c) => pipeline(c, 3));
  app.post("/v3/cursor", (c) => cursor(c));
  return app;
}
