/**
 * The simulator itself: a seed replays identically, and the checker's
 * invariants fire on fabricated histories (so a silent checker cannot pass
 * for a correct core).
 */
import { describe, expect, test } from "bun:test";
import type { Entry } from "../../src/raft/types.ts";
import { Harness } from "./harness.ts";
import { Checker } from "./invariants.ts";
import { awaitConvergence } from "./liveness.ts";
import { runSeed } from "./run-seed.ts";
import { SimLog } from "./sim-log.ts";
import { Violation } from "./violation.ts";

function trace(seed: number): string[] {
  const lines: string[] = [];
  runSeed(seed, { trace: (l) => void lines.push(l) });
  return lines;
}

function thrown(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof Violation) return e.invariant;
    throw e;
  }
}

const enc = new TextEncoder();
const boot = { index: 0, term: 0, membership: { members: [{ id: "a", role: "voter" as const, region: "A" }] } };
const normal = (index: number, term: number, s: string): Entry => ({ type: "normal", index, term, data: enc.encode(s) });

function logOf(checker: Checker, node: string, entries: Entry[]): SimLog {
  const l = new SimLog(boot, 0);
  const err = l.append(entries, (e, c) => checker.registerEntry(node, e.index, e.term, c));
  if (err) throw new Error(err);
  return l;
}

describe("determinism", () => {
  test("the same seed gives the same event trace; another seed does not", () => {
    const a = trace(42);
    expect(a.length).toBeGreaterThan(1000);
    expect(trace(42)).toEqual(a);
    expect(trace(43)).not.toEqual(a);
  });
});

describe("checker", () => {
  test("two leaders in one term", () => {
    const c = new Checker();
    const l = logOf(c, "a", []);
    c.onLeader("a", 3, l);
    expect(thrown(() => c.onLeader("b", 3, l))).toBe("election-safety");
  });

  test("same index and term with different content", () => {
    const c = new Checker();
    logOf(c, "a", [normal(1, 1, "x")]);
    expect(thrown(() => logOf(c, "b", [normal(1, 1, "y")]))).toBe("log-matching");
  });

  test("a leader missing an entry committed in an earlier term", () => {
    const c = new Checker();
    const full = logOf(c, "a", [normal(1, 1, "x"), normal(2, 1, "y")]);
    c.onCommit("a", 0, 2, 1, full);
    const short = logOf(c, "b", [normal(1, 1, "x")]);
    expect(thrown(() => c.onLeader("b", 2, short))).toBe("leader-completeness");
    // …but a leader of that same term elected earlier is no contradiction.
    expect(thrown(() => c.onLeader("b", 1, short))).toBeNull();
  });

  test("two different entries committed (or applied) at one index", () => {
    const c = new Checker();
    const a = logOf(c, "a", [normal(1, 1, "x")]);
    const b = logOf(c, "b", [normal(1, 2, "y")]);
    c.onCommit("a", 0, 1, 1, a);
    expect(thrown(() => c.onCommit("b", 0, 1, 2, b))).toBe("commit-agreement");
    c.onApply("a", 1, a.chainAt(1)!);
    expect(thrown(() => c.onApply("b", 1, b.chainAt(1)!))).toBe("state-machine-safety");
  });

  test("commit index going back", () => {
    const c = new Checker();
    const a = logOf(c, "a", [normal(1, 1, "x"), normal(2, 1, "y")]);
    expect(thrown(() => c.onCommit("a", 2, 1, 1, a))).toBe("commit-monotonic");
  });

  test("a read older than an acknowledged write", () => {
    const c = new Checker();
    const a = logOf(c, "a", [normal(1, 1, "x"), normal(2, 1, "y")]);
    c.onAck(2, a.chainAt(2)!, 1);
    expect(thrown(() => c.onReadIndex("a", "r", 1, c.watermark, true))).toBe("stale-read");
    expect(thrown(() => c.onReadIndex("a", "r", 2, c.watermark, false))).toBeNull();
  });

  test("an acknowledged write replaced", () => {
    const c = new Checker();
    const a = logOf(c, "a", [normal(1, 1, "x")]);
    c.onAck(1, a.chainAt(1)!, 1);
    const b = logOf(c, "b", [normal(1, 2, "y")]);
    expect(thrown(() => c.onApply("b", 1, b.chainAt(1)!))).toBe("acked-write-lost");
  });
});

describe("liveness check", () => {
  test("passes on a healthy cluster and fires when no majority is left", () => {
    const ok = new Harness({ voters: 3, seed: 5 });
    expect(awaitConvergence(ok.c, 1000, 5000).convergedAfterMs).toBeLessThan(1000);
    const h = new Harness({ voters: 3, seed: 5 });
    h.waitLeader();
    h.crash("n1");
    h.crash("n2");
    expect(thrown(() => awaitConvergence(h.c, 1000, 5000))).toBe("liveness");
  });
});
