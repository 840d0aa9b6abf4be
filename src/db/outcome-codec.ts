/**
 * Bytes of a CommandOutcome, for the request-id table: a retried request
 * gets back exactly what the first attempt produced (Raft thesis §6.3).
 */
import type { CommandOutcome, SqlError, SqlValue, StatementResult, StepOutcome } from "./command.ts";
import { ByteReader, ByteWriter, DecodeError } from "./byte-codec.ts";

const VERSION = 1;

function writeError(w: ByteWriter, e: SqlError): void {
  w.string(e.message);
  w.string(e.code);
}

function readError(r: ByteReader): SqlError {
  return { message: r.string(), code: r.string() };
}

function writeResult(w: ByteWriter, res: StatementResult): void {
  w.varuint(res.columns.length);
  for (const c of res.columns) {
    w.string(c.name);
    if (c.decltype === null) w.u8(0);
    else {
      w.u8(1);
      w.string(c.decltype);
    }
  }
  w.varuint(res.rows.length);
  for (const row of res.rows) {
    w.varuint(row.length);
    for (const v of row) w.value(v);
  }
  w.varuint(res.rowsAffected);
  w.value(res.lastInsertRowid);
}

function readResult(r: ByteReader): StatementResult {
  const ncols = r.count();
  const columns = [];
  for (let i = 0; i < ncols; i++) {
    const name = r.string();
    columns.push({ name, decltype: r.u8() === 1 ? r.string() : null });
  }
  const nrows = r.count();
  const rows: SqlValue[][] = [];
  for (let i = 0; i < nrows; i++) {
    const n = r.count();
    const row: SqlValue[] = [];
    for (let j = 0; j < n; j++) row.push(r.value());
    rows.push(row);
  }
  const rowsAffected = r.varuint();
  const last = r.value();
  if (last !== null && typeof last !== "number" && typeof last !== "bigint") throw new DecodeError("bad lastInsertRowid");
  return { columns, rows, rowsAffected, lastInsertRowid: last };
}

export function encodeOutcome(o: CommandOutcome): Uint8Array {
  return ByteWriter.encode((w) => writeOutcome(w, o));
}

function writeOutcome(w: ByteWriter, o: CommandOutcome): void {
  w.u8(VERSION);
  if (o.kind === "statements") {
    w.u8(1);
    w.u8(o.ok ? 1 : 0);
    w.varuint(o.results.length);
    for (const res of o.results) writeResult(w, res);
    if (o.error === undefined) w.u8(0);
    else {
      w.u8(1);
      writeError(w, o.error);
      w.varuint(o.error.statementIndex);
    }
  } else {
    w.u8(2);
    w.varuint(o.steps.length);
    for (const step of o.steps) {
      if (step === null) w.u8(0);
      else if (step.ok) {
        w.u8(1);
        writeResult(w, step.result);
      } else {
        w.u8(2);
        writeError(w, step.error);
      }
    }
  }
}

export function decodeOutcome(b: Uint8Array): CommandOutcome {
  const r = new ByteReader(b);
  if (r.u8() !== VERSION) throw new DecodeError("unknown outcome version");
  const kind = r.u8();
  let outcome: CommandOutcome;
  if (kind === 1) {
    const ok = r.u8() === 1;
    const n = r.count();
    const results: StatementResult[] = [];
    for (let i = 0; i < n; i++) results.push(readResult(r));
    if (r.u8() === 1) {
      const e = readError(r);
      outcome = { kind: "statements", ok, results, error: { ...e, statementIndex: r.varuint() } };
    } else {
      outcome = { kind: "statements", ok, results };
    }
  } else if (kind === 2) {
    const n = r.count();
    const steps: (StepOutcome | null)[] = [];
    for (let i = 0; i < n; i++) {
      const tag = r.u8();
      if (tag === 0) steps.push(null);
      else if (tag === 1) steps.push({ ok: true, result: readResult(r) });
      else if (tag === 2) steps.push({ ok: false, error: readError(r) });
      else throw new DecodeError(`unknown step tag ${tag}`);
    }
    outcome = { kind: "batch", steps };
  } else {
    throw new DecodeError(`unknown outcome kind ${kind}`);
  }
  r.done();
  return outcome;
}
