/**
 * One simulated server: the real Raft core driven by a runtime that honours
 * the Ready contract (types.ts) against a fake disk and network, plus the
 * checks that need a node's-eye view (what it promised, what it applied).
 */
import { Raft } from "../../src/raft/raft.ts";
import type {
  ConfChange,
  Durability,
  Entry,
  Membership,
  Message,
  NodeId,
  ProposeResult,
  RaftConfig,
  RaftStatus,
  Ready,
  ReadState,
  RestoredState,
  Role,
  SnapshotMeta,
} from "../../src/raft/types.ts";
import type { Checker } from "./invariants.ts";
import { describeEntry, entryFingerprint } from "./entry-hash.ts";
import type { EventQueue } from "./event-queue.ts";
import { SimDisk, type DiskTiming } from "./disk.ts";
import { voters } from "./membership.ts";
import type { Prng } from "./prng.ts";
import type { SimLog } from "./sim-log.ts";
import type { MachineImage } from "./state-machine.ts";
import type { RunStats } from "./stats.ts";
import { Violation } from "./violation.ts";

export interface NodeSettings {
  readonly id: NodeId;
  readonly region: string;
  readonly raft: Omit<RaftConfig, "id" | "random">;
  readonly tickMs: number;
  /** Compact the durable log once this many applied entries sit above the compaction point (0: never). */
  readonly compactEvery: number;
  /** Entries to keep below the applied index when compacting. */
  readonly compactKeep: number;
}

/** What a node needs from the cluster around it. */
export interface NodeHost {
  readonly q: EventQueue;
  readonly checker: Checker;
  readonly stats: RunStats;
  readonly trace: ((line: string) => void) | null;
  readonly disk: DiskTiming;
  send(from: SimNode, m: Message): void;
  diskOf(id: NodeId): SimDisk | null;
  regionOf(id: NodeId): string;
  /** A committed configuration change was applied somewhere (so it is committed cluster-wide). */
  onConfApplied(change: ConfChange): void;
}

interface PendingProposal {
  readonly term: number;
  readonly data: Uint8Array | null;
  readonly at: number;
}

interface PendingRead {
  readonly mustSee: number;
  readonly lease: boolean;
}

interface SafeRead {
  readonly ctx: string;
  readonly index: number;
}

export class SimNode {
  readonly id: NodeId;
  readonly region: string;
  readonly disk: SimDisk;
  private raft: Raft | null = null;
  private incarnation = 0;
  /** The core's in-memory log, rebuilt from the Ready stream. */
  mirror: SimLog;
  role: Role = "follower";
  term = 0;
  leader: NodeId | null = null;
  commit = 0;
  /** Highest index reported to the core with applied(). */
  private appliedReported = 0;
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private safeReads: SafeRead[] = [];
  /** Set once the operator shut the node down for good (removed from the cluster). */
  retired = false;

  constructor(
    private readonly settings: NodeSettings,
    bootstrap: SnapshotMeta,
    private readonly host: NodeHost,
    private readonly rng: Prng,
  ) {
    this.id = settings.id;
    this.region = settings.region;
    this.disk = new SimDisk(settings.id, bootstrap, host.q, rng.fork(1), host.disk, (i, t) => host.checker.chainOf(i, t));
    this.mirror = this.disk.log.clone();
  }

  get up(): boolean {
    return this.raft !== null;
  }

  get isLeader(): boolean {
    return this.raft !== null && this.role === "leader";
  }

  get applied(): number {
    return this.disk.machine.applied;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Boots the core from whatever the disk holds (a fresh disk: the bootstrap configuration). */
  start(): void {
    const d = this.disk;
    const hs = d.hardState;
    if (hs.commit > d.log.lastIndex) throw new Violation("ready-contract", `${this.id} persisted commit ${hs.commit} beyond its persisted log (${d.log.lastIndex})`);
    const applied = Math.max(d.log.snapIndex, Math.min(d.machine.applied, Math.max(hs.commit, d.log.snapIndex)));
    const restored: RestoredState = { hardState: hs, snapshot: d.log.snapshotMeta, entries: d.log.allEntries().slice(), applied };
    const inc = ++this.incarnation;
    const random = this.rng.fork(1000 + inc);
    this.raft = this.call("constructor", () => new Raft({ ...this.settings.raft, id: this.id, random: () => random.next() }, restored));
    this.mirror = d.log.clone();
    this.role = "follower";
    this.term = hs.term;
    this.leader = null;
    this.commit = hs.commit;
    this.appliedReported = applied;
    const st = this.status();
    if (st.commit < hs.commit) throw new Violation("commit-monotonic", `${this.id} restarted with commit ${st.commit} below its persisted ${hs.commit}`);
    if (st.lastIndex !== d.log.lastIndex) throw new Violation("ready-contract", `${this.id} restarted with lastIndex ${st.lastIndex}, disk holds ${d.log.lastIndex}`);
    this.commit = st.commit;
    this.trace(`start (term ${hs.term}, vote ${hs.vote}, commit ${hs.commit}, log ${d.log.snapIndex}..${d.log.lastIndex}, applied ${applied})`);
    // Ticks drift a little per node (well inside leaseDriftTicks), and start at random phases.
    const period = this.settings.tickMs * (1 + (this.rng.next() - 0.5) * 0.02);
    const tick = (): void => {
      if (this.incarnation !== inc || this.raft === null) return;
      this.tick();
      this.host.q.after(period, tick);
    };
    this.host.q.after(this.rng.next() * period, tick);
    this.drain();
  }

  crash(): void {
    if (this.raft === null) return;
    const torn = this.disk.crash();
    this.host.stats.crashes++;
    this.host.stats.tornWrites += torn;
    this.raft = null;
    this.incarnation++;
    this.proposals.clear();
    this.reads.clear();
    this.safeReads = [];
    this.role = "follower";
    this.leader = null;
    this.trace(`CRASH (torn writes kept: ${torn})`);
  }

  // ---------------------------------------------------------------- inputs

  private tick(): void {
    const r = this.raft!;
    const st = this.status();
    if (st.commit < this.commit) throw new Violation("commit-monotonic", `${this.id} commit index went back from ${this.commit} to ${st.commit} (without a Ready)`);
    if (st.commit !== this.commit) throw new Violation("ready-contract", `${this.id} status().commit ${st.commit} but its Readys reported ${this.commit}`);
    if (st.lastIndex < this.mirror.lastIndex) {
      throw new Violation("log-truncation", `${this.id} silently dropped log entries ${st.lastIndex + 1}..${this.mirror.lastIndex} (no Ready told the runtime to truncate)`);
    }
    if (st.lastIndex !== this.mirror.lastIndex) {
      throw new Violation("ready-contract", `${this.id} status().lastIndex ${st.lastIndex} but its Readys built a log ending at ${this.mirror.lastIndex}`);
    }
    if (st.role === "leader") this.checkDurabilityClaims(r, st);
    this.call("tick", () => r.tick());
    this.drain();
  }

  receive(m: Message, image: MachineImage | null): void {
    const r = this.raft;
    if (r === null) return;
    if (m.type === "snapshot" && image !== null && image.applied > this.disk.machine.applied) {
      // The runtime puts the snapshot's data durably in place before the core hears of it.
      this.host.checker.onInstallImage(this.id, image.applied, image.digest);
      this.disk.machine.install(image);
      this.trace(`installed state image @${image.applied} from ${m.from}`);
      this.serveReads();
    }
    this.call(`step ${m.type}`, () => r.step(m));
    this.drain();
  }

  propose(data: Uint8Array): ProposeResult | null {
    const r = this.raft;
    if (r === null) return null;
    const res = this.call("propose", () => r.propose(data));
    if (res.ok) this.proposals.set(res.index, { term: res.term, data, at: this.host.q.now });
    this.drain();
    return res;
  }

  proposeConfChange(c: ConfChange): ProposeResult | null {
    const r = this.raft;
    if (r === null) return null;
    const res = this.call("proposeConfChange", () => r.proposeConfChange(c));
    if (res.ok) this.proposals.set(res.index, { term: res.term, data: null, at: this.host.q.now });
    this.drain();
    return res;
  }

  read(ctx: string, lease: boolean): void {
    const r = this.raft;
    if (r === null) return;
    this.reads.set(ctx, { mustSee: this.host.checker.watermark, lease });
    this.call("readIndex", () => r.readIndex(ctx, { lease }));
    this.drain();
  }

  transferLeadership(to: NodeId): boolean {
    const r = this.raft;
    if (r === null) return false;
    const ok = this.call("transferLeadership", () => r.transferLeadership(to));
    this.drain();
    return ok;
  }

  campaign(): void {
    const r = this.raft;
    if (r === null) return;
    this.call("campaign", () => r.campaign());
    this.drain();
  }

  status(): RaftStatus {
    const r = this.raft;
    if (r === null) throw new Error(`${this.id} is down`);
    return this.call("status", () => r.status());
  }

  durableIndex(d: Durability): number {
    const r = this.raft;
    if (r === null) return 0;
    return this.call("durableIndex", () => r.durableIndex(d));
  }

  pendingProposals(): number {
    return this.proposals.size;
  }

  // ---------------------------------------------------------------- the Ready loop

  private drain(): void {
    let rounds = 0;
    while (this.raft !== null && this.call("hasReady", () => this.raft!.hasReady())) {
      if (++rounds > 10_000) throw new Violation("ready-contract", `${this.id} hasReady() stays true (10000 Readys in one step)`);
      const r = this.raft;
      this.handle(r, this.call("ready", () => r.ready()));
    }
  }

  private handle(r: Raft, rd: Ready): void {
    if (rd.softState !== null) this.onSoftState(rd.softState.role, rd.softState.leader, rd.softState.term);

    let newCommit: number | null = null;
    if (rd.hardState !== null) {
      if (rd.hardState.term < this.term) throw new Violation("ready-contract", `${this.id} hard state term went back from ${this.term} to ${rd.hardState.term}`);
      this.term = rd.hardState.term;
      newCommit = rd.hardState.commit;
    }
    if (rd.snapshot !== null) {
      if (this.role === "leader") throw new Violation("ready-contract", `${this.id} is leader but was handed a snapshot to install`);
      const c = this.host.checker.chainOf(rd.snapshot.index, rd.snapshot.term);
      if (c === undefined) throw new Violation("ready-contract", `${this.id} snapshot ${rd.snapshot.index}@${rd.snapshot.term} names an entry no node ever had`);
      this.mirror.installSnapshot(rd.snapshot, c);
      this.trace(`snapshot meta ${rd.snapshot.index}@${rd.snapshot.term} → log ${this.mirror.snapIndex}..${this.mirror.lastIndex}`);
    }
    if (rd.entries.length > 0) this.onEntries(rd.entries);
    if (newCommit !== null && newCommit !== this.commit) this.onCommit(newCommit);

    for (const m of rd.messages) this.dispatch(m, this.promiseOf(m));

    const last = rd.entries.length > 0 ? rd.entries[rd.entries.length - 1]! : null;
    const snapshot = rd.snapshot;
    const after = rd.messagesAfterPersist.map((m) => ({ m, promise: this.promiseOf(m) }));
    const inc = this.incarnation;
    this.disk.submit({ snapshot, entries: rd.entries, hardState: rd.hardState }, () => {
      if (this.incarnation !== inc || this.raft !== r) return;
      if (snapshot !== null) this.call("snapshotInstalled", () => r.snapshotInstalled(snapshot.index));
      if (last !== null) this.call("persisted", () => r.persisted(last.index, last.term));
      for (const a of after) this.dispatch(a.m, a.promise);
      this.drain();
    });

    if (rd.committed.length > 0) this.apply(r, rd.committed);
    for (const rs of rd.readStates) this.onReadState(rs);
  }

  private onSoftState(role: Role, leader: NodeId | null, term: number): void {
    const wasLeader = this.role === "leader" && this.term === term;
    if (role === "leader" && !wasLeader) {
      this.host.checker.onLeader(this.id, term, this.mirror, this.incarnation);
      this.host.stats.elections++;
      this.trace(`LEADER of term ${term} (log ends ${this.mirror.lastIndex}@${this.mirror.lastTerm}, commit ${this.commit})`);
    } else if (role !== this.role) {
      this.trace(`${role} term ${term} leader ${leader}`);
    }
    if (term < this.term) throw new Violation("ready-contract", `${this.id} soft state term went back from ${this.term} to ${term}`);
    this.role = role;
    this.leader = leader;
    this.term = term;
  }

  private onEntries(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    if (this.role === "leader") {
      if (first <= this.mirror.lastIndex) {
        throw new Violation("leader-append-only", `${this.id} (leader of term ${this.term}) rewrote its log from index ${first} (log ended at ${this.mirror.lastIndex})`);
      }
      for (const e of entries) {
        if (e.term !== this.term) throw new Violation("leader-append-only", `${this.id} (leader of term ${this.term}) appended ${describeEntry(e)} with another term`);
      }
      if (this.host.checker.rules) for (const e of entries) if (e.type === "conf") this.checkConfAppend(e);
    }
    const checker = this.host.checker;
    const err = this.mirror.append(entries, (e, c) => checker.registerEntry(this.id, e.index, e.term, c));
    if (err !== null) throw new Violation("ready-contract", `${this.id} Ready entries: ${err}`);
    if (this.host.trace) this.trace(`append ${entries.map(describeEntry).join(" ")}`);
  }

  /** Single-server changes (thesis §4.1 + the 2015 fix): one uncommitted change at a time, and only after committing in the leader's own term. */
  private checkConfAppend(e: Entry): void {
    for (let i = Math.max(this.commit + 1, this.mirror.snapIndex + 1); i <= this.mirror.lastIndex; i++) {
      const other = this.mirror.entry(i);
      if (other?.type === "conf") {
        throw new Violation("single-conf-change", `${this.id} appended configuration change ${describeEntry(e)} while ${describeEntry(other)} was still uncommitted (commit ${this.commit})`);
      }
    }
    if (this.mirror.term(this.commit) !== this.term) {
      throw new Violation("single-conf-change", `${this.id} appended configuration change ${describeEntry(e)} before committing an entry of its term ${this.term}`);
    }
  }

  private onCommit(to: number): void {
    const from = this.commit;
    this.host.checker.onCommit(this.id, from, to, this.term, this.mirror);
    if (this.role === "leader" && to > from) {
      if (this.host.checker.rules && this.mirror.term(to) !== this.term) {
        throw new Violation("current-term-commit", `${this.id} (leader of term ${this.term}) advanced its commit index to ${to}, an entry of term ${this.mirror.term(to)}`);
      }
      this.checkDurableMajority(to);
    }
    this.commit = to;
  }

  /** Fastest-majority rule: what the leader commits is durable on a majority of voters' disks right now. */
  private checkDurableMajority(index: number): void {
    const c = this.mirror.chainAt(index);
    if (c === undefined) return;
    const vs = voters(this.status().membership);
    let holders = 0;
    for (const v of vs) if (this.host.diskOf(v)?.log.holds(index, c)) holders++;
    if (holders * 2 <= vs.length) {
      throw new Violation("commit-without-durable-majority", `${this.id} committed ${index} while only ${holders} of ${vs.length} voters hold it durably`);
    }
  }

  /** durableIndex(d) must never claim copies the disks do not have (checked up to the commit index, which no leader can undo). */
  private checkDurabilityClaims(r: Raft, st: RaftStatus): void {
    const vs = st.membership.members.filter((m) => m.role === "voter");
    const myRegion = this.region;
    const remoteExists = vs.some((v) => v.region !== myRegion);
    for (const d of ["majority", "remote-region", "all"] as const) {
      if (d === "remote-region" && !remoteExists) continue;
      const claimed = Math.min(this.call("durableIndex", () => r.durableIndex(d)), st.commit);
      if (claimed <= this.mirror.snapIndex) continue;
      const c = this.mirror.chainAt(claimed);
      if (c === undefined) continue;
      const holders = vs.filter((v) => this.host.diskOf(v.id)?.log.holds(claimed, c) === true);
      const ok =
        d === "all" ? holders.length === vs.length : holders.length * 2 > vs.length && (d === "majority" || holders.some((h) => h.region !== myRegion));
      if (!ok) {
        throw new Violation("durability-claim", `${this.id} durableIndex("${d}") = ${claimed} but only ${holders.map((h) => h.id).join(",") || "none"} of ${vs.length} voters hold it`);
      }
    }
  }

  /** What an outgoing message promises about this node's disk (null: nothing). */
  private promiseOf(m: Message): number | null {
    if (m.type === "append-resp" && !m.reject) return this.mirror.chainAt(m.index) ?? -1;
    return null;
  }

  private dispatch(m: Message, promise: number | null): void {
    this.checkPromise(m, promise);
    if (m.to === this.id) {
      const r = this.raft!;
      this.call(`step own ${m.type}`, () => r.step(m));
    } else {
      this.host.send(this, m);
    }
  }

  /** Votes and append acknowledgements may leave only once what they promise is durable (Raft paper Figure 2). */
  private checkPromise(m: Message, promise: number | null): void {
    if (!this.host.checker.rules) return;
    if (m.type === "vote-resp" && m.granted && !m.pre) {
      const hs = this.disk.hardState;
      if (hs.term !== m.term || hs.vote !== m.to) {
        throw new Violation("persist-before-send", `${this.id} granted its term-${m.term} vote to ${m.to} while its disk holds term ${hs.term} vote ${hs.vote}`);
      }
    } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot" || m.type === "timeout-now") {
      // Leading a term the disk does not know: after a crash the node could lead the same term again, differently.
      const hs = this.disk.hardState;
      if (hs.term < m.term) {
        throw new Violation("persist-before-send", `${this.id} sent a term-${m.term} ${m.type} as leader while its disk still holds term ${hs.term}`);
      }
    } else if (m.type === "append-resp" && !m.reject) {
      const log = this.disk.log;
      const held = promise === null || promise === -1 ? log.lastIndex >= m.index : log.holds(m.index, promise);
      if (!held) {
        throw new Violation("persist-before-send", `${this.id} acknowledged index ${m.index} to ${m.to} before holding it durably (disk log ends at ${log.lastIndex})`);
      }
    }
  }

  private apply(r: Raft, committed: readonly Entry[]): void {
    const sm = this.disk.machine;
    const checker = this.host.checker;
    for (const e of committed) {
      if (e.index > this.commit) throw new Violation("ready-contract", `${this.id} was handed entry ${e.index} to apply beyond its commit ${this.commit}`);
      const mc = this.mirror.chainAt(e.index);
      if (mc === undefined) {
        if (e.index > this.mirror.snapIndex) throw new Violation("ready-contract", `${this.id} was handed entry ${e.index} to apply that is not in its log`);
      } else {
        const mine = this.mirror.entry(e.index);
        if (mine !== undefined && entryFingerprint(mine) !== entryFingerprint(e)) {
          throw new Violation("ready-contract", `${this.id} was handed ${describeEntry(e)} to apply, but its log has ${describeEntry(mine)}`);
        }
        if (!this.disk.log.holds(e.index, mc)) {
          throw new Violation("apply-before-persist", `${this.id} was handed entry ${e.index} to apply before it was durable locally (disk log ends at ${this.disk.log.lastIndex})`);
        }
      }
      if (e.index <= sm.applied) {
        if (mc !== undefined) checker.onApply(this.id, e.index, mc);
      } else {
        if (e.index !== sm.applied + 1) throw new Violation("state-machine-safety", `${this.id} applied ${e.index} right after ${sm.applied} (entries skipped)`);
        sm.apply(e);
        checker.onApply(this.id, e.index, sm.digest);
      }
      if (e.type === "conf") this.host.onConfApplied(e.change);
      this.resolveProposal(e, mc ?? sm.digest);
    }
    const last = committed[committed.length - 1]!.index;
    if (last > this.appliedReported) this.appliedReported = last;
    this.call("applied", () => r.applied(last));
    this.maybeCompact(r);
    this.serveReads();
  }

  private resolveProposal(e: Entry, c: number): void {
    const p = this.proposals.get(e.index);
    if (p === undefined) return;
    this.proposals.delete(e.index);
    const same = e.term === p.term && (p.data === null ? e.type === "conf" : e.type === "normal" && bytesEqual(e.data, p.data));
    if (!same) {
      this.host.stats.failedProposals++;
      return;
    }
    if (p.data === null) return;
    this.host.checker.onAck(e.index, c, this.term);
    this.host.stats.acked++;
    this.host.stats.commitLatencies.push(this.host.q.now - p.at);
  }

  private maybeCompact(r: Raft): void {
    const every = this.settings.compactEvery;
    if (every === 0) return;
    const log = this.disk.log;
    const target = Math.min(this.appliedReported - this.settings.compactKeep, log.lastIndex, this.disk.machine.applied);
    if (target - log.snapIndex < every) return;
    // The core says what it actually dropped; the runtime records that compaction point.
    const meta = this.call("compact", () => r.compact(target));
    if (meta === null || meta === undefined || meta.index <= log.snapIndex) return;
    const expected = log.clone().compact(meta.index);
    if (expected === null || expected.term !== meta.term || membershipKey(expected.membership) !== membershipKey(meta.membership)) {
      throw new Violation(
        "ready-contract",
        `${this.id} compact(${target}) returned ${meta.index}@${meta.term} [${membershipKey(meta.membership)}] but the durable log says ${expected ? `${expected.index}@${expected.term} [${membershipKey(expected.membership)}]` : "nothing to compact"}`,
      );
    }
    log.installSnapshot(meta, log.chainAt(meta.index)!);
    this.trace(`compacted to ${meta.index}`);
  }

  private onReadState(rs: ReadState): void {
    const p = this.reads.get(rs.ctx);
    if (p === undefined) return;
    this.reads.delete(rs.ctx);
    if (!rs.ok) {
      this.host.stats.readsRefused++;
      this.trace(`read ${rs.ctx} refused: ${rs.reason}`);
      return;
    }
    this.host.checker.onReadIndex(this.id, rs.ctx, rs.index, p.mustSee, p.lease);
    if (p.lease) this.host.stats.leaseReads++;
    this.safeReads.push({ ctx: rs.ctx, index: rs.index });
    this.serveReads();
  }

  private serveReads(): void {
    if (this.safeReads.length === 0) return;
    const applied = this.disk.machine.applied;
    const waiting: SafeRead[] = [];
    for (const sr of this.safeReads) {
      if (sr.index <= applied) {
        this.host.checker.onReadServed(applied);
        this.host.stats.readsServed++;
      } else waiting.push(sr);
    }
    this.safeReads = waiting;
  }

  private call<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof Violation) throw e;
      const msg = e instanceof Error ? `${e.message}\n${(e.stack ?? "").split("\n").slice(1, 6).join("\n")}` : String(e);
      throw new Violation("core-exception", `${this.id} ${what} threw: ${msg}`);
    }
  }

  private trace(line: string): void {
    this.host.trace?.(`${this.id}: ${line}`);
  }
}

function membershipKey(m: Membership): string {
  return m.members
    .map((x) => `${x.id}:${x.role}`)
    .sort()
    .join(",");
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
