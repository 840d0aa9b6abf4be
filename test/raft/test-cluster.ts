/**
 * A tiny in-memory cluster for the core's unit tests: a FIFO network the test
 * drives by hand and a per-node "disk" that follows the Ready contract in
 * src/raft/types.ts. A node can hold its Readys (slow disk) so a test decides
 * exactly when its writes become durable.
 */
import { Raft } from "../../src/raft/raft.ts";
import type {
  Entry,
  HardState,
  Member,
  Message,
  NodeId,
  RaftConfig,
  ReadState,
  Ready,
  SnapshotMeta,
} from "../../src/raft/types.ts";

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function baseConfig(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    preferredRegion: null,
    nonPreferredElectionPenalty: 0,
    leaseDriftTicks: 2,
    maxInflightMsgs: 256,
    maxInflightBytes: 1 << 20,
    maxMsgBytes: 64 << 10,
    random: seededRandom(id.split("").reduce((h, c) => h * 31 + c.charCodeAt(0), 7)),
    ...overrides,
  };
}

export interface Disk {
  hardState: HardState;
  snapshot: SnapshotMeta;
  entries: Entry[];
  applied: number;
}

export class TestNode {
  raft: Raft;
  readonly disk: Disk;
  /** Entries handed out in Ready.committed, in order. */
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  /** Readys whose disk writes have not finished (only while holdPersist). */
  readonly held: Ready[] = [];
  holdPersist = false;
  up = true;

  constructor(
    readonly id: NodeId,
    readonly config: RaftConfig,
    disk: Disk,
  ) {
    this.disk = disk;
    this.raft = this.boot();
  }

  boot(): Raft {
    return new Raft(this.config, {
      hardState: this.disk.hardState,
      snapshot: this.disk.snapshot,
      entries: [...this.disk.entries],
      applied: this.disk.applied,
    });
  }
}

export interface ClusterOptions {
  readonly config?: Partial<RaftConfig>;
  readonly perNode?: Record<NodeId, Partial<RaftConfig>>;
  /** Members not listed as voters here join as learners. */
  readonly learners?: readonly NodeId[];
  readonly regions?: Record<NodeId, string>;
}

export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages in flight, in send order. */
  network: Message[] = [];
  private readonly cut = new Set<string>();
  /** Messages for which this returns true are lost on delivery. */
  dropIf: ((m: Message) => boolean) | null = null;
  /** Every message ever handed to the network (for assertions). */
  readonly sent: Message[] = [];

  constructor(ids: readonly NodeId[], opts: ClusterOptions = {}) {
    const members: Member[] = ids.map((id) => ({
      id,
      role: opts.learners?.includes(id) ? "learner" : "voter",
      region: opts.regions?.[id] ?? "ams",
    }));
    for (const id of ids) {
      const disk: Disk = {
        hardState: { term: 0, vote: null, commit: 0 },
        snapshot: { index: 0, term: 0, membership: { members } },
        entries: [],
        applied: 0,
      };
      this.nodes.set(id, new TestNode(id, baseConfig(id, { ...opts.config, ...opts.perNode?.[id] }), disk));
    }
  }

  /** Add a node that is not (yet) in anyone's configuration. */
  addNode(id: NodeId, snapshotMembership: readonly Member[], config: Partial<RaftConfig> = {}): TestNode {
    const disk: Disk = {
      hardState: { term: 0, vote: null, commit: 0 },
      snapshot: { index: 0, term: 0, membership: { members: snapshotMembership } },
      entries: [],
      applied: 0,
    };
    const n = new TestNode(id, baseConfig(id, config), disk);
    this.nodes.set(id, n);
    return n;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId): Raft {
    return this.node(id).raft;
  }

  // --- faults -------------------------------------------------------------

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other);
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  /** One direction only. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Crash: every Ready not yet persisted is lost, and so is every message in flight to it. */
  crash(id: NodeId): void {
    const n = this.node(id);
    n.up = false;
    n.held.length = 0;
    this.network = this.network.filter((m) => m.to !== id && m.from !== id);
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    n.up = true;
    n.holdPersist = false;
    n.raft = n.boot();
  }

  // --- driving ------------------------------------------------------------

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.raft(id).tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const n of this.nodes.values()) if (n.up) n.raft.tick();
  }

  /** Drain every node's Ready (sending, persisting unless held, applying). */
  flush(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      let any = false;
      for (const n of this.nodes.values()) {
        if (!n.up || !n.raft.hasReady()) continue;
        any = true;
        this.handleReady(n, n.raft.ready());
      }
      if (!any) return;
    }
    throw new Error("flush did not converge");
  }

  /** Finish the disk writes of a node's held Readys, in order. */
  persistHeld(id: NodeId, count = Infinity): void {
    const n = this.node(id);
    while (count-- > 0 && n.held.length > 0) this.persist(n, n.held.shift() as Ready);
  }

  /** The slow disk catches up: persist held Readys and stop holding. */
  release(id: NodeId): void {
    this.node(id).holdPersist = false;
    this.persistHeld(id);
  }

  /** Deliver messages (and Readys they cause) until nothing is left or `maxRounds` passes. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.flush();
      if (this.network.length === 0) return;
      const batch = this.network;
      this.network = [];
      for (const m of batch) this.deliver(m);
    }
    this.flush();
  }

  /** Remove and return the in-flight messages matching `pred` (without delivering them). */
  take(pred: (m: Message) => boolean): Message[] {
    const taken = this.network.filter(pred);
    this.network = this.network.filter((m) => !pred(m));
    return taken;
  }

  /** Deliver only the in-flight messages matching `pred`, once. */
  deliverWhere(pred: (m: Message) => boolean): void {
    for (const m of this.take(pred)) this.deliver(m);
    this.flush();
  }

  deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n || !n.up) return;
    if (m.from !== m.to && this.cut.has(`${m.from}->${m.to}`)) return;
    if (m.from !== m.to && this.dropIf?.(m)) return;
    n.raft.step(m);
  }

  /** Campaign and run the network until the election settles; returns the leader's Raft. */
  elect(id: NodeId): Raft {
    this.raft(id).campaign();
    this.stabilize();
    const r = this.raft(id);
    if (r.status().role !== "leader") throw new Error(`${id} did not become leader (${r.status().role})`);
    return r;
  }

  /**
   * Run only the election (pre-vote and vote rounds), delivering nothing else:
   * the new leader's no-op is appended but not yet committed.
   */
  electOnly(id: NodeId): Raft {
    this.raft(id).campaign();
    this.flush();
    for (let round = 0; round < 2; round++) {
      this.deliverWhere((m) => m.type === "vote");
      this.deliverWhere((m) => m.type === "vote-resp");
    }
    const r = this.raft(id);
    if (r.status().role !== "leader") throw new Error(`${id} did not become leader (${r.status().role})`);
    return r;
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.up && n.raft.status().role === "leader").map((n) => n.id);
  }

  propose(id: NodeId, text: string): ReturnType<Raft["propose"]> {
    return this.raft(id).propose(new TextEncoder().encode(text));
  }

  /** Texts of the normal entries a node has applied. */
  appliedTexts(id: NodeId): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === "normal")
      .map((e) => new TextDecoder().decode((e as Extract<Entry, { type: "normal" }>).data));
  }

  private handleReady(n: TestNode, rd: Ready): void {
    for (const m of rd.messages) this.enqueue(m);
    n.readStates.push(...rd.readStates);
    if (n.holdPersist) n.held.push(rd);
    else this.persist(n, rd);
  }

  private persist(n: TestNode, rd: Ready): void {
    const disk = n.disk;
    if (rd.snapshot) {
      const s = rd.snapshot;
      const at = disk.entries.find((e) => e.index === s.index);
      disk.entries = at && at.term === s.term ? disk.entries.filter((e) => e.index > s.index) : [];
      disk.snapshot = s;
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      disk.entries = disk.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) disk.hardState = rd.hardState;
    for (const m of rd.messagesAfterPersist) this.enqueue(m);
    if (!n.up) return;
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      n.raft.persisted(last.index, last.term);
    }
    if (rd.snapshot) n.raft.snapshotInstalled(rd.snapshot.index);
    if (rd.committed.length > 0) {
      n.applied.push(...rd.committed);
      const last = rd.committed[rd.committed.length - 1].index;
      disk.applied = last;
      n.raft.applied(last);
    }
  }

  private enqueue(m: Message): void {
    this.sent.push(m);
    this.network.push(m);
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
