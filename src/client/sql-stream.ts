/**
 * An interactive SQL stream over Hrana's HTTP protocol (`POST /v2/pipeline`
 * with batons): every statement runs on the same SQLite connection on the
 * node that owns the stream, so BEGIN … COMMIT spans several round trips and
 * reads inside it see its own writes. The node runs it on the leader holding
 * the write lock and commits it as one log entry.
 *
 * A stream is not retried once it has run anything: after a leader change its
 * state is gone, and replaying statements whose results the app already acted
 * on would be wrong. Only opening it is retried.
 */
import { laterBookmark } from "./bookmark.ts";
import { QuorumliteError } from "./errors.ts";
import { httpRequest, type HttpAnswer, type HttpConfig } from "./http.ts";
import { asObject, buildResultSet, parseHranaStmtResult, type ResultSet, type Row } from "./result-set.ts";
import { retryDelayMs, sleep, type RetryPolicy } from "./retry-policy.ts";
import { parseError } from "./sql-endpoint.ts";
import { toWireStatement, type InStatement, type WireStatement } from "./statement.ts";
import type { IntMode, WireValue } from "./values.ts";

type HranaStmt = {
  readonly sql: string;
  readonly args?: readonly WireValue[];
  readonly named_args?: readonly { readonly name: string; readonly value: WireValue }[];
  readonly want_rows: boolean;
};

type HranaCondition = { readonly type: "ok"; readonly step: number };

type HranaRequest =
  | { readonly type: "execute"; readonly stmt: HranaStmt }
  | { readonly type: "batch"; readonly batch: { readonly steps: readonly { readonly stmt: HranaStmt; readonly condition?: HranaCondition }[] } }
  | { readonly type: "close" };

const COMMIT_SQL = /^\s*(COMMIT|END)\b/i;

export interface StreamContext {
  readonly http: HttpConfig;
  readonly policy: RetryPolicy;
  readonly intMode: IntMode;
  /** Where to open the stream (the leader for writes); called again when opening must be retried. */
  readonly locate: () => Promise<string>;
  readonly onUnreachable: (url: string) => void;
  /** The node refused to open the stream (503: no leader, not the leader): where to go may have changed. */
  readonly onRefused: () => void;
  /** Headers for every pipeline request (read level, bookmark for read-only streams). */
  readonly headers: Record<string, string>;
  /** Receives the bookmark of every answer (a COMMIT's is the index it committed at). */
  readonly observeBookmark: (bookmark: string | null) => void;
  /**
   * For a node that sends no bookmark with a COMMIT's answer: an index at or
   * after the commit (the node's commit index, read once the COMMIT returned).
   */
  readonly bookmarkAfterCommit: (url: string) => Promise<string | null>;
}

export class SqlStream {
  readonly #ctx: StreamContext;
  #url: string | null = null;
  #baton: string | null = null;
  #state: "new" | "open" | "closed" = "new";
  #bookmark: string | null = null;
  /** Serializes requests: Hrana requires each to wait for the previous baton. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: StreamContext) {
    this.#ctx = ctx;
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /** The latest bookmark any answer on this stream carried. */
  get bookmark(): string | null {
    return this.#bookmark;
  }

  async execute<R extends object = Row>(stmt: InStatement): Promise<ResultSet<R>> {
    const [result] = await this.#pipeline([{ type: "execute", stmt: toHranaStmt(toWireStatement(stmt)) }]);
    return this.#stmtResult<R>(result, 0);
  }

  /** Runs the statements in order in one round trip; a step runs only if the previous one succeeded. */
  async batch(stmts: readonly InStatement[]): Promise<ResultSet[]> {
    const steps = stmts.map((s, i) => ({
      stmt: toHranaStmt(toWireStatement(s)),
      ...(i === 0 ? {} : { condition: { type: "ok" as const, step: i - 1 } }),
    }));
    const [result] = await this.#pipeline([{ type: "batch", batch: { steps } }]);
    const response = okResponse(result, 0);
    const batch = asObject(response.result, "BatchResult");
    const stepResults = Array.isArray(batch.step_results) ? batch.step_results : [];
    const stepErrors = Array.isArray(batch.step_errors) ? batch.step_errors : [];
    stepErrors.forEach((error, i) => {
      if (error !== null && error !== undefined) throw hranaError(error, i);
    });
    return stmts.map((_, i) => {
      const step = stepResults[i];
      if (step === null || step === undefined) {
        throw new QuorumliteError(`batch step ${i} did not run`, { code: "QUORUMLITE_PROTOCOL", statementIndex: i });
      }
      return buildResultSet(parseHranaStmtResult(step), this.#bookmark, this.#ctx.intMode);
    });
  }

  /** Runs `stmt` and closes the stream in the same round trip (COMMIT/ROLLBACK then close). */
  async executeAndClose(stmt: InStatement): Promise<ResultSet> {
    const [result] = await this.#pipeline([{ type: "execute", stmt: toHranaStmt(toWireStatement(stmt)) }, { type: "close" }]);
    return this.#stmtResult(result, 0);
  }

  /** Ends the stream; the server rolls back a transaction left open. Never throws. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    if (this.#state === "new") {
      this.#state = "closed";
      return;
    }
    try {
      await this.#pipeline([{ type: "close" }]);
    } catch {
      // The stream is gone either way; the server expires what it still holds.
    }
    this.#state = "closed";
  }

  #pipeline(requests: readonly HranaRequest[]): Promise<unknown[]> {
    const run = this.#queue.then(() => this.#send(requests));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #send(requests: readonly HranaRequest[]): Promise<unknown[]> {
    if (this.#state === "closed") {
      throw new QuorumliteError("the stream is closed", { code: "QUORUMLITE_TRANSACTION_CLOSED" });
    }
    const answer = this.#state === "new" ? await this.#open(requests) : await this.#post(requests);
    const body = asObject(answer.json, "pipeline response");
    const baton = typeof body.baton === "string" ? body.baton : null;
    if (typeof body.base_url === "string" && body.base_url !== "") this.#url = body.base_url.replace(/\/+$/, "");
    this.#baton = baton;
    this.#state = baton === null ? "closed" : "open";
    const results = Array.isArray(body.results) ? body.results : [];
    if (results.length !== requests.length) {
      throw new QuorumliteError(`pipeline answered ${results.length} results for ${requests.length} requests`, { code: "QUORUMLITE_PROTOCOL" });
    }
    const bookmark = answer.headers.get("x-quorumlite-bookmark");
    if (bookmark === null && this.#committed(requests, results)) {
      this.#observe(await this.#ctx.bookmarkAfterCommit(this.#url!).catch(() => null));
    } else {
      this.#observe(bookmark);
    }
    return results;
  }

  /** The first request: nothing has run yet, so a refused or failed attempt can go to the (new) leader. */
  async #open(requests: readonly HranaRequest[]): Promise<HttpAnswer> {
    let lastProblem = "no attempt made";
    for (let attempt = 0; attempt <= this.#ctx.policy.retries; attempt++) {
      const url = await this.#ctx.locate();
      let answer: HttpAnswer;
      try {
        answer = await this.#request(url, requests);
      } catch (err) {
        this.#ctx.onUnreachable(url);
        lastProblem = `${url}: ${err instanceof Error ? err.message : String(err)}`;
        await sleep(retryDelayMs(this.#ctx.policy, attempt, null));
        continue;
      }
      if (answer.status >= 200 && answer.status < 300) {
        this.#url = url;
        return answer;
      }
      const error = parseError(answer);
      if (answer.status !== 503 && answer.status !== 502 && answer.status !== 504) throw error;
      this.#ctx.onRefused();
      lastProblem = `${url}: ${error.message}`;
      await sleep(retryDelayMs(this.#ctx.policy, attempt, answer.headers.get("retry-after")));
    }
    this.#state = "closed";
    throw new QuorumliteError(`could not open a stream (last: ${lastProblem})`, { code: "QUORUMLITE_UNAVAILABLE" });
  }

  async #post(requests: readonly HranaRequest[]): Promise<HttpAnswer> {
    const url = this.#url!;
    let answer: HttpAnswer;
    try {
      answer = await this.#request(url, requests);
    } catch (err) {
      this.#state = "closed";
      const committing = requests.some((r) => r.type === "execute" && COMMIT_SQL.test(r.stmt.sql));
      throw new QuorumliteError(
        committing ? "the connection failed during COMMIT: the transaction may or may not have committed" : "the connection to the stream's node failed",
        { code: committing ? "QUORUMLITE_COMMIT_UNKNOWN" : "QUORUMLITE_STREAM_LOST", cause: err },
      );
    }
    if (answer.status < 200 || answer.status >= 300) {
      // Hrana over HTTP: an HTTP error means the stream is no longer valid.
      this.#state = "closed";
      const error = parseError(answer);
      throw new QuorumliteError(`stream lost: ${error.message}`, { code: "QUORUMLITE_STREAM_LOST", status: answer.status, cause: error });
    }
    return answer;
  }

  #request(url: string, requests: readonly HranaRequest[]): Promise<HttpAnswer> {
    return httpRequest(this.#ctx.http, `${url}/v2/pipeline`, {
      method: "POST",
      headers: this.#ctx.headers,
      body: JSON.stringify({ baton: this.#baton, requests }),
    });
  }

  #committed(requests: readonly HranaRequest[], results: readonly unknown[]): boolean {
    return requests.some(
      (r, i) => r.type === "execute" && COMMIT_SQL.test(r.stmt.sql) && (results[i] as { type?: unknown } | null)?.type === "ok",
    );
  }

  #stmtResult<R extends object>(result: unknown, index: number): ResultSet<R> {
    const response = okResponse(result, index);
    return buildResultSet<R>(parseHranaStmtResult(response.result), this.#bookmark, this.#ctx.intMode);
  }

  #observe(bookmark: string | null): void {
    this.#bookmark = laterBookmark(this.#bookmark, bookmark);
    this.#ctx.observeBookmark(bookmark);
  }
}

function toHranaStmt(stmt: WireStatement): HranaStmt {
  if (stmt.args === undefined) return { sql: stmt.sql, want_rows: true };
  if (Array.isArray(stmt.args)) return { sql: stmt.sql, args: stmt.args as readonly WireValue[], want_rows: true };
  // Names go as the app wrote them (with or without `:`/`@`/`$`), as @libsql/client sends them.
  const named = Object.entries(stmt.args as Readonly<Record<string, WireValue>>).map(([name, value]) => ({ name, value }));
  return { sql: stmt.sql, named_args: named, want_rows: true };
}

function okResponse(result: unknown, index: number): Record<string, unknown> {
  const obj = asObject(result, "StreamResult");
  if (obj.type === "error") throw hranaError(obj.error, index);
  if (obj.type !== "ok") throw new QuorumliteError(`unexpected StreamResult ${JSON.stringify(result)}`, { code: "QUORUMLITE_PROTOCOL" });
  return asObject(obj.response, "StreamResponse");
}

function hranaError(error: unknown, statementIndex: number): QuorumliteError {
  const obj = typeof error === "object" && error !== null ? (error as { message?: unknown; code?: unknown }) : {};
  return new QuorumliteError(typeof obj.message === "string" ? obj.message : "statement failed", {
    code: typeof obj.code === "string" ? obj.code : "SQLITE_ERROR",
    statementIndex,
  });
}
