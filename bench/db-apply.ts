/**
 * Micro-benchmark of the SQL state machine's apply path: single-row INSERT
 * entries applied in batches of 1, 64 and 1000 entries per applyEntries call
 * (one SQLite transaction each), and entries carrying a 100-statement batch.
 * Also the cost of decoding entries. Run: bun bench/db-apply.ts [--fsync]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "../src/db/command.ts";
import { decodeCommand, encodeCommand } from "../src/db/command-codec.ts";
import { StateMachine, type ApplyEntry } from "../src/db/state-machine.ts";

const fsync = process.argv.includes("--fsync");
const stamp = { now: Date.now(), seed: 1 };

function insert(i: number): Command {
  return { kind: "statements", transaction: false, stamp, statements: [{ sql: "INSERT INTO users (name, email, score) VALUES (?, ?, ?)", args: [`user ${i}`, `u${i}@example.com`, i] }] };
}

function insertBatch(i: number, n: number): Command {
  const statements = [];
  for (let j = 0; j < n; j++) statements.push({ sql: "INSERT INTO users (name, email, score) VALUES (?, ?, ?)", args: [`user ${i}.${j}`, `u${i}.${j}@example.com`, j] });
  return { kind: "statements", transaction: true, stamp, statements };
}

function measure(label: string, entriesPerCall: number, totalEntries: number, statementsPerEntry: number, make: (i: number) => Command): void {
  const dir = mkdtempSync(join(tmpdir(), "ql-bench-"));
  const sm = StateMachine.open(join(dir, "db.sqlite"), { fsync });
  sm.applyEntries([{ index: 1, command: { kind: "statements", transaction: false, stamp, statements: [{ sql: "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, score INTEGER)" }] } }]);
  let index = 2;
  const pass = (): number => {
    const commands = Array.from({ length: totalEntries }, (_, i) => make(i));
    const start = performance.now();
    for (let i = 0; i < totalEntries; i += entriesPerCall) {
      const entries: ApplyEntry[] = [];
      for (let j = i; j < Math.min(totalEntries, i + entriesPerCall); j++) entries.push({ index: index++, command: commands[j]! });
      const outcomes = sm.applyEntries(entries);
      if (outcomes[0]?.kind === "statements" && !outcomes[0].ok) throw new Error(JSON.stringify(outcomes[0].error));
    }
    return (performance.now() - start) / 1000;
  };
  pass(); // JIT warm-up, same table
  const seconds = pass();
  sm.close();
  rmSync(dir, { recursive: true, force: true });
  const statements = totalEntries * statementsPerEntry;
  console.log(
    `${label.padEnd(44)} ${Math.round(totalEntries / seconds)
      .toLocaleString("en")
      .padStart(9)} entries/s ${Math.round(statements / seconds)
      .toLocaleString("en")
      .padStart(10)} statements/s  (${((seconds * 1e6) / statements).toFixed(2)} µs/statement)`,
  );
}

console.log(`bun ${Bun.version}, synchronous=${fsync ? "FULL (--fsync)" : "NORMAL"}`);
measure("1-row INSERT entries, 1 entry per call", 1, fsync ? 2_000 : 20_000, 1, insert);
measure("1-row INSERT entries, 64 entries per call", 64, 64 * 1_000, 1, insert);
measure("1-row INSERT entries, 1000 entries per call", 1000, 200_000, 1, insert);
measure("100-statement transaction entries, 1 per call", 1, fsync ? 500 : 2_000, 100, (i) => insertBatch(i, 100));
measure("100-statement transaction entries, 10 per call", 10, 2_000, 100, (i) => insertBatch(i, 100));

const encoded = Array.from({ length: 100_000 }, (_, i) => encodeCommand(insert(i)));
for (const b of encoded) decodeCommand(b);
const t0 = performance.now();
for (const b of encoded) decodeCommand(b);
const decodeSeconds = (performance.now() - t0) / 1000;
console.log(`${"decodeCommand (1-row INSERT, ~70 bytes)".padEnd(44)} ${Math.round(encoded.length / decodeSeconds).toLocaleString("en").padStart(9)} entries/s`);
