/**
 * An in-process stand-in for a 3-node cluster that speaks the documented HTTP
 * contract (docs/http-api.md: GET /status, POST /sql?format=typed with the
 * x-quorumlite-* headers; Hrana over HTTP on /v2/pipeline). Real sockets
 * (Bun.serve) and real SQLite (bun:sqlite, in memory); no Raft: the leader's
 * database is the truth, followers copy it when they "apply", and tests
 * steer leadership, replication lag and faults directly. It exists to test
 * the client's routing, retries and decoding in isolation; the real node is
 * exercised by cluster.test.ts.
 */
import { Database } from "bun:sqlite";
import type { Server } from "bun";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** One-shot misbehaviours, consumed by the next POST /sql the node receives. */
export type Fault =
  /** 503 + Retry-After before doing anything (an election in progress). */
  | { readonly kind: "unavailable" }
  /** This node thinks it is no longer the leader (status 421, code "not-leader"). */
  | { readonly kind: "not-leader" }
  /** Apply the write, then die before answering; `successor` becomes leader. */
  | { readonly kind: "crash-after-apply"; readonly successor: string };

type Typed =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

type SqlValue = null | number | bigint | string | Uint8Array;
type Bindings = SqlValue[] | Record<string, SqlValue>;
interface WireStmt {
  sql: string;
  args?: unknown;
}

interface TypedResult {
  columns: string[];
  decltypes: (string | null)[];
  rows: Typed[][];
  rows_affected: number;
  last_insert_id: string;
}

class StatementError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

const DB_OPTIONS = { safeIntegers: true, strict: true } as const;

export class FakeNode {
  readonly requests: RecordedRequest[] = [];
  readonly faults: Fault[] = [];
  db = new Database(":memory:", DB_OPTIONS);
  applied = 0;
  /** A frozen follower stops applying until `catchUp`. */
  frozen = false;
  alive = true;
  /** Wraps this node's request handling (to delay or replace answers). */
  intercept: ((req: Request, next: () => Promise<Response>) => Promise<Response>) | null = null;
  server!: Server<undefined>;

  constructor(
    readonly id: string,
    readonly region: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  sqlRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === "/sql");
  }
}

export class FakeCluster {
  readonly nodes: FakeNode[];
  leaderId: string | null;
  commitIndex = 0;
  /** Request id → first answer. Replicated state in a real cluster, so it survives a leader change. */
  readonly outcomes = new Map<string, Answer>();
  readonly streams = new Map<string, { readonly id: number }>();
  /** How long a read waits for a bookmark before answering 503. */
  bookmarkWaitMs = 2000;
  /** Whether /v2/pipeline answers carry x-quorumlite-bookmark after a commit. */
  pipelineBookmarks = true;
  #streamIds = 0;

  private constructor(ids: readonly string[], leaderId: string) {
    this.nodes = ids.map((id, i) => new FakeNode(id, i < 2 ? "ams" : "iad"));
    this.leaderId = leaderId;
  }

  static start(ids: readonly string[] = ["n1", "n2", "n3"], leaderId = "n1"): FakeCluster {
    const cluster = new FakeCluster(ids, leaderId);
    for (const node of cluster.nodes) {
      node.server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (node.intercept === null ? cluster.#handle(node, req) : node.intercept(req, () => cluster.#handle(node, req))) });
    }
    return cluster;
  }

  node(id: string): FakeNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  get leader(): FakeNode | null {
    return this.leaderId === null ? null : this.node(this.leaderId);
  }

  url(id: string): string {
    return this.node(id).url;
  }

  /** Rows as the leader has them. */
  rows(sql: string): unknown[] {
    return this.leader!.db.query(sql).all();
  }

  freeze(id: string): void {
    this.node(id).frozen = true;
  }

  catchUp(id: string): void {
    const node = this.node(id);
    node.frozen = false;
    this.#copyFromLeader(node);
  }

  /** `id` takes over (after catching up, as a Raft leader holds every committed entry). */
  elect(id: string | null): void {
    if (id !== null) this.#copyFromLeader(this.node(id));
    this.leaderId = id;
  }

  kill(id: string): void {
    const node = this.node(id);
    node.alive = false;
    void node.server.stop(true);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.filter((n) => n.alive).map((n) => n.server.stop(true)));
  }

  async #handle(node: FakeNode, req: Request): Promise<Response> {
    const url = new URL(req.url);
    const text = req.method === "POST" ? await req.text() : "";
    const body: unknown = text === "" ? undefined : JSON.parse(text);
    node.requests.push({ method: req.method, path: url.pathname, headers: Object.fromEntries(req.headers), body });
    let answer: Answer;
    if (req.method === "GET" && url.pathname === "/status") answer = this.#status(node);
    else if (req.method === "POST" && url.pathname === "/sql") answer = await this.#sql(node, req.headers, body as Record<string, unknown>);
    else if (req.method === "POST" && url.pathname === "/v2/pipeline") answer = this.#pipeline(node, body as Record<string, unknown>);
    else answer = json(404, { message: "not found" });
    return new Response(answer.body, { status: answer.status, headers: { "content-type": "application/json", ...answer.headers } });
  }

  #status(node: FakeNode): Answer {
    const leader = this.leader;
    return json(200, {
      id: node.id,
      region: node.region,
      role: node.id === this.leaderId ? "leader" : "follower",
      term: 1,
      leader: leader === null ? null : { id: leader.id, region: leader.region, http: leader.url },
      commit_index: this.commitIndex,
      applied_index: node.applied,
      last_index: this.commitIndex,
      preferred_region: "ams",
      members: this.nodes.map((n) => ({ id: n.id, role: "voter", region: n.region, http: n.url, raft: "127.0.0.1:0", match: n.applied, state: "replicate" })),
    });
  }

  async #sql(node: FakeNode, headers: Headers, body: Record<string, unknown>): Promise<Answer> {
    const fault = node.faults.shift();
    if (fault?.kind === "unavailable") return json(503, { success: false, error: { message: "election in progress", code: "no-leader" } }, { "retry-after": "0" });
    if (fault?.kind === "not-leader") return json(421, { success: false, error: { message: "not the leader", code: "not-leader" } });

    const single = Array.isArray(body.statements) ? null : ({ sql: body.sql, args: body.args } as WireStmt);
    const statements = single === null ? (body.statements as WireStmt[]) : [single];
    const transaction = body.transaction === true;
    const requestId = headers.get("x-quorumlite-request-id");
    const isWrite = statements.some((s) => !/^\s*(SELECT|VALUES)\b/i.test(s.sql));

    if (!isWrite) return this.#read(node, headers, statements, single !== null);

    if (requestId !== null) {
      const first = this.outcomes.get(requestId);
      if (first !== undefined) return first;
    }
    const leader = this.leader;
    if (leader === null) return json(503, { success: false, error: { message: "no leader", code: "no-leader" } }, { "retry-after": "0" });
    // A follower forwards to the leader; here that is the shared in-process state.
    const answer = this.#write(leader, statements, transaction, single !== null);
    if (requestId !== null) this.outcomes.set(requestId, answer);
    if (fault?.kind === "crash-after-apply") {
      this.elect(fault.successor);
      this.kill(node.id);
      await Bun.sleep(50);
    }
    return answer;
  }

  #write(leader: FakeNode, statements: WireStmt[], transaction: boolean, single: boolean): Answer {
    let results: TypedResult[] = [];
    let failure: StatementError | null = null;
    try {
      if (transaction) leader.db.transaction(() => (results = statements.map((s, i) => execute(leader.db, s, i))))();
      else statements.forEach((s, i) => results.push(execute(leader.db, s, i)));
    } catch (err) {
      failure = asStatementError(err);
    }
    this.#commit();
    const bookmark = { "x-quorumlite-bookmark": String(this.commitIndex) };
    if (failure !== null) return json(400, { success: false, error: { message: failure.message, code: failure.code, statement_index: failure.index } }, bookmark);
    return json(200, single ? { success: true, result: results[0] } : { success: true, results }, bookmark);
  }

  async #read(node: FakeNode, headers: Headers, statements: WireStmt[], single: boolean): Promise<Answer> {
    const level = headers.get("x-quorumlite-level") ?? "linearizable";
    const bookmark = Number(headers.get("x-quorumlite-bookmark") ?? 0);
    // A linearizable read waits for everything committed (ReadIndex); a bookmark read for its index.
    const needed = Math.max(bookmark, level === "none" ? 0 : this.commitIndex);
    const deadline = Date.now() + this.bookmarkWaitMs;
    while (node.applied < needed) {
      if (Date.now() > deadline) return json(503, { success: false, error: { message: `index ${needed} not applied yet`, code: "timeout" } }, { "retry-after": "0" });
      await Bun.sleep(5);
    }
    try {
      const results = statements.map((s, i) => execute(node.db, s, i));
      return json(200, single ? { success: true, result: results[0] } : { success: true, results }, { "x-quorumlite-bookmark": String(node.applied) });
    } catch (err) {
      const e = asStatementError(err);
      return json(400, { success: false, error: { message: e.message, code: e.code, statement_index: e.index } });
    }
  }

  #pipeline(node: FakeNode, body: Record<string, unknown>): Answer {
    const leader = this.leader;
    if (leader === null || leader !== node) return json(503, { message: "streams live on the leader", code: "not-leader" });
    const baton = body.baton as string | null;
    let stream: { readonly id: number } | undefined;
    if (baton === null) stream = { id: ++this.#streamIds };
    else {
      stream = this.streams.get(baton);
      this.streams.delete(baton);
      if (stream === undefined) return json(400, { message: "unknown or expired baton", code: "STREAM_EXPIRED" });
    }
    const db = leader.db;
    let open = true;
    let committed = false;
    const results = (body.requests as Record<string, unknown>[]).map((request) => {
      if (request.type === "close") {
        open = false;
        if (db.inTransaction) db.run("ROLLBACK");
        return { type: "ok", response: { type: "close" } };
      }
      if (request.type === "execute") {
        const stmt = request.stmt as Record<string, unknown>;
        const before = db.inTransaction;
        try {
          const result = execute(db, hranaToWire(stmt), 0);
          if (!db.inTransaction && (before || !/^\s*(SELECT|VALUES)\b/i.test(String(stmt.sql)))) committed = true;
          return { type: "ok", response: { type: "execute", result: toHranaResult(result) } };
        } catch (err) {
          const e = asStatementError(err);
          return { type: "error", error: { message: e.message, code: e.code } };
        }
      }
      if (request.type === "batch") {
        const steps = (request.batch as { steps: { stmt: Record<string, unknown>; condition?: { type: string; step: number } }[] }).steps;
        const stepResults: unknown[] = [];
        const stepErrors: unknown[] = [];
        steps.forEach((step, i) => {
          const runs = step.condition === undefined || (step.condition.type === "ok" && stepResults[step.condition.step] != null);
          if (!runs) {
            stepResults.push(null);
            stepErrors.push(null);
            return;
          }
          try {
            stepResults.push(toHranaResult(execute(db, hranaToWire(step.stmt), i)));
            stepErrors.push(null);
          } catch (err) {
            const e = asStatementError(err);
            stepResults.push(null);
            stepErrors.push({ message: e.message, code: e.code });
          }
        });
        return { type: "ok", response: { type: "batch", result: { step_results: stepResults, step_errors: stepErrors } } };
      }
      return { type: "error", error: { message: `unsupported request ${String(request.type)}`, code: "UNSUPPORTED" } };
    });
    const headers: Record<string, string> = {};
    if (committed) {
      this.#commit();
      if (this.pipelineBookmarks) headers["x-quorumlite-bookmark"] = String(this.commitIndex);
    }
    let next: string | null = null;
    if (open) {
      next = crypto.randomUUID();
      this.streams.set(next, stream);
    }
    return json(200, { baton: next, base_url: null, results }, headers);
  }

  /** One log entry: the leader has it applied; followers that are not frozen apply it too. */
  #commit(): void {
    this.commitIndex++;
    for (const node of this.nodes) {
      if (node.id === this.leaderId) node.applied = this.commitIndex;
      else if (!node.frozen) this.#copyFromLeader(node);
    }
  }

  #copyFromLeader(node: FakeNode): void {
    const leader = this.leader;
    if (leader === null || leader === node) return;
    node.db = Database.deserialize(leader.db.serialize(), DB_OPTIONS);
    node.applied = this.commitIndex;
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return { status, body: JSON.stringify(body), headers };
}

function asStatementError(err: unknown): StatementError {
  if (err instanceof StatementError) return err;
  const e = err as { code?: unknown; message?: unknown };
  return new StatementError(typeof e.code === "string" ? e.code : "SQLITE_ERROR", String(e.message ?? err), 0);
}

function execute(db: Database, stmt: WireStmt, index: number): TypedResult {
  try {
    // libSQL's read-only BEGIN; plain SQLite has no such syntax.
    const sql = /^\s*BEGIN\s+TRANSACTION\s+READONLY\s*$/i.test(stmt.sql) ? "BEGIN DEFERRED" : stmt.sql;
    const query = db.prepare(sql);
    const bindings = decodeArgs(stmt.args);
    const changesBefore = totalChanges(db);
    const columns = query.columnNames;
    let rows: SqlValue[][] = [];
    if (columns.length > 0) rows = (Array.isArray(bindings) ? query.values(...bindings) : query.values(bindings)) as SqlValue[][];
    else if (Array.isArray(bindings)) query.run(...bindings);
    else query.run(bindings);
    const changed = totalChanges(db) - changesBefore;
    const inserted = changed > 0 && /^\s*(INSERT|REPLACE)\b/i.test(sql);
    const lastId = inserted ? (db.query("SELECT last_insert_rowid() AS id").get() as { id: bigint }).id : 0n;
    const isRead = /^\s*(SELECT|VALUES)\b/i.test(sql);
    return {
      columns,
      decltypes: query.declaredTypes,
      rows: rows.map((row) => row.map(encodeTyped)),
      rows_affected: isRead ? 0 : changed,
      last_insert_id: String(lastId),
    };
  } catch (err) {
    if (err instanceof StatementError) throw err;
    const e = asStatementError(err);
    throw new StatementError(e.code, e.message, index);
  }
}

function totalChanges(db: Database): number {
  return Number((db.query("SELECT total_changes() AS n").get() as { n: bigint }).n);
}

function decodeArgs(args: unknown): Bindings {
  if (args === undefined || args === null) return [];
  if (Array.isArray(args)) return args.map(decodeTyped);
  const named: Record<string, SqlValue> = {};
  for (const [name, value] of Object.entries(args as Record<string, unknown>)) named[name.replace(/^[:@$]/, "")] = decodeTyped(value);
  return named;
}

function hranaToWire(stmt: Record<string, unknown>): WireStmt {
  if (Array.isArray(stmt.named_args) && stmt.named_args.length > 0) {
    return { sql: String(stmt.sql), args: Object.fromEntries((stmt.named_args as { name: string; value: unknown }[]).map((a) => [a.name, a.value])) };
  }
  return { sql: String(stmt.sql), args: stmt.args ?? [] };
}

function toHranaResult(r: TypedResult): unknown {
  return {
    cols: r.columns.map((name, i) => ({ name, decltype: r.decltypes[i] ?? null })),
    rows: r.rows,
    affected_row_count: r.rows_affected,
    last_insert_rowid: r.last_insert_id === "0" ? null : r.last_insert_id,
  };
}

function decodeTyped(value: unknown): SqlValue {
  if (value === null || typeof value !== "object") return value as SqlValue;
  const v = value as Record<string, unknown>;
  switch (v.type) {
    case "null":
      return null;
    case "integer":
      return BigInt(v.value as string);
    case "float":
      return v.value as number;
    case "text":
      return v.value as string;
    case "blob":
      return Uint8Array.from(atob(v.base64 as string), (c) => c.charCodeAt(0));
  }
  throw new Error(`bad argument ${JSON.stringify(value)}`);
}

function encodeTyped(value: SqlValue): Typed {
  if (value === null) return { type: "null" };
  if (typeof value === "bigint") return { type: "integer", value: value.toString() };
  if (typeof value === "number") return { type: "float", value };
  if (typeof value === "string") return { type: "text", value };
  return { type: "blob", base64: Buffer.from(value).toString("base64") };
}
