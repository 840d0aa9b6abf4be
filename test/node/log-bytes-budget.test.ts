import { expect, test } from "bun:test";
import { LogBytesBudget } from "../../src/node/log-bytes-budget.ts";
import type { Entry } from "../../src/raft/types.ts";

const entry = (index: number, bytes: number): Entry => ({ type: "normal", term: 1, index, data: new Uint8Array(bytes - 16) }); // entrySize adds 16

test("over budget only once the bytes applied since the last compaction exceed it", () => {
  const b = new LogBytesBudget(10_000, 3_000);
  for (let i = 1; i <= 10; i++) b.applied([entry(i, 1_000)]);
  expect(b.overBudget()).toBe(false);
  b.applied([entry(11, 1_000)]);
  expect(b.overBudget()).toBe(true);
});

test("the compaction point keeps about keepBytes of the newest entries", () => {
  const b = new LogBytesBudget(10_000, 3_000);
  for (let i = 1; i <= 11; i++) b.applied([entry(i, 1_000)]);
  // Entries 9, 10, 11 hold 3,000 bytes: everything up to 8 may go.
  expect(b.compactionPoint()).toBe(8);
  b.compacted(8);
  expect(b.overBudget()).toBe(false);
  for (let i = 12; i <= 21; i++) b.applied([entry(i, 1_000)]);
  expect(b.overBudget()).toBe(false);
  b.applied([entry(22, 1_000)]);
  expect(b.overBudget()).toBe(true);
  expect(b.compactionPoint()).toBe(19);
});

test("a few huge entries: nothing to compact until newer entries hold keepBytes", () => {
  const b = new LogBytesBudget(1_000, 5_000);
  b.applied([entry(1, 4_000)]);
  expect(b.overBudget()).toBe(true);
  expect(b.compactionPoint()).toBe(0);
  b.applied([entry(2, 6_000)]);
  expect(b.compactionPoint()).toBe(1);
});
