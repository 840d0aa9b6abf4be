/**
 * Splits a SQL string into its statements and says what each one is: its
 * verb, whether it controls a transaction (the state machine emulates those
 * with savepoints) and whether it inserts (for `lastInsertRowid`).
 */
import { LruCache } from "./lru-cache.ts";
import { isKeyword, nameOf, tokenize, type Token } from "./sql-tokens.ts";

export type TxControl =
  | { readonly op: "begin"; readonly readonly: boolean }
  | { readonly op: "commit" }
  | { readonly op: "rollback" }
  | { readonly op: "savepoint"; readonly name: string }
  | { readonly op: "release"; readonly name: string }
  | { readonly op: "rollback-to"; readonly name: string }
  /** A transaction verb in a shape SQLite would not accept: never handed to SQLite on the writer. */
  | { readonly op: "malformed"; readonly near: string };

/**
 * What two savepoint names are compared by: SQLite matches them with
 * sqlite3StrICmp, which folds ASCII letters only (`Sp1` is `SP1`, `Ä` is not `ä`).
 * TxControl keeps names as written, for SQLite's error messages.
 */
export function savepointKey(name: string): string {
  return name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

export interface ParsedStatement {
  /** This statement's text, from its first token to its last (no trailing `;`). */
  readonly sql: string;
  readonly tokens: readonly Token[];
  /** Upper-case first keyword ("" if the statement starts otherwise). */
  readonly verb: string;
  /** The statement a `WITH` clause introduces (SELECT, INSERT, …); otherwise `verb`. */
  readonly mainVerb: string;
  readonly control: TxControl | null;
}

export interface ParsedSql {
  readonly statements: readonly ParsedStatement[];
}

const MAIN_VERBS = new Set(["SELECT", "INSERT", "REPLACE", "UPDATE", "DELETE", "VALUES"]);
const TX_VERBS = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

function resolveWith(tokens: readonly Token[]): string {
  let depth = 0;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === "punct") {
      if (t.value === "(") depth++;
      else if (t.value === ")") depth--;
    } else if (depth === 0 && t.type === "word") {
      const up = t.value.toUpperCase();
      if (MAIN_VERBS.has(up)) return up;
    }
  }
  return "WITH";
}

/** `[TRANSACTION [name]]` starting at `i`; returns the index after it. */
function skipTransOpt(tokens: readonly Token[], i: number): number {
  if (isKeyword(tokens[i], "TRANSACTION")) {
    i++;
    // `TO` after ROLLBACK TRANSACTION starts the savepoint clause, it is not a transaction name.
    if (nameOf(tokens[i]) !== null && !isKeyword(tokens[i], "TO")) i++;
  }
  return i;
}

function malformed(tokens: readonly Token[], i: number): TxControl {
  return { op: "malformed", near: tokens[i]?.value ?? tokens[tokens.length - 1]?.value ?? "" };
}

/** SQLite's grammar for the transaction statements (parse.y: cmd ::= BEGIN …, COMMIT …, ROLLBACK …, SAVEPOINT …, RELEASE …). */
function parseControl(verb: string, tokens: readonly Token[]): TxControl {
  let i = 1;
  switch (verb) {
    case "BEGIN": {
      let readonly = false;
      const t = tokens[i];
      if (isKeyword(t, "DEFERRED") || isKeyword(t, "IMMEDIATE") || isKeyword(t, "EXCLUSIVE")) i++;
      else if (isKeyword(t, "READONLY")) {
        // libSQL's read-only transaction (@libsql/client sends "BEGIN TRANSACTION READONLY").
        readonly = true;
        i++;
      }
      if (isKeyword(tokens[i], "TRANSACTION") && isKeyword(tokens[i + 1], "READONLY")) readonly = true;
      i = skipTransOpt(tokens, i);
      return i === tokens.length ? { op: "begin", readonly } : malformed(tokens, i);
    }
    case "COMMIT":
    case "END":
      i = skipTransOpt(tokens, i);
      return i === tokens.length ? { op: "commit" } : malformed(tokens, i);
    case "ROLLBACK": {
      i = skipTransOpt(tokens, i);
      if (i === tokens.length) return { op: "rollback" };
      if (!isKeyword(tokens[i], "TO")) return malformed(tokens, i);
      i++;
      if (isKeyword(tokens[i], "SAVEPOINT")) i++;
      const name = nameOf(tokens[i]);
      return name !== null && i + 1 === tokens.length ? { op: "rollback-to", name } : malformed(tokens, i);
    }
    case "SAVEPOINT": {
      const name = nameOf(tokens[i]);
      return name !== null && i + 1 === tokens.length ? { op: "savepoint", name } : malformed(tokens, i);
    }
    case "RELEASE": {
      if (isKeyword(tokens[i], "SAVEPOINT") && tokens.length === 3) i++;
      const name = nameOf(tokens[i]);
      return name !== null && i + 1 === tokens.length ? { op: "release", name } : malformed(tokens, i);
    }
  }
  return malformed(tokens, 0);
}

function describe(sql: string, tokens: readonly Token[]): ParsedStatement {
  const first = tokens[0]!;
  const verb = first.type === "word" ? first.value.toUpperCase() : "";
  return {
    sql: sql.slice(first.start, tokens[tokens.length - 1]!.end),
    tokens,
    verb,
    mainVerb: verb === "WITH" ? resolveWith(tokens) : verb,
    control: TX_VERBS.has(verb) ? parseControl(verb, tokens) : null,
  };
}

/**
 * Splits at `;` the way SQLite's sqlite3_complete() does, so that the `;`
 * inside a CREATE TRIGGER … BEGIN … END body does not end the statement.
 * CASE … END pairs are counted so that a CASE inside the body does not end it.
 */
function split(sql: string): ParsedStatement[] {
  const all = tokenize(sql);
  const out: ParsedStatement[] = [];
  let current: Token[] = [];
  let trigger = false;
  let inBody = false;
  let bodyDone = false;
  let caseDepth = 0;
  for (const t of all) {
    if (t.type === "punct" && t.value === ";" && !(trigger && inBody && !bodyDone)) {
      if (current.length > 0) out.push(describe(sql, current));
      current = [];
      trigger = inBody = bodyDone = false;
      caseDepth = 0;
      continue;
    }
    current.push(t);
    if (t.type !== "word") continue;
    if (current.length <= 3 && isKeyword(t, "TRIGGER") && isKeyword(current[0], "CREATE")) {
      trigger = current.length === 2 || isKeyword(current[1], "TEMP") || isKeyword(current[1], "TEMPORARY");
    } else if (trigger) {
      if (!inBody && isKeyword(t, "BEGIN")) inBody = true;
      else if (isKeyword(t, "CASE")) caseDepth++;
      else if (isKeyword(t, "END")) {
        if (caseDepth > 0) caseDepth--;
        else if (inBody) bodyDone = true;
      }
    }
  }
  if (current.length > 0) out.push(describe(sql, current));
  return out;
}

const cache = new LruCache<string, ParsedSql>(4096);
const CACHEABLE_LENGTH = 16 * 1024;

/** Parsed form of `sql` (cached: the same SQL text is parsed once). */
export function parseSql(sql: string): ParsedSql {
  const hit = cache.get(sql);
  if (hit !== undefined) return hit;
  const parsed: ParsedSql = { statements: split(sql) };
  if (sql.length <= CACHEABLE_LENGTH) cache.set(sql, parsed);
  return parsed;
}

/** The statements of `sql` as separate strings (empty statements and comments dropped). */
export function splitStatements(sql: string): string[] {
  return parseSql(sql).statements.map((s) => s.sql);
}
