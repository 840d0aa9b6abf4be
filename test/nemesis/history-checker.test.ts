import { describe, expect, test } from "bun:test";
import { checkHistory, type AppendOp, type History, type ReadOp, type Row } from "./history-checker.ts";

// Client 1 appends seqs 0..2, acknowledged at 10, 20 and 30 ms; seq 3 has an unknown outcome.
const appends: AppendOp[] = [
  { client: 1, seq: 0, invokedAt: 5, outcome: "ok", ackedAt: 10 },
  { client: 1, seq: 1, invokedAt: 15, outcome: "ok", ackedAt: 20 },
  { client: 1, seq: 2, invokedAt: 25, outcome: "ok", ackedAt: 30 },
  { client: 1, seq: 3, invokedAt: 35, outcome: "unknown", ackedAt: null },
];
const rows = (...seqs: number[]): Row[] => seqs.map((seq, i) => ({ id: i + 1, client: 1, seq }));
const read = (invokedAt: number, completedAt: number, seqs: number[], node = "n1"): ReadOp => ({ ofClient: 1, invokedAt, completedAt, seqs, node });
const history = (over: Partial<History>): History => ({
  appends,
  reads: [read(12, 14, [0]), read(22, 24, [0, 1]), read(40, 45, [0, 1, 2, 3])],
  finalRows: new Map([
    ["n1", rows(0, 1, 2, 3)],
    ["n2", rows(0, 1, 2, 3)],
  ]),
  ...over,
});
const kinds = (h: History) => checkHistory(h).map((v) => v.kind);

describe("checkHistory", () => {
  test("a linearizable history passes, including an unknown append that was applied", () => {
    expect(checkHistory(history({}))).toEqual([]);
  });

  test("an unknown append that was never applied is fine too", () => {
    expect(
      kinds(
        history({
          reads: [read(40, 45, [0, 1, 2])],
          finalRows: new Map([["n1", rows(0, 1, 2)]]),
        }),
      ),
    ).toEqual([]);
  });

  test("a read concurrent with an append may or may not see it", () => {
    expect(kinds(history({ reads: [read(18, 19, [0]), read(18, 22, [0, 1]), read(19, 21, [0])] }))).toEqual([]);
  });

  test("catches an acknowledged append missing at the end", () => {
    expect(kinds(history({ finalRows: new Map([["n1", rows(0, 2, 3)]]) }))).toContain("lost-append");
  });

  test("catches an append applied twice", () => {
    expect(kinds(history({ finalRows: new Map([["n1", rows(0, 1, 1, 2, 3)]]) }))).toContain("duplicate-append");
  });

  test("catches a row nobody appended, and one whose append definitely failed", () => {
    const failed: AppendOp = { client: 1, seq: 4, invokedAt: 50, outcome: "failed", ackedAt: null };
    const got = checkHistory(history({ appends: [...appends, failed], finalRows: new Map([["n1", rows(0, 1, 2, 3, 4, 9)]]) }));
    expect(got.filter((v) => v.kind === "phantom-append").map((v) => v.detail)).toEqual([
      "n1 holds 1:4, whose append definitely failed",
      "n1 holds 1:9, which was never issued",
    ]);
  });

  test("catches replicas that diverge, even in row ids alone", () => {
    const shifted = rows(0, 1, 2, 3).map((r) => ({ ...r, id: r.id + 1 }));
    expect(kinds(history({ finalRows: new Map([["n1", rows(0, 1, 2, 3)], ["n2", shifted]]) }))).toEqual(["replicas-diverge"]);
  });

  test("catches a stale read: one that began after an append was acknowledged and missed it", () => {
    const got = checkHistory(history({ reads: [read(22, 24, [0])] }));
    expect(got).toEqual([{ kind: "stale-read", detail: "read of client 1 at n1 (22–24 ms) lacks seq 1: its append was acknowledged at 20 ms" }]);
  });

  test("catches a non-monotonic read: it missed what a read that finished before it began returned", () => {
    // Seq 3's outcome is unknown, so only the earlier read makes it required.
    const got = checkHistory(history({ reads: [read(36, 38, [0, 1, 2, 3], "n2"), read(40, 45, [0, 1, 2], "n3")] }));
    expect(got.map((v) => v.kind)).toEqual(["non-monotonic-read"]);
    expect(got[0]!.detail).toContain("lacks seq 3: a read at n2 that completed at 38 ms returned it");
  });

  test("catches a read returning a value not yet issued", () => {
    expect(kinds(history({ reads: [read(12, 14, [0, 1])] }))).toEqual(["read-from-nowhere"]);
  });

  test("caps each kind at five details plus a count", () => {
    const many = Array.from({ length: 8 }, (_, i) => read(100 + i, 101 + i, []));
    const got = checkHistory(history({ reads: many }));
    const stale = got.filter((v) => v.kind === "stale-read");
    expect(stale).toHaveLength(6);
    expect(stale[5]!.detail).toBe("… and 19 more");
  });
});
