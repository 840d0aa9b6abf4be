/**
 * A whole cluster in one process: the event queue (simulated clock), the
 * network, the nodes and the checker. Everything nondeterministic comes from
 * the seeded PRNG, so a seed is a complete description of a run.
 */
import type { ConfChange, Membership, Message, NodeId, SnapshotMeta } from "../../src/raft/types.ts";
import type { DiskTiming, SimDisk } from "./disk.ts";
import { EventQueue } from "./event-queue.ts";
import { Checker, type CheckerOptions } from "./invariants.ts";
import { Network, type Geography, type LinkFaults } from "./network.ts";
import { Prng } from "./prng.ts";
import { SimNode, type NodeHost, type NodeSettings } from "./sim-node.ts";
import { RunStats } from "./stats.ts";
import { describeMessage, timestamp } from "./trace.ts";
import { Violation } from "./violation.ts";

export interface Placement {
  readonly id: NodeId;
  readonly region: string;
}

export interface ClusterOptions {
  readonly seed: number;
  /** The bootstrap voters. */
  readonly voters: readonly Placement[];
  readonly geo: Geography;
  readonly faults: LinkFaults;
  readonly disk: DiskTiming;
  readonly settings: (p: Placement) => NodeSettings;
  /** Extra delivery time of a snapshot transfer (the data stream), in ms. */
  readonly snapshotTransferMs: number;
  /** Event budget; exceeding it is a violation (a message storm or livelock). */
  readonly maxSteps: number;
  readonly trace?: (line: string) => void;
  readonly checks?: CheckerOptions;
}

export class Cluster {
  readonly q = new EventQueue();
  readonly rng: Prng;
  readonly net: Network;
  readonly checker: Checker;
  readonly stats = new RunStats();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly bootstrap: SnapshotMeta;
  private readonly host: NodeHost;
  /** Called when any node applies a configuration change (it is committed). */
  onConfApplied: ((change: ConfChange) => void) | null = null;
  private readonly traceFn: ((line: string) => void) | null;

  constructor(readonly opts: ClusterOptions) {
    this.rng = new Prng(opts.seed);
    this.checker = new Checker(opts.checks);
    this.net = new Network(this.q, this.rng.fork(2), opts.geo);
    this.net.faults = { ...opts.faults };
    const membership: Membership = { members: opts.voters.map((p) => ({ id: p.id, region: p.region, role: "voter" as const })) };
    this.bootstrap = { index: 0, term: 0, membership };
    const sink = opts.trace;
    this.traceFn = sink ? (line: string) => sink(`${timestamp(this.q.now)} ${line}`) : null;
    this.host = {
      q: this.q,
      checker: this.checker,
      stats: this.stats,
      trace: this.traceFn,
      disk: opts.disk,
      send: (from, m) => this.send(from, m),
      diskOf: (id) => this.diskOf(id),
      regionOf: (id) => this.net.regionOf(id),
      onConfApplied: (change) => this.onConfApplied?.(change),
    };
  }

  trace(line: string): void {
    this.traceFn?.(line);
  }

  get tracing(): boolean {
    return this.traceFn !== null;
  }

  /** Creates a node with a fresh disk (bootstrap configuration at index 0) and boots it. */
  addNode(p: Placement): SimNode {
    if (this.nodes.has(p.id)) throw new Error(`node ${p.id} exists`);
    this.net.place(p.id, p.region);
    const n = new SimNode(this.opts.settings(p), this.bootstrap, this.host, this.rng.fork(100 + this.nodes.size));
    this.nodes.set(p.id, n);
    n.start();
    return n;
  }

  start(): void {
    for (const p of this.opts.voters) this.addNode(p);
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** Nodes that currently believe they lead (stale leaders included). */
  leaders(): SimNode[] {
    return this.upNodes().filter((n) => n.isLeader);
  }

  /** The leader with the highest term, if any node leads. */
  currentLeader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.leaders()) if (best === null || n.term > best.term) best = n;
    return best;
  }

  crash(id: NodeId): void {
    this.node(id).crash();
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.up || n.retired) return;
    n.start();
  }

  /** Advances simulated time to `t`, executing every event due. */
  runUntil(t: number): void {
    while (this.q.runNext(t)) {
      if (this.q.steps > this.opts.maxSteps) throw new Violation("step-budget", `more than ${this.opts.maxSteps} events by ${this.q.now.toFixed(1)} ms`);
    }
    if (this.q.now < t) this.q.now = t;
  }

  /** Runs until `done()` holds (checked every `everyMs`) or `deadline`; returns whether it held. */
  runUntilTrue(done: () => boolean, deadline: number, everyMs = 5): boolean {
    while (this.q.now < deadline) {
      if (done()) return true;
      this.runUntil(Math.min(deadline, this.q.now + everyMs));
    }
    return done();
  }

  describeNodes(): string {
    return [...this.nodes.values()]
      .map((n) => {
        if (n.retired) return `${n.id}: retired`;
        if (!n.up) return `${n.id}: down`;
        return `${n.id}: ${n.role} t${n.term} log ..${n.mirror.lastIndex}@${n.mirror.lastTerm} commit ${n.commit} applied ${n.applied}`;
      })
      .join("; ");
  }

  private diskOf(id: NodeId): SimDisk | null {
    return this.nodes.get(id)?.disk ?? null;
  }

  private send(from: SimNode, m: Message): void {
    this.stats.messages++;
    if (m.type === "append-resp" && m.reject) this.stats.appendRejects++;
    let image = null;
    let extra = 0;
    if (m.type === "snapshot") {
      // The runtime streams a copy of its state machine, taken now at applied index A ≥ meta.index.
      image = from.disk.machine.image();
      if (image.applied < m.meta.index) {
        throw new Violation("ready-contract", `${from.id} offered snapshot ${m.meta.index} but has only applied ${image.applied}`);
      }
      this.stats.snapshotsSent++;
      extra = this.opts.snapshotTransferMs * (0.5 + this.rng.next());
    }
    const tr = this.traceFn;
    if (tr) tr(`send ${describeMessage(m)}`);
    this.net.send(
      from.id,
      m.to,
      () => {
        const to = this.nodes.get(m.to);
        if (to === undefined || !to.up) return;
        if (tr) tr(`recv ${describeMessage(m)}`);
        to.receive(m, image);
      },
      extra,
      m.type === "snapshot" ? "#snapshot" : "",
    );
  }
}
