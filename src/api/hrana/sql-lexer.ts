/**
 * Just enough of SQLite's tokenizer for the Hrana layer: split a `sequence`
 * into statements, tell one statement from several (sqld's
 * SQL_MANY_STATEMENTS), read the leading keywords of transaction-control
 * statements, and list parameters for `describe`. The Hrana layer never opens
 * a database, so it cannot ask SQLite to do this.
 */

export type TokenKind = "word" | "string" | "ident" | "param" | "semi" | "other";

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80;
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;

/** Tokens without whitespace and comments. Unterminated strings/comments run to the end (SQLite then reports the error). */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number) => tokens.push({ kind, text: sql.slice(start, end), start, end });
  const quoted = (start: number, close: string): number => {
    let j = start + 1;
    while (j < n) {
      if (sql[j] === close) {
        // A doubled closing quote is an escaped quote inside the literal.
        if (close !== "]" && sql[j + 1] === close) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j++;
    }
    return n;
  };
  while (i < n) {
    const c = sql[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v") {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i + 2);
      i = nl < 0 ? n : nl + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? n : close + 2;
    } else if (c === "'") {
      const end = quoted(i, "'");
      push("string", i, end);
      i = end;
    } else if ((c === "x" || c === "X") && sql[i + 1] === "'") {
      const end = quoted(i + 1, "'");
      push("string", i, end);
      i = end;
    } else if (c === '"' || c === "`") {
      const end = quoted(i, c);
      push("ident", i, end);
      i = end;
    } else if (c === "[") {
      const end = quoted(i, "]");
      push("ident", i, end);
      i = end;
    } else if (c === ";") {
      push("semi", i, i + 1);
      i++;
    } else if (c === "?") {
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j]!)) j++;
      push("param", i, j);
      i = j;
    } else if ((c === ":" || c === "@" || c === "$") && i + 1 < n && isIdentPart(sql[i + 1]!)) {
      let j = i + 1;
      for (;;) {
        while (j < n && isIdentPart(sql[j]!)) j++;
        // TCL-style `$a::b` parameter names.
        if (c === "$" && sql[j] === ":" && sql[j + 1] === ":" && j + 2 < n && isIdentPart(sql[j + 2]!)) {
          j += 2;
          continue;
        }
        break;
      }
      push("param", i, j);
      i = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(sql[j]!)) j++;
      push("word", i, j);
      i = j;
    } else if (/[0-9.]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j]!)) {
        // Exponent sign: 1e+5
        if ((sql[j] === "e" || sql[j] === "E") && (sql[j + 1] === "+" || sql[j + 1] === "-")) j++;
        j++;
      }
      push("other", i, j);
      i = j;
    } else {
      push("other", i, i + 1);
      i++;
    }
  }
  return tokens;
}

export interface SqlStatementText {
  /** The statement without surrounding comments, whitespace or its terminating semicolon. */
  readonly sql: string;
  readonly tokens: readonly Token[];
}

const upper = (t: Token | undefined): string => (t !== undefined && t.kind === "word" ? t.text.toUpperCase() : "");

/** True when the statement's tokens so far begin `CREATE [TEMP|TEMPORARY] TRIGGER`. */
function isCreateTrigger(stmt: readonly Token[]): boolean {
  if (upper(stmt[0]) !== "CREATE") return false;
  const second = upper(stmt[1]);
  if (second === "TRIGGER") return true;
  return (second === "TEMP" || second === "TEMPORARY") && upper(stmt[2]) === "TRIGGER";
}

/**
 * Splits SQL text into statements at top-level semicolons. A trigger body
 * (`BEGIN … END`) holds semicolons of its own, so inside `CREATE TRIGGER`
 * BEGIN/CASE open a block and END closes one.
 */
export function splitStatements(sql: string): SqlStatementText[] {
  const out: SqlStatementText[] = [];
  let current: Token[] = [];
  let depth = 0;
  const flush = () => {
    if (current.length > 0) {
      out.push({ sql: sql.slice(current[0]!.start, current[current.length - 1]!.end), tokens: current });
    }
    current = [];
    depth = 0;
  };
  for (const tok of tokenize(sql)) {
    if (tok.kind === "semi" && depth <= 0) {
      flush();
      continue;
    }
    current.push(tok);
    if (tok.kind === "word" && isCreateTrigger(current)) {
      const w = tok.text.toUpperCase();
      if (w === "BEGIN" || w === "CASE") depth++;
      else if (w === "END") depth--;
    }
  }
  flush();
  return out;
}

/** SQLite's parameter numbering: `?` takes the next index, `?NNN` sets it, a repeated name reuses its index. */
export function parameterNames(tokens: readonly Token[]): (string | null)[] {
  const names: (string | null)[] = [];
  const byName = new Map<string, number>();
  let max = 0;
  for (const tok of tokens) {
    if (tok.kind !== "param") continue;
    if (tok.text === "?") {
      max++;
      names[max - 1] = null;
    } else if (tok.text.startsWith("?")) {
      const idx = Number(tok.text.slice(1));
      if (!Number.isSafeInteger(idx) || idx < 1) continue;
      if (!byName.has(tok.text)) byName.set(tok.text, idx);
      names[idx - 1] = tok.text;
      if (idx > max) max = idx;
    } else {
      if (byName.has(tok.text)) continue;
      max++;
      byName.set(tok.text, max);
      names[max - 1] = tok.text;
    }
  }
  const out: (string | null)[] = [];
  for (let i = 0; i < max; i++) out.push(names[i] ?? null);
  return out;
}
