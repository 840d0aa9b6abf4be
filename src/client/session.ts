/**
 * A session: a sequence of requests that sees its own writes. Every answer's
 * bookmark (the Raft index it reflects) is kept; each read carries the latest
 * one, so the nearest replica serves it as soon as it has applied that index
 * — read-your-writes and monotonic reads without going to the leader (like
 * D1's `withSession`).
 */
import { laterBookmark } from "./bookmark.ts";
import { QuorumliteError } from "./errors.ts";
import type { HttpConfig } from "./http.ts";
import { isCertainlyReadOnly } from "./read-only-sql.ts";
import { buildResultSet, type ResultSet, type Row } from "./result-set.ts";
import type { RetryPolicy } from "./retry-policy.ts";
import type { Durability, ReadLevel, SqlEndpoint, SqlReply, SqlRequest } from "./sql-endpoint.ts";
import { SqlStream } from "./sql-stream.ts";
import { sqlOf, toWireStatement, type InStatement } from "./statement.ts";
import type { Topology } from "./topology.ts";
import { Transaction, type TransactionMode } from "./transaction.ts";
import type { IntMode } from "./values.ts";

export interface QueryOptions {
  /** Read consistency for this request (default: the client's `readLevel`, else the server's `linearizable`). */
  readonly readLevel?: ReadLevel;
  /** With `readLevel: "none"`: refuse if the node has not heard from the leader within this many ms. */
  readonly freshnessMs?: number;
  /** Write durability (default: the client's `sync`, else the server's `majority`). */
  readonly sync?: Durability;
  /**
   * `auto` (default): unmistakable reads go to the nearest node, everything else
   * straight to the leader. `leader` / `nearest` force one (the server still
   * forwards a write that reaches a follower).
   */
  readonly route?: "auto" | "leader" | "nearest";
}

export interface BatchOptions extends QueryOptions {
  /** All-or-nothing (default true). Without it each statement commits on its own and the first failure stops the rest. */
  readonly transaction?: boolean;
}

/** Shared by a client and all its sessions. */
export interface ClientCore {
  readonly topology: Topology;
  readonly endpoint: SqlEndpoint;
  readonly http: HttpConfig;
  readonly policy: RetryPolicy;
  readonly intMode: IntMode;
  readonly readLevel: ReadLevel | undefined;
  readonly freshnessMs: number | undefined;
  readonly sync: Durability | undefined;
}

export class Session {
  readonly #core: ClientCore;
  #bookmark: string | null;

  constructor(core: ClientCore, bookmark: string | null) {
    this.#core = core;
    this.#bookmark = bookmark;
  }

  /** The latest index this session has written or read at; pass it to `client.session(bookmark)` to resume. */
  get bookmark(): string | null {
    return this.#bookmark;
  }

  async execute<R extends object = Row>(stmt: InStatement, options: QueryOptions = {}): Promise<ResultSet<R>> {
    const reply = await this.#send(toWireStatement(stmt), [stmt], options);
    if (reply.results.length !== 1) {
      throw new QuorumliteError(`expected 1 result, got ${reply.results.length}`, { code: "QUORUMLITE_PROTOCOL" });
    }
    return buildResultSet<R>(reply.results[0]!, reply.bookmark, this.#core.intMode);
  }

  /** Several statements as one request: one log entry when it writes, one result per statement. */
  async batch(stmts: readonly InStatement[], options: BatchOptions = {}): Promise<ResultSet[]> {
    if (stmts.length === 0) return [];
    const body = { statements: stmts.map(toWireStatement), transaction: options.transaction ?? true };
    const reply = await this.#send(body, stmts, options);
    if (reply.results.length !== stmts.length) {
      throw new QuorumliteError(`expected ${stmts.length} results, got ${reply.results.length}`, { code: "QUORUMLITE_PROTOCOL" });
    }
    return reply.results.map((raw) => buildResultSet(raw, reply.bookmark, this.#core.intMode));
  }

  /** The rows of one statement. */
  async query<R extends object = Row>(stmt: InStatement, options?: QueryOptions): Promise<R[]> {
    return (await this.execute<R>(stmt, options)).rows;
  }

  /** The first row of one statement, or undefined. */
  async get<R extends object = Row>(stmt: InStatement, options?: QueryOptions): Promise<R | undefined> {
    return (await this.execute<R>(stmt, options)).rows[0];
  }

  /**
   * An interactive transaction over a Hrana stream. Not retried after BEGIN: if
   * the leader changes meanwhile, its statements fail with
   * QUORUMLITE_STREAM_LOST and nothing of it was committed.
   */
  async transaction(mode: TransactionMode = "write"): Promise<Transaction> {
    return Transaction.begin(this.stream(mode === "read" ? "nearest" : "leader"), mode);
  }

  /**
   * A raw interactive stream (statements on one connection; the caller sends
   * BEGIN/COMMIT itself). On the leader unless `nearest` (read-only work). Close it.
   */
  stream(on: "leader" | "nearest" = "leader"): SqlStream {
    const core = this.#core;
    const headers: Record<string, string> = {};
    if (on === "nearest") {
      if (core.readLevel !== undefined) headers["x-quorumlite-level"] = core.readLevel;
      if (this.#bookmark !== null) headers["x-quorumlite-bookmark"] = this.#bookmark;
    }
    return new SqlStream({
      http: core.http,
      policy: core.policy,
      intMode: core.intMode,
      locate: async () => (on === "leader" ? core.topology.writeTarget() : core.topology.readTargets()[0]!),
      onUnreachable: (url) => core.topology.markUnreachable(url),
      onRefused: () => core.topology.forgetLeader(),
      headers,
      observeBookmark: (bookmark) => this.#observe(bookmark),
      bookmarkAfterCommit: async (url) => String((await core.topology.status(url)).commit_index),
    });
  }

  async #send(body: SqlRequest["body"], stmts: readonly InStatement[], options: QueryOptions): Promise<SqlReply> {
    const core = this.#core;
    const route = options.route === undefined || options.route === "auto" ? (stmts.every((s) => isCertainlyReadOnly(sqlOf(s))) ? "nearest" : "leader") : options.route;
    try {
      const reply = await core.endpoint.send({
        body,
        route,
        level: options.readLevel ?? core.readLevel,
        freshnessMs: options.freshnessMs ?? core.freshnessMs,
        sync: options.sync ?? core.sync,
        bookmark: this.#bookmark,
      });
      this.#observe(reply.bookmark);
      return reply;
    } catch (err) {
      if (err instanceof QuorumliteError) this.#observe(err.bookmark);
      throw err;
    }
  }

  #observe(bookmark: string | null): void {
    this.#bookmark = laterBookmark(this.#bookmark, bookmark);
  }
}
