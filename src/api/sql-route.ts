/** POST /sql: the write-up's JSON API (docs/http-api.md). */
import { Hono } from "hono";
import { getQueryParam } from "hono/utils/url";
import type { CommandOutcome, StatementResult } from "../db/command.ts";
import type { Durability } from "../raft/types.ts";
import type { ReadLevel, SqlService } from "../node/sql-service.ts";
import { jsonError, serviceErrorResponse } from "./error-response.ts";
import { readJsonRequest } from "./json-body.ts";
import { parseDurationMs, parseSqlRequest, statementsOf } from "./sql-request.ts";
import { plainResultJson, stringifyExact, typedResult } from "./sql-json.ts";
import type { Authenticator } from "./auth/bearer-auth.ts";

const LEVELS: readonly ReadLevel[] = ["none", "weak", "linearizable", "strong"];
const SYNCS: readonly Durability[] = ["majority", "remote-region", "all"];
export const BOOKMARK_HEADER = "x-quorumlite-bookmark";

export interface SqlRouteOptions {
  readonly defaultLevel: ReadLevel;
  /** Without it every request may read and write. */
  readonly auth?: Authenticator;
  /** Counts requests by kind for /metrics. */
  readonly onRequest?: (kind: "read" | "write", ok: boolean) => void;
  /** The answer to an unexpected exception; without it the exception propagates (to Hono's onError). */
  readonly onInternalError?: (e: Error) => Response;
}

export function sqlRoutes(service: SqlService, opts: SqlRouteOptions): Hono {
  const handle = sqlHandler(service, opts);
  const app = new Hono();
  app.post("/sql", (c) => handle(c.req.raw));
  return app;
}

/**
 * POST /sql as a plain fetch handler, so the node's app can call it without
 * generic routing (see createApi).
 */
export function sqlHandler(service: SqlService, opts: SqlRouteOptions): (req: Request) => Promise<Response> {
  // A Response copies the Headers it is given, so one instance serves every answer at the same index
  // (under a read load, nearly all of them): cheaper than a headers object per response.
  let lastIndex = -1;
  let lastHeaders = new Headers();
  const successHeaders = (index: number): Headers => {
    if (index !== lastIndex) {
      lastHeaders = new Headers({ "content-type": "application/json", [BOOKMARK_HEADER]: String(index) });
      lastIndex = index;
    }
    return lastHeaders;
  };
  return async (req) => {
    try {
      const headers = req.headers;
      const header = (name: string) => headers.get(name) ?? undefined;
      const auth = opts.auth ? await opts.auth.authenticate(headers.get("authorization")) : RW;
      if (!auth.ok) return jsonError(401, { message: auth.message, code: auth.code });
      const body = await readJsonRequest(req);
      if (!body.ok) return jsonError(body.status, { message: body.message, code: body.status === 413 ? "too-large" : "bad-request" });
      const parsed = parseSqlRequest(body.value);
      if (!parsed.ok) return jsonError(400, { message: parsed.message, code: "bad-request" });

      const query = queryOf(req.url);
      const q = (name: string, headerName: string) => query(name) ?? header(headerName);
      const level = q("level", "x-quorumlite-level") ?? opts.defaultLevel;
      if (!LEVELS.includes(level as ReadLevel)) return jsonError(400, { message: `level must be one of ${LEVELS.join(", ")}; got "${level}"`, code: "bad-request" });
      const sync = q("sync", "x-quorumlite-sync") ?? "majority";
      if (!SYNCS.includes(sync as Durability)) return jsonError(400, { message: `sync must be one of ${SYNCS.join(", ")}; got "${sync}"`, code: "bad-request" });
      const freshnessText = q("freshness", "x-quorumlite-freshness");
      const freshnessMs = freshnessText === undefined ? undefined : parseDurationMs(freshnessText);
      if (freshnessMs === null) return jsonError(400, { message: `freshness must be a duration like 500ms or 2s; got "${freshnessText}"`, code: "bad-request" });
      const bookmarkText = header(BOOKMARK_HEADER);
      const bookmark = bookmarkText === undefined ? undefined : Number(bookmarkText);
      if (bookmark !== undefined && (!Number.isSafeInteger(bookmark) || bookmark < 0)) return jsonError(400, { message: `${BOOKMARK_HEADER} must be a non-negative integer`, code: "bad-request" });
      const requestId = header("x-quorumlite-request-id");
      if (requestId !== undefined && (requestId.length === 0 || requestId.length > 128)) return jsonError(400, { message: "x-quorumlite-request-id must be 1–128 characters", code: "bad-request" });
      const typed = query("format") === "typed";

      let request: ReturnType<typeof statementsOf>;
      try {
        request = statementsOf(parsed.value);
      } catch (e) {
        return jsonError(400, { message: (e as Error).message, code: "bad-request" });
      }
      const { statements, single, transaction } = request;
      const isRead = statements.every((s) => service.isReadOnly(s.sql));
      if (!isRead && auth.access === "ro") return jsonError(403, { message: "this token is read-only; writes are refused", code: "AUTH_READ_ONLY" });
      try {
        let results: readonly StatementResult[];
        let index: number;
        if (isRead) {
          const r = await service.read(
            statements.map((stmt) => ({ stmt })),
            { level: level as ReadLevel, freshnessMs, bookmark },
          );
          index = r.bookmark;
          const failed = r.outcome.steps.findIndex((s) => s === null || !s.ok);
          if (failed >= 0) {
            const step = r.outcome.steps[failed];
            const error = step && !step.ok ? step.error : { message: "statement not executed", code: "SQLITE_ERROR" };
            opts.onRequest?.("read", false);
            return jsonError(400, { ...error, statement_index: failed }, { [BOOKMARK_HEADER]: String(index) });
          }
          results = r.outcome.steps.map((s) => (s as { ok: true; result: StatementResult }).result);
        } else {
          const r = await service.write(
            { kind: "statements", statements, transaction, ...(requestId ? { requestId } : {}) },
            { durability: sync as Durability },
          );
          index = r.bookmark;
          const failure = outcomeError(r.outcome);
          if (failure) {
            opts.onRequest?.("write", false);
            return jsonError(400, failure, { [BOOKMARK_HEADER]: String(index) });
          }
          results = resultsOf(r.outcome);
        }
        opts.onRequest?.(isRead ? "read" : "write", true);
        return new Response(typed ? typedPayload(results, single, !isRead) : plainPayload(results, single, !isRead), { headers: successHeaders(index) });
      } catch (e) {
        opts.onRequest?.(isRead ? "read" : "write", false);
        return serviceErrorResponse(e);
      }
    } catch (e) {
      if (e instanceof Error && opts.onInternalError) return opts.onInternalError(e);
      throw e;
    }
  };
}

const RW = { ok: true, access: "rw" } as const;

const NO_QUERY = (): undefined => undefined;

/**
 * Reads query parameters exactly as Hono's c.req.query(name) does (the first
 * value; "" for a name without "="). A URL with a fragment or with anything
 * percent- or plus-encoded goes to Hono's own reader; the rest is read with
 * one split, without the regular expressions Hono runs per lookup.
 */
function queryOf(url: string): (name: string) => string | undefined {
  const start = url.indexOf("?", 8);
  if (start === -1) return NO_QUERY;
  if (url.indexOf("#", 8) !== -1 || url.indexOf("%") !== -1 || url.indexOf("+") !== -1) return (name) => getQueryParam(url, name) as string | undefined;
  const parts = url.slice(start + 1).split("&");
  return (name) => {
    for (const part of parts) {
      if (!part.startsWith(name)) continue;
      if (part.length === name.length) return "";
      if (part.charCodeAt(name.length) === 61 /* = */) return part.slice(name.length + 1);
    }
    return undefined;
  };
}

/** The success body, as stringifyExact would write `{success: true, result | results}` of plainResult shapes. */
function plainPayload(results: readonly StatementResult[], single: boolean, isWrite: boolean): string {
  if (single) return `{"success":true,"result":${plainResultJson(results[0]!, isWrite)}}`;
  let out = '{"success":true,"results":[';
  for (let i = 0; i < results.length; i++) out += (i > 0 ? "," : "") + plainResultJson(results[i]!, isWrite);
  return `${out}]}`;
}

function typedPayload(results: readonly StatementResult[], single: boolean, isWrite: boolean): string {
  const shaped = results.map((r) => typedResult(r, isWrite));
  return stringifyExact(single ? { success: true, result: shaped[0] } : { success: true, results: shaped });
}

function outcomeError(o: CommandOutcome): { message: string; code: string; statement_index: number } | null {
  if (o.kind === "statements") {
    if (o.ok) return null;
    const e = o.error ?? { message: "statement failed", code: "SQLITE_ERROR", statementIndex: o.results.length };
    return { message: e.message, code: e.code, statement_index: e.statementIndex };
  }
  const i = o.steps.findIndex((s) => s === null || !s.ok);
  if (i < 0) return null;
  const s = o.steps[i];
  return s && !s.ok ? { ...s.error, statement_index: i } : { message: "statement not executed", code: "SQLITE_ERROR", statement_index: i };
}

function resultsOf(o: CommandOutcome): readonly StatementResult[] {
  if (o.kind === "statements") return o.results;
  return o.steps.map((s) => (s && s.ok ? s.result : { columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null }));
}
