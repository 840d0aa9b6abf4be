/**
 * A real 3-process cluster under kill -9, SIGSTOP, lost quorum and (with
 * network namespaces) an isolated leader, checked for linearizable reads and
 * exactly-once appends (history-checker.ts) and for atomic, isolated
 * transfers (bank-checker.ts). Longer and other-seed runs: `npm run nemesis -- --help`.
 */
import { expect, test } from "bun:test";
import { NetnsLab } from "../support/netns-lab.ts";
import { runBank } from "./bank-run.ts";
import { runFindings } from "./faulty-cluster.ts";
import { runNemesis } from "./nemesis-run.ts";

const SEED = Number(process.env.QL_NEMESIS_SEED ?? 1);

test(`under kill -9, SIGSTOP and lost quorum, reads stay linearizable and every acknowledged append is applied exactly once (seed ${SEED})`, async () => {
  // Compacting every 100 entries sends some restarted nodes a snapshot instead of the log.
  const { violations, stats } = await runNemesis({ seconds: 25, seed: SEED, snapshotEvery: 100 });
  expect([...violations, ...runFindings(stats)]).toEqual([]);
  // Not vacuous: the run did work, faults happened, leadership moved, and
  // appends whose first attempt failed were resent and acknowledged.
  expect(stats.appendsAcked).toBeGreaterThan(200);
  expect(stats.reads).toBeGreaterThan(200);
  expect(stats.faults.length).toBeGreaterThanOrEqual(5);
  expect(stats.lastTerm).toBeGreaterThan(stats.firstTerm);
  expect(stats.ackedAfterResend).toBeGreaterThan(0);
}, 120_000);

test(`through quorumlite/client (its routing, retries and request ids), faults cost no acknowledged append, no duplicate and no stale read (seed ${SEED})`, async () => {
  const { violations, stats } = await runNemesis({ seconds: 15, seed: SEED + 1, via: "client" });
  expect([...violations, ...runFindings(stats)]).toEqual([]);
  expect(stats.appendsAcked).toBeGreaterThan(100);
  expect(stats.reads).toBeGreaterThan(100);
  expect(stats.lastTerm).toBeGreaterThan(stats.firstTerm);
}, 90_000);

// Needs root and iproute2 for network namespaces; skipped, with this name saying so, elsewhere.
test.skipIf(!NetnsLab.available())(`a leader cut off from its peers while its clients still reach it serves no stale lease read (level=weak) and loses no append (seed ${SEED}; needs network namespaces)`, async () => {
  const { violations, stats } = await runNemesis({ seconds: 20, seed: SEED, partitions: true, faults: ["isolate-leader", "isolate"], readLevel: "weak" });
  expect([...violations, ...runFindings(stats)]).toEqual([]);
  expect(stats.appendsAcked).toBeGreaterThan(200);
  expect(stats.reads).toBeGreaterThan(200);
  expect(stats.faults.filter((f) => f.startsWith("isolate leader")).length).toBeGreaterThanOrEqual(2);
  expect(stats.lastTerm).toBeGreaterThan(stats.firstTerm);
}, 120_000);

test("the same run catches stale reads when reads are sent at level=none, which promises no recency", async () => {
  const { violations, stats } = await runNemesis({ seconds: 8, seed: SEED, faults: [], readLevel: "none" });
  expect(stats.reads).toBeGreaterThan(100);
  expect(violations.map((v) => v.kind)).toContain("stale-read");
  // Appends are unaffected by the read level.
  expect(violations.filter((v) => v.kind !== "stale-read" && v.kind !== "non-monotonic-read")).toEqual([]);
}, 60_000);

test(`bank: transfers in interactive transactions and atomic batches through @libsql/client keep the total under faults (seed ${SEED})`, async () => {
  const { violations, stats } = await runBank({ seconds: 20, seed: SEED, snapshotEvery: 100 });
  expect([...violations, ...runFindings(stats)]).toEqual([]);
  expect(stats.transfersCommitted).toBeGreaterThan(100);
  expect(stats.reads).toBeGreaterThan(100);
  expect(stats.lastTerm).toBeGreaterThan(stats.firstTerm);
}, 120_000);

test("the bank check catches transfers split into two requests (a planted bug: reads between them see money missing)", async () => {
  const { violations, stats } = await runBank({ seconds: 6, seed: SEED, faults: [], transfers: ["unsafe"] });
  expect(stats.transfersCommitted).toBeGreaterThan(50);
  expect(violations.map((v) => v.kind)).toContain("wrong-total");
}, 60_000);
