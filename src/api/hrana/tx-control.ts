/**
 * Recognises SQLite's transaction-control statements. A Hrana stream is a
 * connection with a transaction state that spans HTTP requests; in
 * quorumlite that state lives in the Hrana layer (an InteractiveTx on the
 * leader, or a read-only transaction served locally), so these statements are
 * interpreted here rather than passed to a database.
 */
import type { Token } from "./sql-lexer.ts";

export type TxControl =
  /** `BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION [name]]`; libSQL adds `READONLY` (`BEGIN TRANSACTION READONLY`, as @libsql/client sends). */
  | { readonly kind: "begin"; readonly readOnly: boolean }
  /** `COMMIT` / `END` [TRANSACTION] */
  | { readonly kind: "commit" }
  /** `ROLLBACK [TRANSACTION]` without `TO` */
  | { readonly kind: "rollback" }
  | { readonly kind: "savepoint"; readonly name: string }
  | { readonly kind: "release"; readonly name: string }
  | { readonly kind: "rollback-to"; readonly name: string };

/** Savepoint names compare like SQLite identifiers: unquoted, ASCII case-insensitive. */
export function normalizeName(tok: Token): string {
  let t = tok.text;
  if (tok.kind === "ident" || tok.kind === "string") {
    const q = t[0]!;
    const close = q === "[" ? "]" : q;
    t = t.slice(1, t.endsWith(close) && t.length > 1 ? -1 : undefined);
    if (q !== "[") t = t.split(close + close).join(close);
  }
  return t.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

const word = (t: Token | undefined): string => (t !== undefined && t.kind === "word" ? t.text.toUpperCase() : "");

export function classifyTxControl(tokens: readonly Token[]): TxControl | null {
  const first = word(tokens[0]);
  switch (first) {
    case "BEGIN": {
      // Anything after BEGIN that is the word READONLY marks a read-only transaction
      // (it may sit where SQLite expects a transaction name).
      const readOnly = tokens.slice(1).some((t) => word(t) === "READONLY");
      return { kind: "begin", readOnly };
    }
    case "COMMIT":
    case "END":
      return { kind: "commit" };
    case "ROLLBACK": {
      const toIdx = tokens.findIndex((t) => word(t) === "TO");
      if (toIdx < 0) return { kind: "rollback" };
      const name = tokens[tokens.length - 1];
      if (name === undefined || tokens.length - 1 === toIdx) return null;
      return { kind: "rollback-to", name: normalizeName(name) };
    }
    case "SAVEPOINT": {
      const name = tokens[1];
      return name === undefined ? null : { kind: "savepoint", name: normalizeName(name) };
    }
    case "RELEASE": {
      const name = tokens[tokens.length - 1];
      if (name === undefined || tokens.length < 2) return null;
      return { kind: "release", name: normalizeName(name) };
    }
    default:
      return null;
  }
}
