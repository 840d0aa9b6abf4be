/**
 * `POST /sql?format=typed` with leader routing and retries. A write carries
 * one request id across all its attempts, so the node's state machine can
 * answer a retry with the first outcome instead of applying it again (Raft
 * thesis §6.3: clients retry, the replicated state machine remembers request ids).
 */
import { QuorumliteError } from "./errors.ts";
import { httpRequest, type HttpAnswer, type HttpConfig } from "./http.ts";
import { parseTypedSqlResult, type RawResult } from "./result-set.ts";
import { retryDelayMs, sleep, type RetryPolicy } from "./retry-policy.ts";
import type { WireStatement } from "./statement.ts";
import type { Topology } from "./topology.ts";

export type ReadLevel = "none" | "weak" | "linearizable" | "strong";
export type Durability = "majority" | "remote-region" | "all";

export type SqlBody = WireStatement | { readonly statements: readonly WireStatement[]; readonly transaction: boolean };

export interface SqlRequest {
  readonly body: SqlBody;
  /** `leader`: send straight to the leader (writes); `nearest`: preferred node first (reads). */
  readonly route: "leader" | "nearest";
  readonly level?: ReadLevel;
  readonly freshnessMs?: number;
  readonly sync?: Durability;
  /** Sent with reads: serve only once this index is applied. */
  readonly bookmark?: string | null;
}

export interface SqlReply {
  readonly results: readonly RawResult[];
  readonly bookmark: string | null;
}

/** Server error codes that mean "ask someone else / later", not "your SQL is wrong". */
const TRANSIENT_CODES = new Set(["not-leader", "no-leader", "timeout", "stale", "shutting-down"]);
const TRANSIENT_STATUS = new Set([502, 503, 504]);

export class SqlEndpoint {
  constructor(
    private readonly topology: Topology,
    private readonly http: HttpConfig,
    private readonly policy: RetryPolicy,
  ) {}

  async send(request: SqlRequest): Promise<SqlReply> {
    const body = JSON.stringify(request.body);
    const headers = requestHeaders(request);
    let lastProblem = "no attempt made";
    const tried = new Set<string>();
    for (let attempt = 0; attempt <= this.policy.retries; attempt++) {
      const target = await this.#target(request.route, tried);
      tried.add(target);
      let answer: HttpAnswer;
      try {
        answer = await httpRequest(this.http, `${target}/sql?format=typed`, { method: "POST", headers, body });
      } catch (err) {
        // No complete answer: the write may or may not be applied; the retry's request id settles it.
        this.topology.markUnreachable(target);
        lastProblem = `${target}: ${errorText(err)}`;
        await sleep(retryDelayMs(this.policy, attempt, null));
        continue;
      }
      this.topology.markReachable(target);
      if (answer.status >= 200 && answer.status < 300) return parseSuccess(answer);
      const error = parseError(answer);
      if (!TRANSIENT_STATUS.has(answer.status) && !TRANSIENT_CODES.has(normalizeCode(error.code))) throw error;
      const hint = leaderHint(answer);
      if (hint !== null) this.topology.useLeader(hint);
      else if (request.route === "leader") this.topology.forgetLeader();
      lastProblem = `${target}: ${error.message}`;
      await sleep(retryDelayMs(this.policy, attempt, answer.headers.get("retry-after")));
    }
    throw new QuorumliteError(`cluster unavailable after ${this.policy.retries + 1} attempts (last: ${lastProblem})`, {
      code: "QUORUMLITE_UNAVAILABLE",
    });
  }

  /** Reads try each node once, best first (the preferred node unless it just failed), before any repeats. */
  async #target(route: SqlRequest["route"], tried: Set<string>): Promise<string> {
    if (route === "leader") return this.topology.writeTarget();
    const targets = this.topology.readTargets();
    const untried = targets.find((t) => !tried.has(t));
    if (untried !== undefined) return untried;
    tried.clear();
    return targets[0]!;
  }
}

function requestHeaders(request: SqlRequest): Record<string, string> {
  const headers: Record<string, string> = { "x-quorumlite-request-id": crypto.randomUUID() };
  if (request.level !== undefined) headers["x-quorumlite-level"] = request.level;
  if (request.freshnessMs !== undefined) headers["x-quorumlite-freshness"] = `${request.freshnessMs}ms`;
  if (request.sync !== undefined) headers["x-quorumlite-sync"] = request.sync;
  if (request.route === "nearest" && request.bookmark != null) headers["x-quorumlite-bookmark"] = request.bookmark;
  return headers;
}

function parseSuccess(answer: HttpAnswer): SqlReply {
  const json = answer.json;
  if (typeof json !== "object" || json === null || (json as { success?: unknown }).success !== true) {
    throw new QuorumliteError(`unexpected /sql answer: ${answer.text.slice(0, 200)}`, { code: "QUORUMLITE_PROTOCOL", status: answer.status });
  }
  const { result, results } = json as { result?: unknown; results?: unknown };
  const raw = Array.isArray(results) ? results : [result];
  return { results: raw.map(parseTypedSqlResult), bookmark: answer.headers.get("x-quorumlite-bookmark") };
}

/** The error an answer carries: `/sql`'s `{success:false,error:{…}}`, or Hrana's top-level `{message, code}`. */
export function parseError(answer: HttpAnswer): QuorumliteError {
  const json = (typeof answer.json === "object" && answer.json !== null ? answer.json : {}) as { error?: unknown; message?: unknown; code?: unknown };
  const error = typeof json.error === "object" && json.error !== null ? (json.error as Record<string, unknown>) : typeof json.message === "string" ? json : null;
  const bookmark = answer.headers.get("x-quorumlite-bookmark");
  if (error !== null) {
    const { message, code, statement_index } = error as { message?: unknown; code?: unknown; statement_index?: unknown };
    return new QuorumliteError(typeof message === "string" ? message : `HTTP ${answer.status}`, {
      code: typeof code === "string" ? code : `HTTP_${answer.status}`,
      statementIndex: typeof statement_index === "number" ? statement_index : null,
      status: answer.status,
      bookmark,
    });
  }
  const message = typeof json.error === "string" ? json.error : answer.text.slice(0, 200) || `HTTP ${answer.status}`;
  return new QuorumliteError(message, { code: `HTTP_${answer.status}`, status: answer.status, bookmark });
}

/** A refusal may name the current leader (`error.leader`), saving a /status round trip. */
function leaderHint(answer: HttpAnswer): string | null {
  const error = (answer.json as { error?: { leader?: unknown } } | undefined)?.error;
  return typeof error?.leader === "string" && /^https?:\/\//.test(error.leader) ? error.leader : null;
}

function normalizeCode(code: string): string {
  return code.toLowerCase().replace(/_/g, "-");
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
