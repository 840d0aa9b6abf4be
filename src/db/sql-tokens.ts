/**
 * A lexer for SQLite's SQL, close enough to SQLite's own (tokenize.c) that
 * strings, quoted identifiers, comments, blobs and variables never get
 * mistaken for keywords. Used to split a SQL string into statements and to
 * classify them (transaction control, refused statements); SQLite itself
 * still parses and runs every statement.
 */

export type TokenType =
  /** A bare word: keyword or identifier. `value` is the text as written. */
  | "word"
  /** `"x"`, `[x]` or `` `x` ``: `value` is the unquoted identifier. */
  | "quoted"
  /** `'x'`: `value` is the unescaped string. */
  | "string"
  | "number"
  | "blob"
  /** `?`, `?NNN`, `:name`, `@name`, `$name`, `#name`. */
  | "variable"
  /** Operators and punctuation, `value` is the operator (`;`, `(`, `||`, `->>` …). */
  | "punct";

export interface Token {
  readonly type: TokenType;
  readonly value: string;
  /** UTF-16 offsets into the source. */
  readonly start: number;
  readonly end: number;
}

const TWO_CHAR_OPERATORS = new Set(["||", "<=", ">=", "==", "!=", "<>", "<<", ">>", "->"]);

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 0x80;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
}

/** Ends a quoted run that doubles its quote character to escape it; returns the index after the closing quote (or the end). */
function scanQuoted(sql: string, from: number, quote: number): { end: number; value: string } {
  let value = "";
  let i = from + 1;
  let segment = i;
  while (i < sql.length) {
    if (sql.charCodeAt(i) === quote) {
      if (sql.charCodeAt(i + 1) === quote) {
        value += sql.slice(segment, i + 1);
        i += 2;
        segment = i;
        continue;
      }
      return { end: i + 1, value: value + sql.slice(segment, i) };
    }
    i++;
  }
  return { end: sql.length, value: value + sql.slice(segment) };
}

function scanNumber(sql: string, i: number): number {
  const n = sql.length;
  if (sql.charCodeAt(i) === 48 && (sql.charCodeAt(i + 1) | 0x20) === 120 /* 0x */) {
    i += 2;
    while (i < n && (/[0-9a-fA-F_]/.test(sql[i]!))) i++;
    return i;
  }
  while (i < n && (isDigit(sql.charCodeAt(i)) || sql.charCodeAt(i) === 95)) i++;
  if (sql.charCodeAt(i) === 46) {
    i++;
    while (i < n && (isDigit(sql.charCodeAt(i)) || sql.charCodeAt(i) === 95)) i++;
  }
  if ((sql.charCodeAt(i) | 0x20) === 101 /* e */) {
    let j = i + 1;
    if (sql[j] === "+" || sql[j] === "-") j++;
    if (isDigit(sql.charCodeAt(j))) {
      i = j;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
    }
  }
  // SQLite treats "123abc" as one (illegal) token: swallow trailing identifier characters.
  while (i < n && isIdentPart(sql.charCodeAt(i))) i++;
  return i;
}

/** Every token of `sql`, comments and whitespace left out. Never throws: malformed input yields best-effort tokens and SQLite reports the error. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const start = i;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf("\n", i + 2);
      i = nl === -1 ? n : nl + 1;
      continue;
    }
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? n : close + 2;
      continue;
    }
    if (c === 39 /* ' */) {
      const q = scanQuoted(sql, i, 39);
      tokens.push({ type: "string", value: q.value, start, end: q.end });
      i = q.end;
      continue;
    }
    if (c === 34 /* " */ || c === 96 /* ` */) {
      const q = scanQuoted(sql, i, c);
      tokens.push({ type: "quoted", value: q.value, start, end: q.end });
      i = q.end;
      continue;
    }
    if (c === 91 /* [ */) {
      const close = sql.indexOf("]", i + 1);
      const end = close === -1 ? n : close + 1;
      tokens.push({ type: "quoted", value: sql.slice(i + 1, close === -1 ? n : close), start, end });
      i = end;
      continue;
    }
    if ((c === 120 || c === 88) /* x X */ && sql.charCodeAt(i + 1) === 39) {
      const q = scanQuoted(sql, i + 1, 39);
      tokens.push({ type: "blob", value: q.value, start, end: q.end });
      i = q.end;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      i = scanNumber(sql, i);
      tokens.push({ type: "number", value: sql.slice(start, i), start, end: i });
      continue;
    }
    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentPart(sql.charCodeAt(i))) i++;
      tokens.push({ type: "word", value: sql.slice(start, i), start, end: i });
      continue;
    }
    if (c === 63 /* ? */) {
      i++;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      tokens.push({ type: "variable", value: sql.slice(start, i), start, end: i });
      continue;
    }
    if ((c === 58 || c === 64 || c === 36 || c === 35) /* : @ $ # */ && i + 1 < n && isIdentPart(sql.charCodeAt(i + 1))) {
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (isIdentPart(d)) i++;
        else if (c === 36 && d === 58 && sql.charCodeAt(i + 1) === 58) i += 2; // TCL-style $a::b
        else break;
      }
      if (c === 36 && sql.charCodeAt(i) === 40 /* ( */) {
        const close = sql.indexOf(")", i);
        i = close === -1 ? n : close + 1;
      }
      tokens.push({ type: "variable", value: sql.slice(start, i), start, end: i });
      continue;
    }
    if (sql.startsWith("->>", i)) {
      tokens.push({ type: "punct", value: "->>", start, end: i + 3 });
      i += 3;
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (TWO_CHAR_OPERATORS.has(two)) {
      tokens.push({ type: "punct", value: two, start, end: i + 2 });
      i += 2;
      continue;
    }
    // Surrogate pairs and other non-ASCII characters are identifier characters (handled above); anything else is one-char punctuation.
    tokens.push({ type: "punct", value: sql[i]!, start, end: i + 1 });
    i++;
  }
  return tokens;
}

/** True when `t` is the bare keyword `kw` (case-insensitive). Quoted words are identifiers, never keywords. */
export function isKeyword(t: Token | undefined, kw: string): boolean {
  return t !== undefined && t.type === "word" && t.value.length === kw.length && t.value.toUpperCase() === kw;
}

/** A name as SQLite reads it in `nm` position: bare word, quoted identifier or string literal. */
export function nameOf(t: Token | undefined): string | null {
  if (t === undefined) return null;
  return t.type === "word" || t.type === "quoted" || t.type === "string" ? t.value : null;
}

/**
 * The statement's parameters by index, as sqlite3_bind_parameter_name() names
 * them: `?` takes the next index and has no name, `?NNN` sets the index (and
 * is named `?NNN`), a repeated `:a`/`@a`/`$a`/`#a` reuses its first index.
 */
export function parameterNames(tokens: readonly Token[]): (string | null)[] {
  const names: (string | null)[] = [];
  const seen = new Set<string>();
  let count = 0;
  for (const t of tokens) {
    if (t.type !== "variable") continue;
    if (t.value === "?") {
      names[count++] = null;
    } else if (t.value.startsWith("?")) {
      const index = Number(t.value.slice(1));
      if (!Number.isSafeInteger(index) || index < 1) continue;
      // SQLite names an index after the first name it meets: `:a, ?1` leaves index 1 named `:a`.
      if (typeof names[index - 1] !== "string") names[index - 1] = t.value;
      if (index > count) count = index;
    } else if (!seen.has(t.value)) {
      seen.add(t.value);
      names[count++] = t.value;
    }
  }
  return Array.from({ length: count }, (_, i) => names[i] ?? null);
}
