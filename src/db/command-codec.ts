/**
 * The bytes of a replicated write: what a Raft entry's `data` holds. Compact
 * (varints, tagged values) and lossless: bigint of any size, blobs, named
 * arguments in their order, absent vs empty arguments, -0 and NaN.
 *
 * Layout (version 2; version 1 is still decoded):
 *   u8 version, u8 kind (1 statements, 2 batch), f64 stamp.now, f64 stamp.seed,
 *   u8 has requestId [string requestId],
 *   statements: u8 transaction, count, statement*
 *   batch:      count, (statement, condition)*
 *   statement:  sql, u8 args kind (0 none, 1 positional, 2 named),
 *               positional: count, value*; named: count, (string key, value)*
 *   sql:        version 2: varuint ref — 0: a string follows (the command's next
 *               distinct SQL text), k ≥ 1: the k-th distinct SQL text again;
 *               version 1: string
 *   condition:  u8 tag (0 none, 1 ok, 2 error, 3 not, 4 and, 5 or, 6 is_autocommit) + operands
 *
 * A batch usually repeats one SQL text with different arguments: version 2
 * stores it once per entry, and every replica decodes one string for it,
 * which its parse and prepared-statement caches then find at once.
 */
import type { BatchStep, Command, SqlArgs, SqlValue, Statement, StepCondition } from "./command.ts";
import { ByteReader, ByteWriter, DecodeError } from "./byte-codec.ts";

const VERSION = 2;
/** Entries written before SQL texts were shared within a command. */
const VERSION_INLINE_SQL = 1;

/** The newest command version this build writes and reads (it reads every older one too). */
export const COMMAND_VERSION = VERSION;
export type CommandVersion = typeof VERSION_INLINE_SQL | typeof VERSION;
const KIND_STATEMENTS = 1;
const KIND_BATCH = 2;
/** Conditions nest; a decoder must not recurse without bound on hostile input. */
const MAX_CONDITION_DEPTH = 1000;

/**
 * SQL texts already written in this command, numbered from 1 in order. The
 * previous statement's text is checked first: a batch's statements usually
 * share one, and comparing it is cheaper than hashing it again (each request
 * statement's text is a string of its own).
 */
class SqlTable {
  private readonly refs = new Map<string, number>();
  private lastSql: string | null = null;
  private lastRef = 0;

  /** The text's reference, or 0 (and it gets the next one) when it is new. */
  refOf(sql: string): number {
    if (sql === this.lastSql) return this.lastRef;
    let ref = this.refs.get(sql);
    const isNew = ref === undefined;
    if (ref === undefined) {
      ref = this.refs.size + 1;
      this.refs.set(sql, ref);
    }
    this.lastSql = sql;
    this.lastRef = ref;
    return isNew ? 0 : ref;
  }
}

/** `sqls` null: version 1, every SQL text inline. */
function writeStatement(w: ByteWriter, s: Statement, sqls: SqlTable | null): void {
  if (sqls === null) w.string(s.sql);
  else {
    const ref = sqls.refOf(s.sql);
    w.varuint(ref);
    if (ref === 0) w.string(s.sql);
  }
  const args = s.args;
  if (args === undefined) w.u8(0);
  else if (Array.isArray(args)) {
    w.u8(1);
    w.varuint(args.length);
    for (const v of args as readonly SqlValue[]) w.value(v);
  } else {
    const entries = Object.entries(args as Readonly<Record<string, SqlValue>>);
    w.u8(2);
    w.varuint(entries.length);
    for (const [k, v] of entries) {
      w.string(k);
      w.value(v);
    }
  }
}

/** null for version 1 (SQL inline), else the SQL texts read so far in this command. */
function readSql(r: ByteReader, sqls: string[] | null): string {
  if (sqls === null) return r.string();
  const ref = r.varuint();
  if (ref === 0) {
    const sql = r.string();
    sqls.push(sql);
    return sql;
  }
  const sql = sqls[ref - 1];
  if (sql === undefined) throw new DecodeError(`unknown SQL reference ${ref}`);
  return sql;
}

function readStatement(r: ByteReader, sqls: string[] | null): Statement {
  const sql = readSql(r, sqls);
  const argsKind = r.u8();
  if (argsKind === 0) return { sql };
  if (argsKind === 1) {
    const n = r.count();
    const args: SqlValue[] = [];
    for (let i = 0; i < n; i++) args.push(r.value());
    return { sql, args };
  }
  if (argsKind === 2) {
    const n = r.count();
    const args: Record<string, SqlValue> = {};
    for (let i = 0; i < n; i++) {
      const key = r.string();
      Object.defineProperty(args, key, { value: r.value(), enumerable: true, writable: true, configurable: true });
    }
    return { sql, args: args as SqlArgs };
  }
  throw new DecodeError(`unknown args kind ${argsKind}`);
}

function writeCondition(w: ByteWriter, c: StepCondition | undefined): void {
  if (c === undefined) return w.u8(0);
  switch (c.type) {
    case "ok":
      w.u8(1);
      return w.varuint(c.step);
    case "error":
      w.u8(2);
      return w.varuint(c.step);
    case "not":
      w.u8(3);
      return writeCondition(w, c.cond);
    case "and":
    case "or":
      w.u8(c.type === "and" ? 4 : 5);
      w.varuint(c.conds.length);
      for (const sub of c.conds) writeCondition(w, sub);
      return;
    case "is_autocommit":
      return w.u8(6);
  }
}

function readCondition(r: ByteReader, depth: number): StepCondition | undefined {
  if (depth > MAX_CONDITION_DEPTH) throw new DecodeError("condition nested too deeply");
  const tag = r.u8();
  const required = (): StepCondition => {
    const c = readCondition(r, depth + 1);
    if (c === undefined) throw new DecodeError("missing condition operand");
    return c;
  };
  switch (tag) {
    case 0:
      return undefined;
    case 1:
      return { type: "ok", step: r.varuint() };
    case 2:
      return { type: "error", step: r.varuint() };
    case 3:
      return { type: "not", cond: required() };
    case 4:
    case 5: {
      const n = r.count();
      const conds: StepCondition[] = [];
      for (let i = 0; i < n; i++) conds.push(required());
      return tag === 4 ? { type: "and", conds } : { type: "or", conds };
    }
    case 6:
      return { type: "is_autocommit" };
  }
  throw new DecodeError(`unknown condition tag ${tag}`);
}

/**
 * An entry written by a newer quorumlite. Unlike malformed bytes (a no-op on
 * every replica alike), replicas of different versions would disagree on it,
 * so the node must stop rather than skip it: upgrade it, then restart.
 */
export class UnknownCommandVersionError extends DecodeError {
  constructor(readonly version: number) {
    super(`unknown command version ${version}: this entry was written by a newer quorumlite; upgrade this node`);
    this.name = "UnknownCommandVersionError";
  }
}

/**
 * `version` 1 is for a cluster that still has a replica of a build that reads
 * only version 1 (a rolling upgrade: see the node's command version gate).
 */
export function encodeCommand(c: Command, version: CommandVersion = VERSION): Uint8Array {
  return ByteWriter.encode((w) => writeCommand(w, c, version));
}

function writeCommand(w: ByteWriter, c: Command, version: CommandVersion): void {
  const sqls = version === VERSION ? new SqlTable() : null;
  w.u8(version);
  w.u8(c.kind === "statements" ? KIND_STATEMENTS : KIND_BATCH);
  w.f64(c.stamp.now);
  w.f64(c.stamp.seed);
  if (c.requestId === undefined) w.u8(0);
  else {
    w.u8(1);
    w.string(c.requestId);
  }
  if (c.kind === "statements") {
    w.u8(c.transaction ? 1 : 0);
    w.varuint(c.statements.length);
    for (const s of c.statements) writeStatement(w, s, sqls);
  } else {
    w.varuint(c.steps.length);
    for (const step of c.steps) {
      writeStatement(w, step.stmt, sqls);
      writeCondition(w, step.condition);
    }
  }
}

/** Inverse of encodeCommand. Throws DecodeError on bytes it did not produce. */
export function decodeCommand(b: Uint8Array): Command {
  const r = new ByteReader(b);
  const version = r.u8();
  if (version !== VERSION && version !== VERSION_INLINE_SQL) throw new UnknownCommandVersionError(version);
  const sqls = version === VERSION ? [] : null;
  const kind = r.u8();
  const stamp = { now: r.f64(), seed: r.f64() };
  const requestId = r.u8() === 1 ? r.string() : undefined;
  let command: Command;
  if (kind === KIND_STATEMENTS) {
    const transaction = r.u8() === 1;
    const n = r.count();
    const statements: Statement[] = [];
    for (let i = 0; i < n; i++) statements.push(readStatement(r, sqls));
    command = { kind: "statements", statements, transaction, stamp, ...(requestId !== undefined ? { requestId } : {}) };
  } else if (kind === KIND_BATCH) {
    const n = r.count();
    const steps: BatchStep[] = [];
    for (let i = 0; i < n; i++) {
      const stmt = readStatement(r, sqls);
      const condition = readCondition(r, 0);
      steps.push(condition === undefined ? { stmt } : { stmt, condition });
    }
    command = { kind: "batch", steps, stamp, ...(requestId !== undefined ? { requestId } : {}) };
  } else {
    throw new DecodeError(`unknown command kind ${kind}`);
  }
  r.done();
  return command;
}
