/**
 * A small randomized fault run over the core, for fast feedback while
 * developing it (the full deterministic simulator lives in test/sim). Random
 * delivery order, loss, duplication, partitions, crashes that lose unpersisted
 * Readys, slow disks, proposals, reads, membership changes, transfers and
 * compaction; safety invariants are checked after every step.
 */
import type { Entry, Member, NodeId, PlantedBug } from "../../src/raft/types.ts";
import { TestCluster, seededRandom } from "./test-cluster.ts";

export interface ChaosResult {
  readonly violation: string | null;
  readonly commits: number;
  readonly reads: number;
}

const key = (e: Entry): string =>
  e.type === "normal" ? `n${e.term}:${new TextDecoder().decode(e.data)}` : e.type === "conf" ? `c${e.term}:${JSON.stringify(e.change)}` : `x${e.term}`;

export function runChaos(seed: number, steps: number, plantedBug?: PlantedBug): ChaosResult {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const ids = ["a", "b", "c", "d", "e"];
  const initial: Member[] = ["a", "b", "c"].map((id) => ({ id, role: "voter", region: id === "c" ? "iad" : "ams" }));
  const c = new TestCluster(["a", "b", "c"], {
    regions: { a: "ams", b: "ams", c: "iad" },
    config: { plantedBug, maxInflightMsgs: 4, maxMsgBytes: 64 },
    perNode: { a: { random: seededRandom(seed * 7 + 1) }, b: { random: seededRandom(seed * 7 + 2) }, c: { random: seededRandom(seed * 7 + 3) } },
  });
  for (const id of ["d", "e"]) c.addNode(id, initial, { plantedBug, maxInflightMsgs: 4, maxMsgBytes: 64, random: seededRandom(seed * 7 + id.charCodeAt(0)) });

  const leaderOfTerm = new Map<number, NodeId>();
  const appliedAt = new Map<number, string>();
  const seenApplied = new Map<NodeId, number>();
  const readFloor = new Map<string, number>();
  let ackedMax = 0;
  let writes = 0;
  let readsOk = 0;
  let readSeq = 0;

  const check = (): string | null => {
    for (const n of c.nodes.values()) {
      if (n.up) {
        const s = n.raft.status();
        if (s.role === "leader") {
          const prev = leaderOfTerm.get(s.term);
          if (prev !== undefined && prev !== n.id) return `two leaders in term ${s.term}: ${prev} and ${n.id}`;
          leaderOfTerm.set(s.term, n.id);
        }
      }
      const from = seenApplied.get(n.id) ?? 0;
      for (const e of n.applied.slice(from)) {
        const k = key(e);
        const prev = appliedAt.get(e.index);
        if (prev !== undefined && prev !== k) return `state machine safety: index ${e.index} applied as ${prev} and ${k} (${n.id})`;
        appliedAt.set(e.index, k);
        if (e.type === "normal") ackedMax = Math.max(ackedMax, e.index);
      }
      seenApplied.set(n.id, n.applied.length);
      for (const r of n.readStates.splice(0)) {
        const floor = readFloor.get(r.ctx);
        if (floor === undefined) continue;
        readFloor.delete(r.ctx);
        if (r.ok) {
          readsOk++;
          if (r.index < floor) return `stale read ${r.ctx} on ${n.id}: index ${r.index} < acknowledged ${floor}`;
        }
      }
    }
    return null;
  };

  const upIds = () => ids.filter((id) => c.node(id).up);

  for (let step = 0; step < steps; step++) {
    const x = rnd();
    if (x < 0.4) {
      if (c.network.length > 0) {
        const i = Math.floor(rnd() * c.network.length);
        const m = c.network[i];
        const y = rnd();
        if (y >= 0.05) c.network.splice(i, 1); // else: duplicate (leave a copy in flight)
        if (y < 0.9) c.deliver(m);
      }
    } else if (x < 0.65) {
      const id = pick(upIds());
      if (id) c.tick(id);
    } else if (x < 0.75) {
      const id = pick(upIds());
      if (id && c.raft(id).status().role === "leader") c.propose(id, `w${seed}-${writes++}`);
    } else if (x < 0.8) {
      const id = pick(upIds());
      if (id) {
        const ctx = `r${readSeq++}`;
        readFloor.set(ctx, ackedMax);
        c.raft(id).readIndex(ctx, { lease: rnd() < 0.5 });
      }
    } else if (x < 0.82) {
      c.heal();
      for (const a of ids) for (const b of ids) if (a < b && rnd() < 0.3) c.cutLink(a, b);
    } else if (x < 0.85) {
      c.heal();
    } else if (x < 0.86) {
      const id = pick(upIds());
      if (id && upIds().length > 2) c.crash(id);
    } else if (x < 0.89) {
      const down = ids.filter((id) => !c.node(id).up);
      if (down.length > 0) c.restart(pick(down));
    } else if (x < 0.92) {
      const n = c.node(pick(ids));
      if (n.up) {
        if (n.holdPersist) c.release(n.id);
        else n.holdPersist = true;
      }
    } else if (x < 0.935) {
      const leader = c.leaders()[0];
      if (leader) {
        const membership = c.raft(leader).status().membership;
        const id = pick(ids);
        const member = membership.members.find((m) => m.id === id);
        const region = id === "c" || id === "e" ? "iad" : "ams";
        const r = rnd();
        if (!member) c.raft(leader).proposeConfChange(r < 0.5 ? { op: "add-learner", member: { id, region } } : { op: "add-voter", member: { id, region } });
        else if (member.role === "learner") c.raft(leader).proposeConfChange(r < 0.7 ? { op: "promote", id } : { op: "remove", id });
        else if (membership.members.filter((m) => m.role === "voter").length > 3) c.raft(leader).proposeConfChange({ op: "remove", id });
      }
    } else if (x < 0.945) {
      const leader = c.leaders()[0];
      if (leader) c.raft(leader).transferLeadership(pick(ids));
    } else if (x < 0.96) {
      const id = pick(upIds());
      if (id) {
        const s = c.raft(id).status();
        const meta = c.raft(id).compact(s.applied - Math.floor(rnd() * 3));
        if (meta) {
          const n = c.node(id);
          n.disk.snapshot = meta;
          n.disk.entries = n.disk.entries.filter((e) => e.index > meta.index);
        }
      }
    }
    c.flush();
    const v = check();
    if (v) return { violation: `seed ${seed} step ${step}: ${v}`, commits: ackedMax, reads: readsOk };
  }
  // Liveness: heal everything and the cluster must converge.
  c.heal();
  for (const id of ids) if (!c.node(id).up) c.restart(id);
  for (const id of ids) if (c.node(id).holdPersist) c.release(id);
  for (let i = 0; i < 400; i++) {
    for (const id of ids) c.tick(id);
    c.stabilize();
    const v = check();
    if (v) return { violation: `seed ${seed} healing: ${v}`, commits: ackedMax, reads: readsOk };
  }
  const leaders = c.leaders();
  if (leaders.length !== 1) return { violation: `seed ${seed}: no single leader after healing (${leaders.join(",")})`, commits: ackedMax, reads: readsOk };
  const lead = c.raft(leaders[0]);
  const p = lead.propose(new TextEncoder().encode(`final-${seed}`));
  for (let i = 0; i < 50; i++) {
    for (const id of ids) c.tick(id);
    c.stabilize();
  }
  const v = check();
  if (v) return { violation: `seed ${seed} final: ${v}`, commits: ackedMax, reads: readsOk };
  if (!p.ok || lead.status().commit < p.index) return { violation: `seed ${seed}: final proposal did not commit`, commits: ackedMax, reads: readsOk };
  return { violation: null, commits: ackedMax, reads: readsOk };
}
