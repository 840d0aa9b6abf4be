/**
 * What replicated SQL may not do: escape the database file, change how it is
 * stored, or depend on state that differs between replicas. Checked on the
 * text alone, so every replica (and the leader, before proposing) decides the
 * same way. Refusals carry SQLITE_AUTH, the code SQLite gives when an
 * authorizer denies a statement.
 */
import type { SqlError } from "./command.ts";
import { parseSql, type ParsedStatement } from "./sql-statements.ts";
import { isKeyword, nameOf, type Token } from "./sql-tokens.ts";

export const FORBIDDEN_CODE = "SQLITE_AUTH";

/** Names the state machine keeps for itself (tables, savepoints). */
export const INTERNAL_PREFIX = "_quorumlite_";

/** PRAGMAs that only report something. Allowed without a value, or with a parenthesized argument. */
const QUERY_PRAGMAS = new Set([
  "application_id",
  "auto_vacuum",
  "busy_timeout",
  "cache_size",
  "collation_list",
  "compile_options",
  "data_version",
  "database_list",
  "defer_foreign_keys",
  "encoding",
  "foreign_key_check",
  "foreign_key_list",
  "foreign_keys",
  "freelist_count",
  "function_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "journal_mode",
  "legacy_alter_table",
  "max_page_count",
  "module_list",
  "page_count",
  "page_size",
  "pragma_list",
  "query_only",
  "quick_check",
  "recursive_triggers",
  "schema_version",
  "synchronous",
  "table_info",
  "table_list",
  "table_xinfo",
  "temp_store",
  "trusted_schema",
  "user_version",
]);

/** PRAGMAs whose parenthesized argument names a table, index or limit (for the others, `(x)` sets a value). */
const ARGUMENT_PRAGMAS = new Set([
  "foreign_key_check",
  "foreign_key_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "quick_check",
  "table_info",
  "table_list",
  "table_xinfo",
]);

/**
 * PRAGMAs that may be set. user_version/application_id live in the database
 * header and change transactionally. foreign_keys is accepted because
 * migration tools (drizzle-kit) emit it around table rebuilds; inside the
 * transaction every replicated write runs in, SQLite ignores it, so
 * enforcement stays at the state machine's fixed setting on every replica.
 */
const SETTABLE_PRAGMAS = new Set(["user_version", "application_id", "foreign_keys"]);

/** Names whose use would let SQL reach outside the database or depend on one replica's physical file. */
const FORBIDDEN_NAMES = new Map<string, string>([
  ["load_extension", "loading extensions is not allowed"],
  ["sqlite_dbpage", "raw page access is not allowed"],
  ["sqlite_dbdata", "raw page access is not allowed"],
  ["fts3_tokenizer", "fts3_tokenizer() is not allowed"],
]);

function forbidden(message: string): SqlError {
  return { code: FORBIDDEN_CODE, message: `not authorized: ${message}` };
}

function pragmaRefusal(tokens: readonly Token[]): SqlError | null {
  let i = 1;
  // Optional schema prefix: PRAGMA main.table_info(t).
  if (nameOf(tokens[i]) !== null && tokens[i + 1]?.value === ".") i += 2;
  const nameToken = tokens[i];
  const name = nameOf(nameToken)?.toLowerCase();
  if (name === undefined) return null; // SQLite reports the syntax error.
  const next = tokens[i + 1];
  if (next === undefined) {
    return QUERY_PRAGMAS.has(name) ? null : forbidden(`PRAGMA ${name} is not allowed`);
  }
  if (next.value === "(" && ARGUMENT_PRAGMAS.has(name)) return null;
  if ((next.value === "=" || next.value === "(") && SETTABLE_PRAGMAS.has(name)) return null;
  return forbidden(`PRAGMA ${name} cannot be changed`);
}

const refusals = new WeakMap<ParsedStatement, SqlError | null>();

/** Why `stmt` is refused, or null (remembered per parsed statement: parsing is cached by SQL text). */
export function refusalOf(stmt: ParsedStatement): SqlError | null {
  let refusal = refusals.get(stmt);
  if (refusal === undefined) {
    refusal = computeRefusal(stmt);
    refusals.set(stmt, refusal);
  }
  return refusal;
}

function computeRefusal(stmt: ParsedStatement): SqlError | null {
  const { tokens, verb } = stmt;
  if (verb === "ATTACH" || verb === "DETACH") return forbidden(`${verb} is not allowed`);
  if (verb === "VACUUM") {
    return tokens.some((t) => isKeyword(t, "INTO"))
      ? forbidden("VACUUM INTO is not allowed (use the snapshot/backup API)")
      : forbidden("VACUUM cannot run inside a replicated transaction");
  }
  if (verb === "PRAGMA") {
    const refusal = pragmaRefusal(tokens);
    if (refusal) return refusal;
  }
  if (verb === "CREATE" && (isKeyword(tokens[1], "TEMP") || isKeyword(tokens[1], "TEMPORARY"))) {
    return forbidden("temporary objects are not allowed (they would exist on one replica only)");
  }
  for (const t of tokens) {
    const name = nameOf(t);
    if (name === null) continue;
    const lower = name.toLowerCase();
    if (lower.startsWith(INTERNAL_PREFIX)) return forbidden(`names starting with ${INTERNAL_PREFIX} are reserved`);
    if (t.type !== "string") {
      const reason = FORBIDDEN_NAMES.get(lower);
      if (reason) return forbidden(reason);
    }
  }
  return null;
}

/** The refusal list: null when every statement of `sql` may run, else why not. */
export function validateStatement(sql: string): SqlError | null {
  for (const stmt of parseSql(sql).statements) {
    const refusal = refusalOf(stmt);
    if (refusal) return refusal;
  }
  return null;
}

/** Sources that describe one replica's physical file (page layout), so a write that reads them would diverge. */
const PHYSICAL_SOURCES = new Set(["dbstat", "pragma_page_count", "pragma_freelist_count"]);

const physical = new WeakMap<ParsedStatement, boolean>();

/** True when a statement reads from a physical-layout source; refused in writes, fine in reads. */
export function readsPhysicalLayout(stmt: ParsedStatement): boolean {
  let reads = physical.get(stmt);
  if (reads === undefined) {
    reads = stmt.tokens.some((t) => t.type !== "string" && PHYSICAL_SOURCES.has(nameOf(t)?.toLowerCase() ?? ""));
    physical.set(stmt, reads);
  }
  return reads;
}

export function physicalLayoutRefusal(): SqlError {
  return forbidden("a write cannot read dbstat/page counts: they differ between replicas");
}
