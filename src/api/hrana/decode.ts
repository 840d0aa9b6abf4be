/**
 * Validates and decodes Hrana JSON request bodies. Everything is checked
 * before anything runs, so a malformed body is answered with 400 and leaves
 * the stream (and its baton) untouched. Unknown fields are ignored, as the
 * spec requires for forward compatibility.
 */
import type { SqlValue, StepCondition } from "../../db/command.ts";
import { protocolError } from "./errors.ts";
import type { CursorBody, HranaStep, HranaStmt, NamedArg, PipelineBody, SqlSource, StreamRequest } from "./protocol.ts";

type Json = Record<string, unknown>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Nesting bound for conditions, so a hostile body cannot exhaust the stack. */
const MAX_COND_DEPTH = 64;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function object(v: unknown, path: string): Json {
  if (!isObject(v)) throw protocolError(`${path}: expected an object`);
  return v;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw protocolError(`${path}: expected an array`);
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== "string") throw protocolError(`${path}: expected a string`);
  return v;
}

function int32(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
    throw protocolError(`${path}: expected a 32-bit integer`);
  }
  return v;
}

function uint32(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
    throw protocolError(`${path}: expected a non-negative integer`);
  }
  return v;
}

const present = (v: unknown): boolean => v !== undefined && v !== null;

function baton(v: unknown, path: string): string | null {
  if (!present(v)) return null;
  return string(v, path);
}

export function decodeValue(v: unknown, path: string): SqlValue {
  const o = object(v, path);
  const type = o["type"];
  switch (type) {
    case "null":
      return null;
    case "integer": {
      const raw = o["value"];
      let big: bigint;
      if (typeof raw === "string" && /^[+-]?[0-9]+$/.test(raw)) big = BigInt(raw);
      else if (typeof raw === "number" && Number.isSafeInteger(raw)) big = BigInt(raw);
      else throw protocolError(`${path}.value: expected an integer as a decimal string`);
      if (big < INT64_MIN || big > INT64_MAX) throw protocolError(`${path}.value: integer out of 64-bit range`);
      const n = Number(big);
      return Number.isSafeInteger(n) ? n : big;
    }
    case "float": {
      const raw = o["value"];
      if (typeof raw !== "number") throw protocolError(`${path}.value: expected a number`);
      return raw;
    }
    case "text":
      return string(o["value"], `${path}.value`);
    case "blob": {
      const raw = string(o["base64"], `${path}.base64`);
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(raw)) throw protocolError(`${path}.base64: invalid base64`);
      return new Uint8Array(Buffer.from(raw, "base64"));
    }
    default:
      throw protocolError(`${path}.type: unknown value type ${JSON.stringify(type)}`);
  }
}

function sqlSource(o: Json, path: string): SqlSource {
  const hasSql = present(o["sql"]);
  const hasId = present(o["sql_id"]);
  if (hasSql && hasId) throw protocolError(`${path}: either \`sql\` or \`sql_id\` are required, but not both`);
  if (hasSql) return { kind: "text", sql: string(o["sql"], `${path}.sql`) };
  if (hasId) return { kind: "id", sqlId: int32(o["sql_id"], `${path}.sql_id`) };
  throw protocolError(`${path}: either \`sql\` or \`sql_id\` are required`);
}

function stmt(v: unknown, path: string): HranaStmt {
  const o = object(v, path);
  const args = present(o["args"]) ? array(o["args"], `${path}.args`).map((a, i) => decodeValue(a, `${path}.args[${i}]`)) : [];
  const namedArgs: NamedArg[] = present(o["named_args"])
    ? array(o["named_args"], `${path}.named_args`).map((a, i) => {
        const p = `${path}.named_args[${i}]`;
        const na = object(a, p);
        return { name: string(na["name"], `${p}.name`), value: decodeValue(na["value"], `${p}.value`) };
      })
    : [];
  let wantRows = true;
  if (present(o["want_rows"])) {
    if (typeof o["want_rows"] !== "boolean") throw protocolError(`${path}.want_rows: expected a boolean`);
    wantRows = o["want_rows"];
  }
  return { source: sqlSource(o, path), args, namedArgs, wantRows };
}

/** `stepIndex` bounds step references: a condition may only look at earlier steps. */
function condition(v: unknown, path: string, stepIndex: number, depth: number): StepCondition {
  if (depth > MAX_COND_DEPTH) throw protocolError(`${path}: condition nested too deeply`);
  const o = object(v, path);
  const type = o["type"];
  switch (type) {
    case "ok":
    case "error": {
      const step = uint32(o["step"], `${path}.step`);
      if (step >= stepIndex) throw protocolError(`${path}.step: invalid reference to step ${step} in a batch condition`);
      return { type, step };
    }
    case "not":
      return { type: "not", cond: condition(o["cond"], `${path}.cond`, stepIndex, depth + 1) };
    case "and":
    case "or":
      return {
        type,
        conds: array(o["conds"], `${path}.conds`).map((c, i) => condition(c, `${path}.conds[${i}]`, stepIndex, depth + 1)),
      };
    case "is_autocommit":
      return { type: "is_autocommit" };
    default:
      throw protocolError(`${path}.type: unknown condition type ${JSON.stringify(type)}`);
  }
}

function batch(v: unknown, path: string): HranaStep[] {
  const o = object(v, path);
  return array(o["steps"], `${path}.steps`).map((s, i) => {
    const p = `${path}.steps[${i}]`;
    const so = object(s, p);
    const step: HranaStep = { stmt: stmt(so["stmt"], `${p}.stmt`) };
    return present(so["condition"]) ? { ...step, condition: condition(so["condition"], `${p}.condition`, i, 0) } : step;
  });
}

function request(v: unknown, path: string): StreamRequest {
  const o = object(v, path);
  const type = o["type"];
  switch (type) {
    case "close":
      return { type };
    case "execute":
      return { type, stmt: stmt(o["stmt"], `${path}.stmt`) };
    case "batch":
      return { type, steps: batch(o["batch"], `${path}.batch`) };
    case "sequence":
    case "describe":
      return { type, source: sqlSource(o, path) };
    case "store_sql":
      return { type, sqlId: int32(o["sql_id"], `${path}.sql_id`), sql: string(o["sql"], `${path}.sql`) };
    case "close_sql":
      return { type, sqlId: int32(o["sql_id"], `${path}.sql_id`) };
    case "get_autocommit":
      return { type };
    default:
      throw protocolError(`${path}.type: unknown request type ${JSON.stringify(type)}`);
  }
}

export function decodePipelineBody(json: unknown): PipelineBody {
  const o = object(json, "body");
  const rawRequests = array(o["requests"], "requests");
  return {
    baton: baton(o["baton"], "baton"),
    requests: rawRequests.map((r, i) => request(r, `requests[${i}]`)),
    rawRequests,
  };
}

export function decodeCursorBody(json: unknown): CursorBody {
  const o = object(json, "body");
  return { baton: baton(o["baton"], "baton"), steps: batch(o["batch"], "batch"), rawBatch: o["batch"] };
}
