/**
 * Runs Hrana stream requests against the SqlService.
 *
 * Outside a transaction, work goes out whole: read-only statements as one
 * `service.read` at the request's level, anything else as one `service.write`
 * (one Raft log entry). A batch that opens a transaction and leaves it open
 * (what `client.transaction()` sends), or that the state machine could not
 * finish atomically on its own, runs step by step here instead: BEGIN opens an
 * InteractiveTx on the leader, statements go to it, COMMIT commits it through
 * Raft as one entry. `BEGIN … READONLY` (and any BEGIN under a read-only
 * token) opens a read-only transaction served locally.
 */
import type { BatchStep, CommandOutcome, StepCondition, StepOutcome } from "../../db/command.ts";
import type { Applied, InteractiveTx, ReadOptions, SqlService, WriteOptions } from "../../node/sql-service.ts";
import type { Access } from "../auth/bearer-auth.ts";
import { endsInAutocommit } from "./batch-plan.ts";
import { parseSql, savepointKey } from "../../db/sql-statements.ts";
import { parameterNames } from "../../db/sql-tokens.ts";
import { conditionHolds } from "../../db/step-condition.ts";
import { fixAutocommit } from "./conditions.ts";
import { EMPTY_RESULT, encodeBatchResult, encodeSqlError, encodeStmtResult } from "./encode.ts";
import { fromServiceError, HranaHttpError, isServiceError, requestError } from "./errors.ts";
import { isPrepared, prepareStmt, prepareText, resolveSql, singleStatement, type PreparedStmt } from "./prepared-stmt.ts";
import type {
  HranaStep,
  HranaVersion,
  StreamRequest,
  StreamResult,
  WireDescribeResult,
  WireError,
} from "./protocol.ts";
import type { HranaStream } from "./stream.ts";

export interface ExecContext {
  readonly version: HranaVersion;
  readonly read: ReadOptions;
  readonly write: WriteOptions;
  readonly access: Access;
  /** False when this request was itself forwarded to move a stream: it must not move again. */
  readonly mayMove: boolean;
  /** Aborts when the client goes away (see WriteGate: an abandoned BEGIN must not take the write lock). */
  readonly signal?: AbortSignal;
}

export interface ExecutorDeps {
  readonly service: SqlService;
  readonly txIdleTimeoutMs: number;
  readonly maxStoredSql: number;
  readonly maxStoredSqlChars: number;
}

/**
 * Thrown when a write transaction must begin on a follower before anything
 * else in the request ran: the stream moves to the leader, which runs the
 * request (and owns the stream) from here on.
 */
export class MoveToLeader {
  constructor(readonly leaderUrl: string) {}
}

type Res<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

const sqliteError = (message: string, code = "SQLITE_ERROR"): StepOutcome => ({ ok: false, error: { message, code } });
const okEmpty: StepOutcome = { ok: true, result: EMPTY_RESULT };
const DENY_TOKEN = sqliteError("not authorized: the token is read-only", "SQLITE_AUTH");
const DENY_READONLY_TX = sqliteError("attempt to write a readonly database", "SQLITE_READONLY");

/** The ServiceError codes after which an interactive transaction no longer exists. */
const TX_ENDING = new Set(["tx-expired", "not-leader", "no-leader", "timeout", "shutting-down"]);

function stepsOf(outcome: CommandOutcome): (StepOutcome | null)[] {
  if (outcome.kind === "batch") return [...outcome.steps];
  const steps: (StepOutcome | null)[] = outcome.results.map((result) => ({ ok: true, result }));
  if (outcome.error !== undefined) {
    const { statementIndex, message, code } = outcome.error;
    steps[statementIndex] = { ok: false, error: { message, code } };
  }
  return steps;
}

function firstError(outcomes: readonly (StepOutcome | null)[]): WireError | null {
  for (const o of outcomes) if (o !== null && !o.ok) return encodeSqlError(o.error);
  return null;
}

export class StreamExecutor {
  /** Service calls made for the request being executed (a stream may move only before the first). */
  private effects = 0;
  /** Highest Raft index any result of this HTTP request reflects. */
  bookmark = 0;

  constructor(
    private readonly deps: ExecutorDeps,
    private readonly stream: HranaStream,
    private readonly ctx: ExecContext,
  ) {}

  async execute(req: StreamRequest): Promise<StreamResult> {
    this.effects = 0;
    const started = performance.now();
    const m = () => ({ version: this.ctx.version, durationMs: performance.now() - started });
    const fail = (error: WireError): StreamResult => ({ type: "error", error });
    if (this.stream.closed) return fail(requestError("STREAM_CLOSED", "Stream for this baton was closed"));
    switch (req.type) {
      case "close":
        await this.closeStream();
        return { type: "ok", response: { type: "close" } };
      case "execute": {
        const p = prepareStmt(req.stmt, this.stream.sqls);
        if (!isPrepared(p)) return fail(p);
        const o = await this.runStep(p);
        if (!o.ok) return fail(encodeSqlError(o.error));
        return { type: "ok", response: { type: "execute", result: encodeStmtResult(o.result, p.wantRows, m()) } };
      }
      case "batch": {
        const r = await this.runBatch(req.steps);
        if (!r.ok) return fail(r.error);
        const wantRows = req.steps.map((s) => s.stmt.wantRows);
        return { type: "ok", response: { type: "batch", result: encodeBatchResult(r.value, wantRows, m()) } };
      }
      case "sequence": {
        const sql = resolveSql(req.source, this.stream.sqls);
        if (typeof sql !== "string") return fail(sql);
        const err = await this.runSequence(sql);
        return err === null ? { type: "ok", response: { type: "sequence" } } : fail(err);
      }
      case "describe": {
        const sql = resolveSql(req.source, this.stream.sqls);
        if (typeof sql !== "string") return fail(sql);
        const r = await this.describe(sql);
        return r.ok ? { type: "ok", response: { type: "describe", result: r.value } } : fail(r.error);
      }
      case "store_sql": {
        const sqls = this.stream.sqls;
        if (sqls.has(req.sqlId)) return fail(requestError("SQL_EXISTS", `SQL text ${req.sqlId} already exists`));
        if (sqls.size >= this.deps.maxStoredSql) {
          return fail(requestError("SQL_STORE_TOO_MANY", `The server already stores ${sqls.size} SQL texts, it cannot store more`));
        }
        if (req.sql.length > this.deps.maxStoredSqlChars) {
          return fail(
            requestError("SQL_STORE_TOO_LARGE", `The statement is too large to be stored: ${req.sql.length}/${this.deps.maxStoredSqlChars} characters`),
          );
        }
        sqls.set(req.sqlId, req.sql);
        return { type: "ok", response: { type: "store_sql" } };
      }
      case "close_sql":
        this.stream.sqls.delete(req.sqlId);
        return { type: "ok", response: { type: "close_sql" } };
      case "get_autocommit":
        return { type: "ok", response: { type: "get_autocommit", is_autocommit: this.stream.isAutocommit } };
    }
  }

  /** Runs a cursor's batch; the caller streams the outcomes as cursor entries. */
  async runCursorBatch(steps: readonly HranaStep[]): Promise<Res<(StepOutcome | null)[]>> {
    this.effects = 0;
    if (this.stream.closed) return { ok: false, error: requestError("STREAM_CLOSED", "Stream for this baton was closed") };
    return this.runBatch(steps);
  }

  /** Ends the stream's transaction, if any (stream closed, expired, or failed). */
  async closeStream(): Promise<void> {
    const tx = this.stream.tx;
    this.stream.tx = { kind: "none" };
    this.stream.closed = true;
    if (tx.kind === "write") await tx.tx.rollback().catch(() => undefined);
  }

  // ----- batches, sequences, describe ------------------------------------------------

  private async runBatch(steps: readonly HranaStep[]): Promise<Res<(StepOutcome | null)[]>> {
    const prepared: PreparedStmt[] = [];
    for (const s of steps) {
      const p = prepareStmt(s.stmt, this.stream.sqls);
      if (!isPrepared(p)) return { ok: false, error: p };
      prepared.push(p);
    }
    const planned = prepared.map((p, i) => ({ ...p, condition: steps[i]!.condition }));
    const anyControl = planned.some((p) => p.control !== null);
    const readOnly = planned.every((p) => this.isReadOnly(p));
    const tx = this.stream.tx;

    if (!anyControl && tx.kind !== "write") {
      // The autocommit flag cannot change inside this batch: settle is_autocommit here.
      const batch: BatchStep[] = planned.map((p) =>
        p.condition === undefined ? { stmt: p.statement } : { stmt: p.statement, condition: fixAutocommit(p.condition, tx.kind === "none") },
      );
      if (readOnly) return this.readBatch(batch);
      if (tx.kind === "none" && this.ctx.access === "rw") return this.writeBatch(batch);
    } else if (tx.kind === "none" && endsInAutocommit(planned)) {
      const hasReadOnlyBegin = planned.some((p) => p.control?.op === "begin" && p.control.readonly);
      const batch: BatchStep[] = planned.map((p) =>
        p.condition === undefined ? { stmt: p.statement } : { stmt: p.statement, condition: p.condition },
      );
      if (readOnly) return this.readBatch(batch);
      if (!hasReadOnlyBegin && this.ctx.access === "rw") return this.writeBatch(batch);
    }
    return { ok: true, value: await this.interpret(planned) };
  }

  /** Step by step through the stream's transaction state; conditions are evaluated here. */
  private async interpret(steps: readonly (PreparedStmt & { readonly condition?: StepCondition | undefined })[]) {
    const outcomes: (StepOutcome | null)[] = [];
    for (const s of steps) {
      if (s.condition !== undefined && !conditionHolds(s.condition, outcomes, this.stream.isAutocommit)) {
        outcomes.push(null);
        continue;
      }
      outcomes.push(await this.runStep(s));
    }
    return outcomes;
  }

  private async readBatch(batch: readonly BatchStep[]): Promise<Res<(StepOutcome | null)[]>> {
    // A stream reads its own writes, like the connection it stands for, even on a lagging replica.
    const bookmark = Math.max(this.ctx.read.bookmark ?? 0, this.stream.bookmark);
    const options: ReadOptions = bookmark > 0 ? { ...this.ctx.read, bookmark } : this.ctx.read;
    const r = await this.call(() => this.deps.service.read(batch, options));
    return r.ok ? { ok: true, value: [...r.value.outcome.steps] } : r;
  }

  private async writeBatch(batch: readonly BatchStep[]): Promise<Res<(StepOutcome | null)[]>> {
    const r = await this.call(() => this.deps.service.write({ kind: "batch", steps: batch }, this.ctx.write));
    return r.ok ? { ok: true, value: stepsOf(r.value.outcome) } : r;
  }

  /** `sequence`: statements in order, rows ignored, the first failure stops the rest and is the request's error. */
  private async runSequence(sql: string): Promise<WireError | null> {
    const steps = parseSql(sql).statements.map((ps) => prepareText(ps.sql, ps, undefined, false));
    if (steps.length === 0) return null;
    const anyControl = steps.some((p) => p.control !== null);
    if (this.stream.tx.kind === "none" && !anyControl) {
      if (steps.every((p) => this.isReadOnly(p))) {
        const r = await this.readBatch(
          steps.map((p, i): BatchStep => {
            const chained: StepCondition = { type: "ok", step: i - 1 };
            return i === 0 ? { stmt: p.statement } : { stmt: p.statement, condition: chained };
          }),
        );
        return r.ok ? firstError(r.value) : r.error;
      }
      if (this.ctx.access === "rw") {
        const statements = steps.map((p) => p.statement);
        const r = await this.call(() => this.deps.service.write({ kind: "statements", statements, transaction: false }, this.ctx.write));
        return r.ok ? firstError(stepsOf(r.value.outcome)) : r.error;
      }
    }
    for (const p of steps) {
      const o = await this.runStep(p);
      if (!o.ok) return encodeSqlError(o.error);
    }
    return null;
  }

  private async describe(sql: string): Promise<Res<WireDescribeResult>> {
    const parsed = singleStatement(sql);
    if (!("tokens" in parsed)) return { ok: false, error: parsed };
    const p = prepareText(parsed.sql, parsed, undefined, true);
    const params = parameterNames(parsed.tokens);
    const isExplain = parsed.verb === "EXPLAIN";
    const isReadonly = this.isReadOnly(p);
    let cols: WireDescribeResult["cols"] = [];
    // The service has no describe call: learn a query's columns by reading it with no rows.
    if (isReadonly && (parsed.verb === "SELECT" || parsed.verb === "WITH" || parsed.verb === "VALUES")) {
      const named = params.filter((n): n is string => n !== null && !n.startsWith("?"));
      const args =
        named.length > 0 && named.length === params.length
          ? Object.fromEntries(named.map((n): [string, null] => [n, null]))
          : params.map(() => null);
      const probe = `SELECT * FROM (${parsed.sql}) LIMIT 0`;
      const r = await this.readBatch([{ stmt: { sql: probe, args } }]);
      if (!r.ok) return r;
      const o = r.value[0];
      if (o !== undefined && o !== null && !o.ok) return { ok: false, error: encodeSqlError(o.error) };
      if (o?.ok) cols = o.result.columns.map((c) => ({ name: c.name, decltype: c.decltype }));
    }
    return { ok: true, value: { params: params.map((name) => ({ name })), cols, is_explain: isExplain, is_readonly: isReadonly } };
  }

  // ----- one statement ------------------------------------------------------------------

  private isReadOnly(p: PreparedStmt): boolean {
    if (p.control !== null) return true;
    try {
      return this.deps.service.isReadOnly(p.statement.sql);
    } catch {
      // Unparsable SQL: let the execution path report SQLite's error.
      return false;
    }
  }

  private async runStep(p: PreparedStmt): Promise<StepOutcome> {
    if (p.control !== null) return this.runControl(p);
    const tx = this.stream.tx;
    if (tx.kind === "write") return this.inTx(tx.tx, (t) => t.execute(p.statement));
    if (this.isReadOnly(p)) {
      const r = await this.readBatch([{ stmt: p.statement }]);
      return r.ok ? (r.value[0] ?? okEmpty) : { ok: false, error: r.error };
    }
    if (this.ctx.access === "ro") return DENY_TOKEN;
    if (tx.kind === "read") return DENY_READONLY_TX;
    const r = await this.writeBatch([{ stmt: p.statement }]);
    return r.ok ? (r.value[0] ?? okEmpty) : { ok: false, error: r.error };
  }

  private async runControl(p: PreparedStmt): Promise<StepOutcome> {
    const c = p.control!;
    const tx = this.stream.tx;
    switch (c.op) {
      case "begin":
        if (tx.kind !== "none") return sqliteError("cannot start a transaction within a transaction");
        if (c.readonly || this.ctx.access === "ro") {
          this.stream.tx = { kind: "read", savepoints: [], startedBySavepoint: false };
          return okEmpty;
        }
        return this.beginWrite(null, p);
      case "commit":
      case "rollback":
        if (tx.kind === "none") return sqliteError(`cannot ${c.op} - no transaction is active`);
        return this.finish(c.op);
      case "savepoint": {
        const key = savepointKey(c.name);
        if (tx.kind === "none") {
          if (this.ctx.access === "ro") {
            this.stream.tx = { kind: "read", savepoints: [key], startedBySavepoint: true };
            return okEmpty;
          }
          return this.beginWrite(key, p);
        }
        if (tx.kind === "read") {
          tx.savepoints.push(key);
          return okEmpty;
        }
        return this.inTx(tx.tx, async (t) => {
          const o = await t.execute(p.statement);
          if (o.ok) tx.savepoints.push(key);
          return o;
        });
      }
      case "release":
      case "rollback-to": {
        const idx = tx.kind === "none" ? -1 : tx.savepoints.lastIndexOf(savepointKey(c.name));
        if (tx.kind === "none" || idx < 0) return sqliteError(`no such savepoint: ${c.name}`);
        const keep = c.op === "release" ? idx : idx + 1;
        // Releasing the savepoint that opened the transaction commits it (SQLite lang_savepoint.html).
        if (c.op === "release" && idx === 0 && tx.startedBySavepoint) return this.finish("commit");
        if (tx.kind === "read") {
          tx.savepoints.length = keep;
          return okEmpty;
        }
        return this.inTx(tx.tx, async (t) => {
          const o = await t.execute(p.statement);
          if (o.ok) tx.savepoints.length = keep;
          return o;
        });
      }
    }
  }

  private async beginWrite(savepoint: string | null, p: PreparedStmt): Promise<StepOutcome> {
    let tx: InteractiveTx;
    try {
      tx = await this.deps.service.beginInteractive({ idleTimeoutMs: this.deps.txIdleTimeoutMs, ...(this.ctx.signal ? { signal: this.ctx.signal } : {}) });
    } catch (e) {
      if (isServiceError(e) && e.code === "not-leader" && e.leaderHttp !== null && this.effects === 0 && this.ctx.mayMove) {
        throw new MoveToLeader(e.leaderHttp);
      }
      if (!isServiceError(e)) throw e;
      const m = fromServiceError(e);
      if (m instanceof HranaHttpError) throw m;
      return { ok: false, error: m };
    } finally {
      this.effects++;
    }
    this.stream.tx = { kind: "write", tx, savepoints: [], startedBySavepoint: savepoint !== null };
    if (savepoint === null) return okEmpty;
    const o = await this.inTx(tx, (t) => t.execute(p.statement));
    if (o.ok && this.stream.tx.kind === "write") this.stream.tx.savepoints.push(savepoint);
    else if (!o.ok) await this.finish("rollback");
    return o;
  }

  private async finish(how: "commit" | "rollback"): Promise<StepOutcome> {
    const tx = this.stream.tx;
    this.stream.tx = { kind: "none" };
    if (tx.kind !== "write") return okEmpty;
    if (how === "rollback") return this.inTx(tx.tx, async (t) => (await t.rollback(), okEmpty), true);
    return this.inTx(
      tx.tx,
      async (t) => {
        // COMMIT also commits savepoints still open. Release them first, so the statements the
        // transaction recorded are balanced when they are replayed as one log entry (a replay
        // that ends inside a savepoint would be rolled back).
        const outermost = tx.savepoints[0];
        if (outermost !== undefined) {
          const released = await t.execute({ sql: `RELEASE SAVEPOINT "${outermost.replace(/"/g, '""')}"` });
          if (!released.ok) {
            await t.rollback();
            return released;
          }
        }
        // Step errors in the commit's outcome are those the client already saw during the
        // transaction (the entry replays them deterministically); they do not fail the COMMIT.
        this.noteBookmark(await t.commit(this.ctx.write));
        return okEmpty;
      },
      true,
    );
  }

  /** A call on the interactive transaction; a failure that ends the transaction returns the stream to autocommit. */
  private async inTx(tx: InteractiveTx, fn: (t: InteractiveTx) => Promise<StepOutcome>, ending = false): Promise<StepOutcome> {
    this.effects++;
    try {
      return await fn(tx);
    } catch (e) {
      if (!isServiceError(e)) throw e;
      if (ending || TX_ENDING.has(e.code)) {
        if (this.stream.tx.kind === "write" && this.stream.tx.tx === tx) this.stream.tx = { kind: "none" };
        if (!ending) await tx.rollback().catch(() => undefined);
      }
      const m = fromServiceError(e);
      if (m instanceof HranaHttpError) throw m;
      return { ok: false, error: m };
    }
  }

  private async call<T extends Applied<unknown>>(fn: () => Promise<T>): Promise<Res<T>> {
    this.effects++;
    try {
      const value = await fn();
      this.noteBookmark(value);
      return { ok: true, value };
    } catch (e) {
      if (!isServiceError(e)) throw e;
      const m = fromServiceError(e);
      if (m instanceof HranaHttpError) throw m;
      return { ok: false, error: m };
    }
  }

  private noteBookmark(a: Applied<unknown>): void {
    if (a.bookmark > this.bookmark) this.bookmark = a.bookmark;
    if (a.bookmark > this.stream.bookmark) this.stream.bookmark = a.bookmark;
  }
}
