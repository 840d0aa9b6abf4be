/**
 * The fault injector: crashes and restarts, symmetric / asymmetric / partial
 * partitions (including the 2020 etcd outage shape, where one node can reach
 * only the leader), slow disks and bursts of loss / duplication / reordering.
 * Each fault lasts a random while and is then undone; faults overlap.
 */
import type { NodeId } from "../../src/raft/types.ts";
import type { Cluster } from "./cluster.ts";
import type { Prng } from "./prng.ts";
import type { Scenario } from "./scenario.ts";
import type { SimNode } from "./sim-node.ts";

export class Nemesis {
  private active = false;

  constructor(
    private readonly c: Cluster,
    private readonly s: Scenario,
    private readonly rng: Prng,
  ) {}

  start(): void {
    if (this.s.nemesisMeanMs <= 0) return;
    this.active = true;
    const next = (): void => {
      if (!this.active) return;
      this.act();
      this.c.q.after(this.rng.exp(this.s.nemesisMeanMs), next);
    };
    this.c.q.after(this.rng.exp(this.s.nemesisMeanMs), next);
  }

  stop(): void {
    this.active = false;
  }

  private live(): SimNode[] {
    return [...this.c.nodes.values()].filter((n) => !n.retired);
  }

  /** Undo `fault` after a random duration (healing at the end of chaos undoes everything anyway). */
  private lasting(what: string, undo: () => void): void {
    const d = this.rng.exp(this.s.faultMeanMs);
    this.c.trace(`nemesis: ${what} for ${d.toFixed(0)} ms`);
    this.c.q.after(d, undo);
  }

  private act(): void {
    const nodes = this.live();
    if (nodes.length < 2) return;
    const ids = nodes.map((n) => n.id);
    const leader = this.c.currentLeader();
    const others = (x: NodeId): NodeId[] => ids.filter((i) => i !== x);
    const net = this.c.net;
    switch (this.pickKind()) {
      case "crash": {
        const up = nodes.filter((n) => n.up);
        if (up.length === 0) return;
        const victim = leader !== null && this.rng.chance(0.4) ? leader : this.rng.pick(up);
        victim.crash();
        const downFor = this.rng.pick([this.rng.exp(20), this.rng.exp(150), this.rng.exp(500)]);
        this.c.q.after(downFor, () => this.c.restart(victim.id));
        return;
      }
      case "partition": {
        const shuffled = this.rng.shuffle(ids);
        const k = this.rng.intIn(1, shuffled.length - 1);
        const a = shuffled.slice(0, k);
        const b = shuffled.slice(k);
        this.lasting(`partition ${a.join(",")} | ${b.join(",")}`, net.split(a, b));
        return;
      }
      case "isolate-leader":
        if (leader === null) return;
        this.lasting(`isolate leader ${leader.id}`, net.split([leader.id], others(leader.id)));
        return;
      case "one-way": {
        const links: [NodeId, NodeId][] = [];
        for (let k = this.rng.intIn(1, 3); k > 0; k--) links.push([this.rng.pick(ids), this.rng.pick(ids)]);
        this.lasting(`one-way cuts ${links.map(([a, b]) => `${a}>${b}`).join(" ")}`, net.cutLinks(links));
        return;
      }
      case "partial": {
        if (leader === null) return;
        const x = this.rng.pick(others(leader.id));
        if (this.rng.chance(0.5)) {
          // The 2020 etcd outage shape: x reaches only the leader.
          const cut = others(x).filter((o) => o !== leader.id);
          this.lasting(`${x} reaches only leader ${leader.id}`, net.split([x], cut));
        } else {
          this.lasting(`${x} cut from leader ${leader.id} only`, net.both(x, leader.id));
        }
        return;
      }
      case "heal":
        net.heal();
        this.c.trace("nemesis: heal network");
        return;
      case "slow-disk": {
        const n = this.rng.pick(nodes);
        n.disk.slowUntil = this.c.q.now + this.rng.exp(this.s.faultMeanMs);
        n.disk.slowExtraMs = this.rng.pick([5, 20, 80]);
        this.c.trace(`nemesis: slow disk on ${n.id} (+${n.disk.slowExtraMs} ms) until ${n.disk.slowUntil.toFixed(0)}`);
        return;
      }
      case "lossy": {
        const before = net.faults;
        const burst = { loss: this.rng.pick([0.1, 0.3]), duplicate: this.rng.pick([0, 0.2]), reorder: 0.3, reorderMs: this.rng.range(10, 80) };
        net.faults = burst;
        this.lasting(`lossy network ${JSON.stringify(burst)}`, () => {
          // Only undo our own burst (healing may have replaced it already).
          if (net.faults === burst) net.faults = before;
        });
        return;
      }
    }
  }

  private pickKind(): FaultKind {
    const kinds = this.s.faultKinds;
    let total = 0;
    for (const k of kinds) total += FAULT_WEIGHT[k];
    let r = this.rng.next() * total;
    for (const k of kinds) {
      r -= FAULT_WEIGHT[k];
      if (r < 0) return k;
    }
    return kinds[kinds.length - 1]!;
  }
}

export type FaultKind = "crash" | "partition" | "isolate-leader" | "one-way" | "partial" | "heal" | "slow-disk" | "lossy";

export const ALL_FAULTS: readonly FaultKind[] = ["crash", "partition", "isolate-leader", "one-way", "partial", "heal", "slow-disk", "lossy"];

const FAULT_WEIGHT: Readonly<Record<FaultKind, number>> = {
  crash: 25,
  partition: 15,
  "isolate-leader": 10,
  "one-way": 10,
  partial: 12,
  heal: 5,
  "slow-disk": 11,
  lossy: 12,
};
