/**
 * What one statement of the `*-batch100-*` rows costs the state machine, in
 * CPU time (process.cpuUsage, so other load on a shared machine does not
 * count): the leader encodes each 100-INSERT entry once; every replica
 * decodes and applies it. The entries are built from the load generator's
 * own request bodies, as POST /sql turns them into a command.
 * Run: bun bench/db-batch-apply.ts [--entries 1000] [--per-call 1] [--rounds 7]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command, Statement } from "../src/db/command.ts";
import { decodeCommand, encodeCommand } from "../src/db/command-codec.ts";
import { StateMachine, type ApplyEntry } from "../src/db/state-machine.ts";
import { BATCH_STATEMENTS, PAYLOAD_BYTES } from "./scenarios.ts";
import { CREATE_BENCH_TABLE, operationMaker } from "./workload.ts";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const entries = option("entries", 1000);
const perCall = option("per-call", 1);
const rounds = option("rounds", 7);
const make = operationMaker({ kind: "sql-batch", urls: ["http://127.0.0.1:1"], query: "", statements: BATCH_STATEMENTS, payloadBytes: PAYLOAD_BYTES });

function entryCommand(seq: number): Command {
  const body = JSON.parse(make(seq % 16, seq).body!) as { statements: Statement[]; transaction: boolean };
  return { kind: "statements", statements: body.statements, transaction: body.transaction, stamp: { now: Date.now(), seed: seq } };
}

/** CPU microseconds used since `start`. */
function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const dir = mkdtempSync(join(tmpdir(), "ql-batch-apply-"));
const sm = StateMachine.open(join(dir, "db.sqlite"), { fsync: false });
sm.applyEntries([{ index: 1, command: { kind: "statements", transaction: false, stamp: { now: 0, seed: 0 }, statements: [{ sql: CREATE_BENCH_TABLE }] } }]);
let index = 2;
let seq = 0;
const costs = { encode: [] as number[], decode: [] as number[], apply: [] as number[] };
let entryBytes = 0;
// Round 0 warms the JIT and is not counted.
for (let round = 0; round <= rounds; round++) {
  const commands = Array.from({ length: entries }, () => entryCommand(seq++));
  const statements = entries * BATCH_STATEMENTS;
  let start = process.cpuUsage();
  const encoded = commands.map((c) => encodeCommand(c));
  const encode = cpuSince(start) / statements;
  // As a node does: decode the entries of one apply call, apply them, drop them.
  let decodeUs = 0;
  let applyUs = 0;
  for (let i = 0; i < entries; i += perCall) {
    start = process.cpuUsage();
    const batch: ApplyEntry[] = encoded.slice(i, i + perCall).map((bytes) => ({ index: index++, command: decodeCommand(bytes) }));
    decodeUs += cpuSince(start);
    start = process.cpuUsage();
    const outcomes = sm.applyEntries(batch);
    applyUs += cpuSince(start);
    for (const o of outcomes) if (o?.kind === "statements" && !o.ok) throw new Error(`apply failed: ${JSON.stringify(o.error)}`);
  }
  const decode = decodeUs / statements;
  const apply = applyUs / statements;
  entryBytes = encoded[0]!.length;
  if (round === 0) continue;
  costs.encode.push(encode);
  costs.decode.push(decode);
  costs.apply.push(apply);
}
sm.close();
rmSync(dir, { recursive: true, force: true });

const e = median(costs.encode);
const d = median(costs.decode);
const a = median(costs.apply);
console.log(`bun ${Bun.version}; ${entries} entries of ${BATCH_STATEMENTS} INSERTs (${entryBytes} bytes each), ${perCall} per applyEntries call; median of ${rounds} rounds, CPU µs per statement`);
console.log(`encode (leader)          ${e.toFixed(3)}`);
console.log(`decode (every replica)   ${d.toFixed(3)}`);
console.log(`apply  (every replica)   ${a.toFixed(3)}`);
console.log(`3-node cluster total     ${(e + 3 * (d + a)).toFixed(3)}  (encode + 3 × (decode + apply))`);
