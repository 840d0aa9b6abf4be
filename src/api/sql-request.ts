/** The zod boundary of POST /sql: what a request may contain, turned into statements. */
import { z } from "zod";
import type { SqlArgs, SqlValue, Statement } from "../db/command.ts";
import { decodeValue } from "./hrana/decode.ts";

const typedValue = z.discriminatedUnion("type", [
  z.object({ type: z.literal("null") }),
  z.object({ type: z.literal("integer"), value: z.string().regex(/^-?\d+$/, "integer value must be a decimal string") }),
  z.object({ type: z.literal("float"), value: z.number() }),
  z.object({ type: z.literal("text"), value: z.string() }),
  z.object({ type: z.literal("blob"), base64: z.string() }),
]);

const argValue = z.union([z.null(), z.number(), z.string(), z.boolean(), z.object({ base64: z.string() }).strict(), typedValue]);

const args = z.union([z.array(argValue), z.record(z.string(), argValue)]);

const MAX_BATCH_STATEMENTS = 10_000;

const statement = z.object({ sql: z.string().min(1, "sql must not be empty"), args: args.optional() }).strict();

const batch = z
  .object({
    statements: z.array(statement).min(1, "statements must not be empty").max(MAX_BATCH_STATEMENTS),
    transaction: z.boolean().optional(),
  })
  .strict();

export type SqlRequest = z.infer<typeof statement> | z.infer<typeof batch>;

/** Picks the shape by its key first, so errors name the real field instead of "no union member matched". */
export function parseSqlRequest(body: unknown): { ok: true; value: SqlRequest } | { ok: false; message: string } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, message: 'body must be a JSON object: {"sql": "...", "args": [...]} or {"statements": [...], "transaction": true}' };
  }
  const plain = "statements" in body ? plainBatch(body) : plainStatement(body);
  if (plain !== null) return { ok: true, value: plain };
  const schema = "statements" in body ? batch : statement;
  const r = schema.safeParse(body);
  return r.success ? { ok: true, value: r.data } : { ok: false, message: describeZodError(r.error) };
}

/**
 * The common request, `{"sql": "…", "args": [scalars]}`, checked without zod:
 * exactly what `statement` accepts for this shape, and the same value zod
 * would return. Anything else (extra keys, objects among the args, named
 * args) returns null and goes through zod, which owns every error message.
 */
function plainStatement(body: object): z.infer<typeof statement> | null {
  let keys = 0;
  for (const k in body) {
    if (k !== "sql" && k !== "args") return null;
    keys++;
  }
  const { sql, args } = body as { sql?: unknown; args?: unknown };
  if (typeof sql !== "string" || sql.length === 0) return null;
  if (args === undefined) return keys === 1 ? { sql } : null;
  if (!Array.isArray(args)) return null;
  for (let i = 0; i < args.length; i++) {
    const a: unknown = args[i];
    if (a !== null && typeof a !== "string" && typeof a !== "boolean" && !(typeof a === "number" && Number.isFinite(a))) return null;
  }
  return { sql, args: args.slice() as ArgValue[] };
}

/**
 * `{"statements": [plain statements], "transaction": bool}` checked the same
 * way, for the same reason (zod took a sixth of the leader's time on
 * 100-statement batches). Anything else returns null and goes through zod.
 */
function plainBatch(body: object): z.infer<typeof batch> | null {
  for (const k in body) if (k !== "statements" && k !== "transaction") return null;
  const { statements, transaction } = body as { statements?: unknown; transaction?: unknown };
  if (transaction !== undefined && typeof transaction !== "boolean") return null;
  if (!Array.isArray(statements) || statements.length === 0 || statements.length > MAX_BATCH_STATEMENTS) return null;
  const out: z.infer<typeof statement>[] = new Array(statements.length);
  for (let i = 0; i < statements.length; i++) {
    const s: unknown = statements[i];
    const plain = s !== null && typeof s === "object" && !Array.isArray(s) ? plainStatement(s) : null;
    if (plain === null) return null;
    out[i] = plain;
  }
  return transaction === undefined ? { statements: out } : { statements: out, transaction };
}

type ArgValue = z.infer<typeof argValue>;

function toSqlValue(v: ArgValue): SqlValue {
  if (v === null) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" || typeof v === "string") return v;
  if ("type" in v) return decodeValue(v, "args");
  return new Uint8Array(Buffer.from(v.base64, "base64"));
}

function toArgs(a: z.infer<typeof args> | undefined): SqlArgs | undefined {
  if (a === undefined) return undefined;
  if (Array.isArray(a)) return a.map(toSqlValue);
  const out: Record<string, SqlValue> = {};
  for (const [k, v] of Object.entries(a)) out[k] = toSqlValue(v);
  return out;
}

export function statementsOf(req: SqlRequest): { statements: Statement[]; single: boolean; transaction: boolean } {
  if ("sql" in req) return { statements: [{ sql: req.sql, args: toArgs(req.args) }], single: true, transaction: false };
  return { statements: req.statements.map((s) => ({ sql: s.sql, args: toArgs(s.args) })), single: false, transaction: req.transaction ?? false };
}

/** "500ms", "2s", "1m" or a bare number of milliseconds. */
export function parseDurationMs(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? "ms";
  return unit === "ms" ? n : unit === "s" ? n * 1000 : n * 60_000;
}

export function describeZodError(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`)
    .join("; ");
}
