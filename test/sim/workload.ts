/**
 * Clients and the operator during a run: proposals (mostly to whichever node
 * believes it leads, stale leaders included), ReadIndex and lease reads on any
 * node, membership changes (add learner → promote, remove) and leadership
 * transfers. The operator also shuts down nodes whose removal committed.
 */
import type { Cluster, Placement } from "./cluster.ts";
import type { Prng } from "./prng.ts";
import type { Scenario } from "./scenario.ts";
import type { SimNode } from "./sim-node.ts";

const encoder = new TextEncoder();

export class Workload {
  private active = false;
  private seq = 0;
  /** Nodes the operator ever asked to remove: their ids are never reused. */
  private readonly removed = new Set<string>();

  constructor(
    private readonly c: Cluster,
    private readonly s: Scenario,
    private readonly rng: Prng,
  ) {
  }

  start(): void {
    this.active = true;
    this.loop(this.s.proposeMeanMs, () => this.propose());
    this.loop(this.s.readMeanMs, () => this.read());
    this.loop(this.s.confChangeMeanMs, () => this.changeMembership());
    this.loop(this.s.transferMeanMs, () => this.transfer());
  }

  stop(): void {
    this.active = false;
  }

  private loop(meanMs: number, act: () => void): void {
    if (meanMs <= 0) return;
    const next = (): void => {
      if (!this.active) return;
      act();
      this.c.q.after(this.rng.exp(meanMs), next);
    };
    this.c.q.after(this.rng.exp(meanMs), next);
  }

  private target(): SimNode | null {
    const up = this.c.upNodes().filter((n) => !n.retired);
    if (up.length === 0) return null;
    const leaders = up.filter((n) => n.isLeader);
    return leaders.length > 0 && this.rng.chance(0.85) ? this.rng.pick(leaders) : this.rng.pick(up);
  }

  propose(): void {
    const n = this.target();
    if (n === null) return;
    // Payload sizes vary so byte-bounded batching and inflight windows are exercised.
    const pad = this.rng.chance(0.2) ? "x".repeat(this.rng.int(300)) : "";
    const r = n.propose(encoder.encode(`w${++this.seq}${pad}`));
    this.c.stats.proposals++;
    if (r?.ok) this.c.stats.proposalsAccepted++;
  }

  read(): void {
    const up = this.c.upNodes().filter((n) => !n.retired);
    if (up.length === 0) return;
    // Half the reads go to a node that believes it leads (a deposed leader is the interesting case).
    const leaders = up.filter((x) => x.isLeader);
    const n = leaders.length > 0 && this.rng.chance(0.5) ? this.rng.pick(leaders) : this.rng.pick(up);
    const lease = n.isLeader && this.rng.chance(this.s.leaseReadShare);
    this.c.stats.reads++;
    n.read(`r${++this.seq}`, lease);
  }

  transfer(): void {
    const l = this.c.currentLeader();
    if (l === null) return;
    const vs = l.status().membership.members.filter((m) => m.role === "voter" && m.id !== l.id);
    if (vs.length === 0) return;
    if (l.transferLeadership(this.rng.pick(vs).id)) this.c.stats.transfers++;
  }

  /** One operator step towards a random membership change (single-server, learners first). */
  changeMembership(): void {
    const l = this.c.currentLeader();
    if (l === null) return;
    const st = l.status();
    const members = st.membership.members;
    const voters = members.filter((m) => m.role === "voter");
    const learner = members.find((m) => m.role === "learner");
    if (learner !== undefined) {
      const p = st.progress?.find((x) => x.id === learner.id);
      if (p !== undefined && p.match >= st.commit) this.proposeConf(l, { op: "promote", id: learner.id });
      else if (this.rng.chance(0.1)) this.proposeConf(l, { op: "remove", id: learner.id });
      return;
    }
    const spare = this.s.spares.find((p) => {
      const n = this.c.nodes.get(p.id);
      return !this.removed.has(p.id) && (n === undefined || (!n.retired && !members.some((m) => m.id === p.id)));
    });
    if (spare !== undefined && voters.length < 7 && this.rng.chance(0.6)) {
      this.ensureStarted(spare);
      this.proposeConf(l, { op: "add-learner", member: { id: spare.id, region: spare.region } });
      return;
    }
    if (voters.length > 3) {
      const victim = this.rng.chance(0.25) ? l.id : this.rng.pick(voters).id;
      this.proposeConf(l, { op: "remove", id: victim });
    }
  }

  private ensureStarted(p: Placement): void {
    if (!this.c.nodes.has(p.id)) this.c.addNode(p);
  }

  private proposeConf(l: SimNode, change: Parameters<SimNode["proposeConfChange"]>[0], impatient = true): void {
    if (change.op === "remove") this.removed.add(change.id);
    const r = l.proposeConfChange(change);
    if (r?.ok) this.c.stats.confChanges++;
    this.c.trace(`operator: ${JSON.stringify(change)} on ${l.id} → ${r === null ? "down" : r.ok ? `index ${r.index}` : r.reason}`);
    // An impatient operator fires a second change right away; the core must refuse it while the first is pending.
    if (r?.ok && impatient && this.rng.chance(0.3)) this.secondChange(l);
  }

  private secondChange(l: SimNode): void {
    const members = l.status().membership.members;
    const voters = members.filter((m) => m.role === "voter");
    const spare = this.s.spares.find((p) => !this.removed.has(p.id) && !this.c.nodes.has(p.id));
    if (spare !== undefined) {
      this.ensureStarted(spare);
      this.proposeConf(l, { op: "add-learner", member: { id: spare.id, region: spare.region } }, false);
    } else if (voters.length > 3) {
      this.proposeConf(l, { op: "remove", id: this.rng.pick(voters).id }, false);
    }
  }

  /** An operator stops a removed node's machine once the removal is committed (some node applied it). */
  watchRemovals(): void {
    this.c.onConfApplied = (change) => {
      if (change.op !== "remove") return;
      const n = this.c.nodes.get(change.id);
      if (n === undefined || n.retired) return;
      this.c.q.after(this.rng.range(0, 50), () => {
        if (n.retired) return;
        this.c.trace(`operator: shutting down removed node ${n.id}`);
        n.crash();
        n.retired = true;
      });
    };
  }
}
