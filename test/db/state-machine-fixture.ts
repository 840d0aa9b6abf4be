/** Shared setup for the state machine tests: temp directories, commands, and a full dump of a database file. */
import { Database } from "bun:sqlite";
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BatchStep, Command, CommandOutcome, SqlArgs, Stamp, StepOutcome } from "../../src/db/command.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory, removed after the test file. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "ql-db-"));
  dirs.push(d);
  return d;
}

export const STAMP: Stamp = { now: Date.UTC(2024, 4, 6, 7, 8, 9, 123), seed: 12345 };

export function stmts(sqls: readonly (string | [string, SqlArgs])[], opts: { transaction?: boolean; stamp?: Stamp; requestId?: string } = {}): Command {
  return {
    kind: "statements",
    transaction: opts.transaction ?? false,
    stamp: opts.stamp ?? STAMP,
    statements: sqls.map((s) => (typeof s === "string" ? { sql: s } : { sql: s[0], args: s[1] })),
    ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
  };
}

export function batch(steps: readonly BatchStep[], opts: { stamp?: Stamp; requestId?: string } = {}): Command {
  return { kind: "batch", steps, stamp: opts.stamp ?? STAMP, ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}) };
}

/** The outcome of a `batch` command, narrowed. */
export function stepsOf(o: CommandOutcome | null): readonly (StepOutcome | null)[] {
  if (o === null || o.kind !== "batch") throw new Error(`expected a batch outcome, got ${JSON.stringify(o)}`);
  return o.steps;
}

export function okRows(step: StepOutcome | null | undefined): readonly (readonly unknown[])[] {
  if (!step?.ok) throw new Error(`step failed: ${JSON.stringify(step)}`);
  return step.result.rows;
}

function encodeForDump(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString("hex")}'`;
  return v;
}

/** Every table's rows (internal tables included), in rowid/key order, plus the schema: what must match across replicas. */
export function dumpDatabase(path: string): string {
  const db = new Database(path, { readonly: true, safeIntegers: true });
  try {
    const schema = db.query("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name").values();
    const tables = db
      .query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .values()
      .map((r) => String(r[0]));
    const parts: unknown[] = [schema];
    for (const t of tables) {
      const rows = db
        .query(`SELECT * FROM "${t.replaceAll('"', '""')}"`)
        .values()
        .map((r) => JSON.stringify(r, encodeForDump))
        .sort();
      parts.push([t, rows]);
    }
    return JSON.stringify(parts, encodeForDump);
  } finally {
    db.close();
  }
}
