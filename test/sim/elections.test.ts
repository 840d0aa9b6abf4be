/**
 * Pre-vote, check-quorum and leadership transfer, alone and together (after
 * etcd-io/raft's testdata: prevote, checkquorum, campaign, transfer cases),
 * and partial connectivity — the 2020 etcd outage shape.
 */
import { describe, expect, test } from "bun:test";
import { Harness } from "./harness.ts";

const ELECTION_MS = 100; // electionTicks 10 × tick 10 ms

describe("pre-vote (thesis §9.6)", () => {
  test("a node rejoining after a partition does not depose the leader", () => {
    const h = new Harness({ voters: 3, seed: 21 });
    const l = h.waitLeader();
    const term = l.term;
    const x = h.node(h.ids.find((i) => i !== l.id)!);
    const heal = h.isolate(x.id);
    h.run(10 * ELECTION_MS);
    expect(x.term).toBe(term);
    heal();
    h.run(5 * ELECTION_MS);
    expect(l.isLeader).toBe(true);
    expect(l.term).toBe(term);
    h.waitApplied(h.write());
  });

  test("without pre-vote the same rejoin forces a new election (why pre-vote is on)", () => {
    const h = new Harness({ voters: 3, seed: 21, core: { preVote: false } });
    const l = h.waitLeader();
    const term = l.term;
    const x = h.node(h.ids.find((i) => i !== l.id)!);
    const heal = h.isolate(x.id);
    h.run(10 * ELECTION_MS);
    expect(x.term).toBeGreaterThan(term);
    heal();
    h.run(5 * ELECTION_MS);
    expect(h.waitLeader().term).toBeGreaterThan(term);
  });
});

describe("check-quorum (thesis §6.2)", () => {
  test("a leader cut off from its quorum steps down within two election timeouts", () => {
    const h = new Harness({ voters: 3, seed: 22 });
    const l = h.waitLeader();
    const cutAt = h.now;
    h.isolate(l.id);
    h.waitFor(() => !l.isLeader, 3 * ELECTION_MS, "the isolated leader to step down");
    expect(h.now - cutAt).toBeLessThanOrEqual(2 * ELECTION_MS + 20);
  });

  test("without check-quorum it keeps believing it leads", () => {
    const h = new Harness({ voters: 3, seed: 22, core: { checkQuorum: false } });
    const l = h.waitLeader();
    h.isolate(l.id);
    h.run(10 * ELECTION_MS);
    expect(l.isLeader).toBe(true);
  });

  test("followers that hear from a live leader reject votes from a disruptive candidate", () => {
    // Pre-vote off, so only check-quorum's lease stands between the leader and a node with a higher term.
    const h = new Harness({ voters: 3, seed: 23, core: { preVote: false } });
    const l = h.waitLeader();
    const x = h.node(h.ids.find((i) => i !== l.id)!);
    const y = h.node(h.ids.find((i) => i !== l.id && i !== x.id)!);
    // x loses the leader only: it campaigns, y still hears the leader and ignores x.
    h.c.net.both(x.id, l.id);
    h.run(5 * ELECTION_MS);
    expect(y.leader).toBe(l.id);
    expect(h.write()).toBeGreaterThan(0);
  });
});

describe("leadership transfer (thesis §3.10)", () => {
  test("the target takes over at once (no pre-vote, voters ignore their lease), and proposals and lease reads are refused meanwhile", () => {
    const h = new Harness({ voters: 3, seed: 24 });
    const l = h.waitLeader();
    h.write();
    const term = l.term;
    const target = h.ids.find((i) => i !== l.id)!;
    const refusedBefore = h.c.stats.readsRefused;
    expect(l.transferLeadership(target)).toBe(true);
    expect(l.propose(new TextEncoder().encode("during transfer"))).toMatchObject({ ok: false, reason: "transferring" });
    l.read("lease-during-transfer", true);
    expect(h.c.stats.readsRefused).toBe(refusedBefore + 1);
    const started = h.now;
    h.waitFor(() => h.node(target).isLeader, ELECTION_MS, "the transfer target to lead");
    expect(h.now - started).toBeLessThan(ELECTION_MS / 2);
    expect(h.node(target).term).toBe(term + 1);
    h.waitApplied(h.write());
  });

  test("a transfer to an unreachable node gives up after an election timeout and the leader serves again", () => {
    const h = new Harness({ voters: 3, seed: 25 });
    const l = h.waitLeader();
    const target = h.ids.find((i) => i !== l.id)!;
    h.c.net.both(l.id, target);
    expect(l.transferLeadership(target)).toBe(true);
    expect(h.propose(l)).toBeNull();
    h.waitFor(() => h.propose(l) !== null, 3 * ELECTION_MS, "the leader to accept proposals again", 5);
    expect(l.isLeader).toBe(true);
    expect(l.status().leadTransferee).toBeNull();
  });

  test("transfers under churn keep every invariant", () => {
    const h = new Harness({ voters: 5, seed: 26, faults: { loss: 0.05, duplicate: 0.05, reorder: 0.1, reorderMs: 20 } });
    let transfers = 0;
    for (let round = 0; round < 30; round++) {
      const l = h.c.currentLeader();
      if (l) {
        h.propose(l);
        const vs = h.ids.filter((i) => i !== l.id);
        if (l.transferLeadership(vs[round % vs.length]!)) transfers++;
      }
      h.run(30);
    }
    h.c.net.faults = { loss: 0, duplicate: 0, reorder: 0, reorderMs: 0 };
    h.waitApplied(h.write());
    expect(transfers).toBeGreaterThan(10);
    expect(h.c.stats.elections).toBeGreaterThan(10);
  });
});

describe("partial connectivity (the 2020 etcd outage shape)", () => {
  test("a node that reaches only the leader: no elections, writes keep committing", () => {
    const h = new Harness({ voters: 3, seed: 27 });
    const l = h.waitLeader();
    const term = l.term;
    const [x, y] = h.ids.filter((i) => i !== l.id) as [string, string];
    h.c.net.both(x, y);
    let last = 0;
    for (let i = 0; i < 40; i++) {
      last = h.write();
      h.run(25);
    }
    h.waitApplied(last);
    expect(l.isLeader).toBe(true);
    expect(h.maxTerm()).toBe(term);
  });

  test("a node cut from the leader only: pre-vote + check-quorum keep the leader, the node catches up after healing", () => {
    const h = new Harness({ voters: 3, seed: 28 });
    const l = h.waitLeader();
    const term = l.term;
    const x = h.ids.find((i) => i !== l.id)!;
    h.c.net.both(x, l.id);
    let last = 0;
    for (let i = 0; i < 40; i++) {
      last = h.write();
      h.run(25);
    }
    expect(l.isLeader).toBe(true);
    expect(l.term).toBe(term);
    expect(h.node(x).applied).toBeLessThan(last);
    h.heal();
    h.waitApplied(last);
  });

  test("the same cut without pre-vote and check-quorum deposes the healthy leader", () => {
    const h = new Harness({ voters: 3, seed: 28, core: { preVote: false, checkQuorum: false } });
    const l = h.waitLeader();
    const term = l.term;
    const x = h.ids.find((i) => i !== l.id)!;
    h.c.net.both(x, l.id);
    h.run(20 * ELECTION_MS);
    // x's campaign won over the third node; l, cut from x and ignored by the third, is a stale leader.
    expect(h.maxTerm()).toBeGreaterThan(term);
    expect(h.propose(l)).not.toBeNull();
    const before = l.commit;
    h.run(5 * ELECTION_MS);
    expect(l.commit).toBe(before);
  });

  test("five nodes, leader cut from two followers: the other two keep its majority", () => {
    const h = new Harness({ voters: 5, seed: 29 });
    const l = h.waitLeader();
    const term = l.term;
    const [a, b] = h.ids.filter((i) => i !== l.id) as [string, string];
    h.c.net.both(a, l.id);
    h.c.net.both(b, l.id);
    let last = 0;
    for (let i = 0; i < 30; i++) {
      last = h.write();
      h.run(25);
    }
    expect(l.isLeader).toBe(true);
    expect(l.term).toBe(term);
    h.heal();
    h.waitApplied(last);
  });
});
