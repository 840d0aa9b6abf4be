/**
 * Routing hint only: decides whether a statement can go to the nearest node
 * as a read. The server is the authority (it asks SQLite whether a statement
 * is read-only and forwards writes to the leader), so a wrong "write" answer
 * costs a hop to the leader and a wrong "read" answer costs a forward — never
 * correctness. The check is conservative: only an unmistakable read says yes.
 */

const READ_STARTS = new Set(["SELECT", "VALUES", "WITH"]);
const WRITE_WORDS = /\b(INSERT|UPDATE|DELETE|REPLACE|UPSERT|RETURNING|CREATE|DROP|ALTER|ATTACH|DETACH|PRAGMA|VACUUM|REINDEX|ANALYZE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

export function isCertainlyReadOnly(sql: string): boolean {
  const code = stripLiteralsAndComments(sql).trim().replace(/;\s*$/, "");
  if (code.includes(";")) return false;
  const first = /^[A-Za-z]+/.exec(code)?.[0]?.toUpperCase();
  if (first === undefined || !READ_STARTS.has(first)) return false;
  return !WRITE_WORDS.test(code);
}

/** Replaces string literals, quoted identifiers and comments by a space so keywords inside them do not count. */
function stripLiteralsAndComments(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
      out += " ";
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
      out += " ";
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      let j = i + 1;
      // A doubled quote is an escaped quote inside the literal.
      while (j < sql.length && !(sql[j] === close && sql[j + 1] !== close)) j += sql[j] === close ? 2 : 1;
      i = j + 1;
      out += " x ";
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
