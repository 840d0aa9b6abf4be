/**
 * The pure Raft consensus core, modelled on etcd-io/raft: inputs are ticks,
 * messages, proposals and read requests; outputs are drained with ready().
 * No I/O, no clock, no randomness except config.random.
 *
 * Durability contract (see Ready in types.ts): anything that promises durable
 * state (vote grants, append acknowledgements, the candidate's own vote) goes
 * to messagesAfterPersist; the leader's own log counts toward commit only once
 * the runtime reports it with persisted() — its fsync runs in parallel with
 * replication (thesis §10.2.1), and commit is the fastest majority.
 */
import { randomizedElectionTimeout } from "./election-timeout.ts";
import { entriesSize, entrySize } from "./entry-size.ts";
import { RaftLog } from "./log.ts";
import { findMember, isVoter, rejectConfChange, voters } from "./membership.ts";
import { Outbox, type Outgoing } from "./outbox.ts";
import { Progress } from "./progress.ts";
import { indexHeldBy, voteOutcome } from "./quorum.ts";
import { ReadOnly, parseRoundCtx, roundCtx } from "./read-only.ts";
import type {
  Membership,
  AppendMsg,
  AppendRespMsg,
  ConfChange,
  Durability,
  Entry,
  HardState,
  HeartbeatMsg,
  HeartbeatRespMsg,
  Index,
  Message,
  NodeId,
  PeerProgress,
  ProposeResult,
  RaftConfig,
  RaftStatus,
  ReadIndexMsg,
  ReadIndexRespMsg,
  ReadState,
  Ready,
  RestoredState,
  Role,
  SnapshotMeta,
  SnapshotMsg,
  SoftState,
  Term,
  TimeoutNowMsg,
  VoteMsg,
  VoteRespMsg,
} from "./types.ts";

/** A peer stuck in snapshot state this many election timeouts is probed again (the runtime may have lost the stream). */
const SNAPSHOT_RETRY_ELECTIONS = 4;

type ReadFailure = Extract<ReadState, { ok: false }>["reason"];

export class Raft {
  private readonly cfg: RaftConfig;
  private readonly id: NodeId;
  private term: Term;
  private vote: NodeId | null;
  private role: Role = "follower";
  private lead: NodeId | null = null;
  private readonly log: RaftLog;
  private appliedIndex: Index;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout: number;
  /**
   * After a restart a node cannot know whether it recently acknowledged a
   * leader whose lease is still running, so (with check-quorum, which is what
   * makes leases sound) it refuses non-transfer votes for one election
   * timeout, exactly as if it had just heard from that leader.
   */
  private restartVoteGuard: number;

  private readonly votes = new Map<NodeId, boolean>();

  // Leader-only state.
  private readonly progress = new Map<NodeId, Progress>();
  private readOnly: ReadOnly | null = null;
  private leadTransferee: NodeId | null = null;
  /** Set once TimeoutNow went out this term: the target may be elected despite our lease. */
  private leaseDisabled = false;
  private leaderTicks = 0;
  private proposalsToSend = false;
  /** Bytes of normal entries this leader appended that are not committed yet (back-pressure). */
  private uncommittedBytes = 0;

  private readonly out: Outbox;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private seenConfigVersion: number;

  constructor(config: RaftConfig, restored: RestoredState) {
    this.cfg = config;
    this.id = config.id;
    this.out = new Outbox(config.id, () => this.term);
    this.term = restored.hardState.term;
    this.vote = restored.hardState.vote;
    this.log = new RaftLog(restored.snapshot, restored.entries, restored.hardState.commit, restored.applied);
    this.appliedIndex = Math.max(restored.applied, restored.snapshot.index);
    this.seenConfigVersion = this.log.configs.version;
    this.randomizedTimeout = randomizedElectionTimeout(config, this.log.membership(), this.id);
    this.restartVoteGuard = config.checkQuorum && this.term > 0 ? config.electionTicks : 0;
    this.prevSoft = this.softState();
    this.prevHard = this.hardState();
  }

  // ---------------------------------------------------------------------------
  // Inputs
  // ---------------------------------------------------------------------------

  tick(): void {
    if (this.restartVoteGuard > 0) this.restartVoteGuard--;
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  campaign(): void {
    this.hup(false);
  }

  propose(data: Uint8Array): ProposeResult {
    const refused = this.refuseProposal();
    if (refused) return refused;
    const index = this.log.lastIndex() + 1;
    const e: Entry = { type: "normal", term: this.term, index, data };
    const size = entrySize(e);
    const limit = this.cfg.maxUncommittedBytes ?? Infinity;
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + size > limit) {
      return { ok: false, reason: "too-many-inflight", leader: this.id };
    }
    this.uncommittedBytes += size;
    this.appendAsLeader(e);
    return { ok: true, index, term: this.term };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const refused = this.refuseProposal();
    if (refused) return refused;
    // Single-server changes are safe only one at a time, and only once this
    // leader has committed an entry of its own term (Ongaro's 2015 fix to the
    // thesis §4 algorithm).
    const pending = this.log.configs.latestIndex() > this.log.committed;
    if (!this.committedInTerm() || (pending && this.cfg.plantedBug !== "two-membership-changes-at-once")) {
      return { ok: false, reason: "conf-change-pending", leader: this.id };
    }
    if (rejectConfChange(this.log.membership(), change) !== null) {
      return { ok: false, reason: "invalid-conf-change", leader: this.id };
    }
    const index = this.log.lastIndex() + 1;
    this.appendAsLeader({ type: "conf", term: this.term, index, change });
    return { ok: true, index, term: this.term };
  }

  /**
   * Whether stepping `m` would install it: its term is current and it covers
   * entries past the commit index. A runtime that receives the snapshot's data
   * before stepping the message asks this first, so data the core would refuse
   * never replaces what is applied.
   */
  acceptsSnapshot(m: SnapshotMsg): boolean {
    return m.term >= this.term && m.meta.index > this.log.committed;
  }

  readIndex(ctx: string, opts?: { lease?: boolean }): void {
    if (this.role !== "leader") {
      if (this.role === "follower" && this.lead !== null) {
        this.send<ReadIndexMsg>({ type: "read-index", to: this.lead, ctx });
      } else {
        this.out.readStates.push({ ctx, ok: false, reason: "no-leader" });
      }
      return;
    }
    const refusal = this.readRefusal();
    if (refusal) {
      this.out.readStates.push({ ctx, ok: false, reason: refusal });
      return;
    }
    if (this.isSingleVoter() || (opts?.lease === true && this.leaseValid())) {
      this.out.readStates.push({ ctx, ok: true, index: this.log.committed });
      return;
    }
    (this.readOnly as ReadOnly).add(ctx, this.log.committed, this.id);
  }

  transferLeadership(to: NodeId): boolean {
    if (this.role !== "leader" || to === this.id) return false;
    if (!isVoter(this.log.membership(), to)) return false;
    if (this.leadTransferee === to) return true;
    this.leadTransferee = to;
    // The transfer gives up after one election timeout (thesis §3.10).
    this.electionElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
    return true;
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === "vote" && !m.transfer && this.inLeaderLease()) {
        // Thesis §4.2.3 / §6.2: a server that heard from a live leader within
        // the minimum election timeout ignores (pre-)votes, so a partitioned
        // or removed server cannot disrupt the cluster and leases hold.
        return;
      }
      if (m.type === "vote" && m.pre) {
        // A pre-vote never changes our term (thesis §9.6).
      } else if (m.type === "vote-resp" && m.pre && m.granted) {
        // Granted pre-votes carry the term we would campaign in; the term
        // bumps only when we actually campaign.
      } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
        this.becomeFollower(m.term, m.from);
      } else if (m.type === "vote") {
        // Raft paper Figure 2: only the leader or a *granted* vote resets the
        // election timer (handleVote does that). Resetting it for a request we
        // reject lets a candidate that cannot win (stale log, shorter timeout
        // from leader placement) keep everyone else from ever campaigning.
        const elapsed = this.electionElapsed;
        this.becomeFollower(m.term, null);
        this.electionElapsed = elapsed;
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // A stale leader cut off by pre-vote / check-quorum would otherwise
        // never learn the new term; tell it so it steps down.
        this.send<AppendRespMsg>({ type: "append-resp", to: m.from, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === "vote" && m.pre) {
        this.send<VoteRespMsg>({ type: "vote-resp", to: m.from, pre: true, granted: false });
      }
      return;
    }

    switch (m.type) {
      case "vote":
        this.handleVote(m);
        return;
      case "read-index-resp":
        this.out.readStates.push(
          m.index >= 0 ? { ctx: m.ctx, ok: true, index: m.index } : { ctx: m.ctx, ok: false, reason: m.reason ?? "not-leader" },
        );
        return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "pre-candidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
    this.syncConfig();
  }

  persisted(index: Index, term: Term): void {
    this.log.stableTo(index, term);
    if (this.role === "leader") {
      const self = this.progress.get(this.id);
      if (self) self.maybeUpdate(this.log.stable);
      this.commitAndBroadcast();
    }
  }

  snapshotInstalled(index: Index): void {
    this.log.snapshotInstalled(index);
  }

  applied(index: Index): void {
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /**
   * Drop the log up to `index` (the runtime has durably applied it). Returns the
   * new compaction point for the runtime to record, or null if nothing changed.
   * Never drops entries that are not both committed and durable here.
   */
  compact(index: Index): SnapshotMeta | null {
    const upTo = Math.min(index, this.log.committed, this.log.stable, this.log.applying);
    return this.log.compact(upTo);
  }

  /**
   * Runtime feedback on a snapshot stream to `to` (optional; without it a stuck
   * snapshot is retried after a few election timeouts).
   */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== "leader" || !pr || pr.state !== "snapshot") return;
    if (!ok) pr.becomeProbe();
  }

  // ---------------------------------------------------------------------------
  // Outputs
  // ---------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      (this.role === "leader" && (this.proposalsToSend || this.readOnly?.roundRequested === true)) ||
      !this.out.isEmpty() ||
      this.log.hasUnsent() ||
      this.log.hasUnsentSnapshot() ||
      this.log.hasApplicable() ||
      !sameSoft(this.softState(), this.prevSoft) ||
      !sameHard(this.hardState(), this.prevHard)
    );
  }

  ready(): Ready {
    if (this.role === "leader") {
      // Batching: proposals made since the last Ready go out together.
      if (this.proposalsToSend) {
        this.proposalsToSend = false;
        for (const id of this.progress.keys()) if (id !== this.id) this.replicateTo(id, false);
      }
      // Reads registered since the last Ready share one heartbeat round.
      if (this.readOnly?.roundRequested) this.bcastHeartbeat();
    }
    const soft = this.softState();
    const hard = this.hardState();
    const out = this.out.drain();
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      hardState: sameHard(hard, this.prevHard) ? null : hard,
      snapshot: this.log.takeUnsentSnapshot(),
      entries: this.log.takeUnsent(),
      messages: out.messages,
      messagesAfterPersist: out.afterPersist,
      committed: this.log.takeApplicable(),
      readStates: out.readStates,
    };
    this.prevSoft = soft;
    this.prevHard = hard;
    return rd;
  }

  durableIndex(d: Durability): Index {
    if (this.role !== "leader") return 0;
    const held = indexHeldBy(voters(this.log.membership()), (id) => this.matchOf(id), d, this.region());
    return Math.min(held, this.log.committed);
  }

  /** The latest configuration in the log (thesis §4.1), the same object until it changes: cheap to poll. */
  membership(): Membership {
    return this.log.membership();
  }

  status(): RaftStatus {
    const membership = this.log.membership();
    let progress: PeerProgress[] | null = null;
    if (this.role === "leader") {
      progress = [];
      for (const [id, pr] of this.progress) {
        const member = findMember(membership, id);
        progress.push({
          id,
          role: member?.role ?? "learner",
          region: member?.region ?? "",
          match: this.matchOf(id),
          next: id === this.id ? this.log.lastIndex() + 1 : pr.next,
          state: id === this.id ? "replicate" : pr.state,
          recentActive: id === this.id || pr.recentActive,
        });
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.lead,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.appliedIndex,
      lastIndex: this.log.lastIndex(),
      stableIndex: this.log.stable,
      firstIndex: this.log.firstIndex(),
      membership,
      progress,
      leadTransferee: this.leadTransferee,
      leaseValid: this.leaseValid(),
    };
  }

  // ---------------------------------------------------------------------------
  // Roles
  // ---------------------------------------------------------------------------

  private becomeFollower(term: Term, lead: NodeId | null): void {
    this.reset(term);
    this.role = "follower";
    this.lead = lead;
  }

  private becomePreCandidate(): void {
    // Pre-vote changes neither term nor vote (thesis §9.6), but the node no
    // longer follows anyone: it would not be campaigning otherwise.
    this.votes.clear();
    this.role = "pre-candidate";
    this.lead = null;
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = "leader";
    this.lead = this.id;
    this.readOnly = new ReadOnly();
    this.leaderTicks = 0;
    this.leaseDisabled = false;
    for (const m of this.log.membership().members) this.addProgress(m.id);
    if (!this.progress.has(this.id)) this.addProgress(this.id);
    const self = this.progress.get(this.id) as Progress;
    self.becomeReplicate();
    self.maybeUpdate(this.log.stable);
    self.recentActive = true;
    // Raft paper §8: a no-op of the new term commits everything before it and
    // tells the leader its commit index (needed for ReadIndex, thesis §6.4).
    this.appendAsLeader({ type: "noop", term: this.term, index: this.log.lastIndex() + 1 });
    this.bcastAppend();
    this.proposalsToSend = false;
  }

  private reset(term: Term): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    if (this.role === "leader") this.failPendingReads("not-leader");
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedTimeout = randomizedElectionTimeout(this.cfg, this.log.membership(), this.id);
    this.votes.clear();
    this.progress.clear();
    this.readOnly = null;
    this.leadTransferee = null;
    this.proposalsToSend = false;
    this.uncommittedBytes = 0;
  }

  private promotable(): boolean {
    return isVoter(this.log.membership(), this.id);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.leaderTicks++;
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.state !== "snapshot") continue;
      if (++pr.snapshotElapsed >= SNAPSHOT_RETRY_ELECTIONS * this.cfg.electionTicks) pr.becomeProbe();
    }
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        // Thesis §6.2: a leader that has not heard from a quorum within an
        // election timeout steps down, so clients find the real leader.
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, null);
          return;
        }
        for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
      }
      if (this.leadTransferee !== null) this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private hup(transfer: boolean): void {
    if (this.role === "leader" || !this.promotable()) return;
    this.startCampaign(this.cfg.preVote && !transfer, transfer);
  }

  private startCampaign(pre: boolean, transfer: boolean): void {
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = pre ? this.term + 1 : this.term;
    if (pre) {
      // Our own pre-vote promises nothing durable.
      this.votes.set(this.id, true);
      if (voteOutcome(voters(this.log.membership()), this.votes) === "won") {
        this.startCampaign(false, false);
        return;
      }
    } else {
      // Our own vote counts only once it is durable: it comes back as a message.
      this.out.afterPersist.push({ type: "vote-resp", from: this.id, to: this.id, term: this.term, pre: false, granted: true });
    }
    for (const v of voters(this.log.membership())) {
      if (v.id === this.id) continue;
      this.send<VoteMsg>({
        type: "vote",
        to: v.id,
        term: voteTerm,
        pre,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  /** A follower heard from a leader within the minimum election timeout (or just restarted). */
  private inLeaderLease(): boolean {
    if (!this.cfg.checkQuorum) return false;
    return (this.lead !== null && this.electionElapsed < this.cfg.electionTicks) || this.restartVoteGuard > 0;
  }

  private handleVote(m: VoteMsg): void {
    const canVote =
      this.vote === m.from || (this.vote === null && this.lead === null) || (m.pre && m.term > this.term);
    const grant = canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    if (m.pre) {
      // Granting a pre-vote changes nothing here and does not reset our timer.
      this.send<VoteRespMsg>({ type: "vote-resp", to: m.from, term: grant ? m.term : this.term, pre: true, granted: grant });
      return;
    }
    if (grant) {
      this.electionElapsed = 0;
      this.vote = m.from;
    }
    const resp: Outgoing<VoteRespMsg> = { type: "vote-resp", to: m.from, pre: false, granted: grant };
    if (grant && this.cfg.plantedBug === "vote-before-persist") this.send(resp);
    else this.sendAfterPersist(resp);
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
        this.becomeFollower(this.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(this.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.becomeFollower(this.term, m.from);
        this.handleSnapshot(m);
        return;
      case "vote-resp": {
        if (m.pre !== (this.role === "pre-candidate")) return;
        this.votes.set(m.from, m.granted);
        const outcome = voteOutcome(voters(this.log.membership()), this.votes);
        if (outcome === "won") {
          if (this.role === "pre-candidate") this.startCampaign(false, false);
          // Lead only once our own vote (and with it the term) is durable: it
          // comes back after the persist. A leader whose term is lost in a
          // crash could otherwise lead the same term again, with different
          // entries under the same (index, term).
          else if (this.votes.get(this.id) === true) this.becomeLeader();
        } else if (outcome === "lost") {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      case "read-index":
        this.send<ReadIndexRespMsg>({ type: "read-index-resp", to: m.from, ctx: m.ctx, index: -1, reason: "no-leader" });
        return;
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case "timeout-now":
        // Thesis §3.10: the transfer target campaigns at once, skipping
        // pre-vote, and voters ignore their leader lease for it.
        this.hup(true);
        return;
      case "read-index":
        this.send<ReadIndexRespMsg>({
          type: "read-index-resp",
          to: m.from,
          ctx: m.ctx,
          index: -1,
          reason: this.lead === null ? "no-leader" : "not-leader",
        });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------
  // Follower side of replication
  // ---------------------------------------------------------------------------

  private handleAppend(m: AppendMsg): void {
    const truncateAlways = this.cfg.plantedBug === "truncate-on-stale-append";
    if (m.prevIndex < this.log.committed && !truncateAlways) {
      // Everything up to our commit index already matches the leader.
      this.ackAfterPersist(m.from, this.log.committed);
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries, {
      truncateAlways,
      tolerateCommittedConflict: this.cfg.plantedBug !== undefined,
    });
    if (lastNew !== null) {
      // The acknowledgement promises the entries are durable: it leaves only
      // after this Ready's write (Raft paper Figure 2, "respond after storing").
      this.ackAfterPersist(m.from, lastNew);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.send<AppendRespMsg>({
      type: "append-resp",
      to: m.from,
      index: m.prevIndex,
      reject: true,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private handleHeartbeat(m: HeartbeatMsg): void {
    // The leader sends min(match, commit), so everything up to it matches.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send<HeartbeatRespMsg>({ type: "heartbeat-resp", to: m.from, ctx: m.ctx });
  }

  private handleSnapshot(m: SnapshotMsg): void {
    // Called once m.term is ours: only the index decides.
    if (!this.acceptsSnapshot(m)) {
      this.ackAfterPersist(m.from, this.log.committed);
      return;
    }
    this.log.installSnapshot(m.meta);
    this.ackAfterPersist(m.from, m.meta.index);
  }

  private ackAfterPersist(to: NodeId, index: Index): void {
    this.sendAfterPersist<AppendRespMsg>({ type: "append-resp", to, index, reject: false, hintIndex: 0, hintTerm: 0 });
  }

  // ---------------------------------------------------------------------------
  // Leader side
  // ---------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "append-resp":
        this.handleAppendResp(m);
        return;
      case "heartbeat-resp":
        this.handleHeartbeatResp(m);
        return;
      case "read-index":
        this.handleForwardedRead(m);
        return;
      default:
        return;
    }
  }

  private refuseProposal(): ProposeResult | null {
    if (this.role !== "leader") return { ok: false, reason: "not-leader", leader: this.lead };
    if (this.leadTransferee !== null) return { ok: false, reason: "transferring", leader: this.id };
    return null;
  }

  private appendAsLeader(e: Entry): void {
    this.log.append([e]);
    this.proposalsToSend = true;
    this.syncConfig();
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private region(): string {
    // A leader that is removing itself is no longer in the latest configuration
    // but still leads (and sits in its region) until the removal commits; the
    // committed configuration still names it.
    const m = findMember(this.log.membership(), this.id) ?? findMember(this.log.configs.at(this.log.committed), this.id);
    return m?.region ?? "";
  }

  private isSingleVoter(): boolean {
    const vs = voters(this.log.membership());
    return vs.length === 1 && vs[0].id === this.id;
  }

  /** Durable match: the leader's own log counts only once persisted. */
  private matchOf(id: NodeId): Index {
    if (id === this.id) return this.role === "leader" ? this.log.stable : 0;
    return this.progress.get(id)?.match ?? 0;
  }

  private maybeCommit(): boolean {
    const idx = indexHeldBy(voters(this.log.membership()), (id) => this.matchOf(id), "majority", this.region());
    if (idx <= this.log.committed) return false;
    // Raft paper §5.4.2 (Figure 8): entries of earlier terms are never
    // committed by counting replicas, only indirectly by a current-term entry.
    if (this.log.term(idx) !== this.term && this.cfg.plantedBug !== "commit-previous-term") return false;
    const before = this.log.committed;
    this.log.commitTo(idx);
    if (this.uncommittedBytes > 0) {
      const done = this.log.slice(before + 1, this.log.committed + 1) ?? [];
      let bytes = 0;
      for (const e of done) if (e.type === "normal" && e.term === this.term) bytes += entrySize(e);
      this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
    }
    return true;
  }

  /** Advance commit if a quorum allows; tell followers at once. */
  private commitAndBroadcast(): boolean {
    if (!this.maybeCommit()) return false;
    this.bcastAppend();
    this.stepDownIfRemoved();
    return true;
  }

  private stepDownIfRemoved(): void {
    // Thesis §4.2.2: a leader removed from the configuration keeps managing the
    // cluster until the removal commits (and followers have been told), then
    // steps down.
    if (
      this.role === "leader" &&
      !isVoter(this.log.membership(), this.id) &&
      this.log.configs.latestIndex() <= this.log.committed
    ) {
      this.becomeFollower(this.term, null);
    }
  }

  private addProgress(id: NodeId): void {
    const pr = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    // A new peer gets one election timeout before check-quorum counts it absent.
    pr.recentActive = true;
    this.progress.set(id, pr);
  }

  /** React to a change of the latest configuration (appended, truncated or installed). */
  private syncConfig(): void {
    if (this.log.configs.version === this.seenConfigVersion) return;
    this.seenConfigVersion = this.log.configs.version;
    if (this.role !== "leader") return;
    const membership = this.log.membership();
    for (const m of membership.members) if (!this.progress.has(m.id)) this.addProgress(m.id);
    for (const id of [...this.progress.keys()]) {
      if (id !== this.id && !findMember(membership, id)) this.progress.delete(id);
    }
    if (this.leadTransferee !== null && !isVoter(membership, this.leadTransferee)) this.leadTransferee = null;
    // The quorum changed: commit and pending reads may move.
    this.commitAndBroadcast();
    if (this.role === "leader") this.releaseConfirmedReads();
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.replicateTo(id, true);
  }

  /** Send what the window allows; pipelined in replicate state. */
  private replicateTo(to: NodeId, sendIfEmpty: boolean): void {
    if (!this.maybeSendAppend(to, sendIfEmpty)) return;
    while (this.maybeSendAppend(to, false)) {
      // keep filling the in-flight window
    }
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = prevTerm === null ? null : this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxMsgBytes);
    if (prevTerm === null || entries === null) return this.sendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send<AppendMsg>({ type: "append", to, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sentAppend(entries.length, prevIndex + entries.length, entriesSize(entries));
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const meta = this.log.snapshot();
    pr.becomeSnapshot(meta.index);
    this.send<SnapshotMsg>({ type: "snapshot", to, meta });
    return true;
  }

  private bcastHeartbeat(): void {
    const round = (this.readOnly as ReadOnly).startRound(this.leaderTicks);
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send<HeartbeatMsg>({
        type: "heartbeat",
        to: id,
        commit: Math.min(pr.match, this.log.committed),
        ctx: roundCtx(round),
      });
    }
    // With no other voter, the round is confirmed by the leader alone.
    this.releaseConfirmedReads();
  }

  private handleAppendResp(m: AppendRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      // Fast backtracking: skip the follower's whole divergent term at once.
      const hint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    const updated = pr.maybeUpdate(m.index);
    if (!updated && !(pr.state === "probe" && pr.match === m.index)) return;
    switch (pr.state) {
      case "probe":
        pr.becomeReplicate();
        break;
      case "snapshot":
        pr.becomeProbe();
        if (pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
        break;
      case "replicate":
        pr.inflights.freeLE(m.index);
        break;
    }
    if (this.commitAndBroadcast()) {
      // followers were told
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    if (this.role !== "leader") return;
    this.replicateTo(m.from, false);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResp(m: HeartbeatRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    const round = parseRoundCtx(m.ctx);
    if (round > pr.ackedRound) {
      pr.ackedRound = round;
      this.releaseConfirmedReads();
    }
  }

  private handleForwardedRead(m: ReadIndexMsg): void {
    const refusal = this.readRefusal();
    if (refusal) {
      this.send<ReadIndexRespMsg>({ type: "read-index-resp", to: m.from, ctx: m.ctx, index: -1, reason: refusal });
      return;
    }
    if (this.isSingleVoter() || this.requesterCompletesQuorum(m.from)) {
      this.send<ReadIndexRespMsg>({ type: "read-index-resp", to: m.from, ctx: m.ctx, index: this.log.committed });
      return;
    }
    (this.readOnly as ReadOnly).add(m.ctx, this.log.committed, m.from);
  }

  /**
   * A forwarded read is itself an acknowledgement (thesis §6.4 step 3, with
   * the request in the heartbeat's place): the follower sent it in our term
   * after its client's read began, so it had voted in no later term by then,
   * and neither had we. If the two of us are a quorum, any later leader needs
   * one of our votes, so none existed when the read began and our commit
   * index answers it without a heartbeat round: a follower read costs one
   * round trip instead of two. Learners do not vote, so their requests prove
   * nothing. The simulator's stale-read check covers this path.
   */
  private requesterCompletesQuorum(from: NodeId): boolean {
    if (this.cfg.plantedBug === "forwarded-read-without-quorum") return true;
    const vs = voters(this.log.membership());
    if (!vs.some((v) => v.id === from)) return false;
    return indexHeldBy(vs, (id) => (id === this.id || id === from ? 1 : 0), "majority", this.region()) >= 1;
  }

  private readRefusal(): ReadFailure | null {
    if (this.leadTransferee !== null) return "transferring";
    // Thesis §6.4 step 1: until an entry of its term commits, the leader may
    // not know the latest commit index.
    if (!this.committedInTerm()) return "not-ready";
    return null;
  }

  /** Highest heartbeat round answered by a quorum (the leader answers its own). */
  private confirmedRound(): number {
    const ro = this.readOnly as ReadOnly;
    return indexHeldBy(
      voters(this.log.membership()),
      (id) => (id === this.id ? ro.lastSentRound() : this.progress.get(id)?.ackedRound ?? 0),
      "majority",
      this.region(),
    );
  }

  private releaseConfirmedReads(): void {
    if (!this.readOnly) return;
    for (const r of this.readOnly.confirm(this.confirmedRound())) {
      if (r.from === this.id) this.out.readStates.push({ ctx: r.ctx, ok: true, index: r.index });
      else this.send<ReadIndexRespMsg>({ type: "read-index-resp", to: r.from, ctx: r.ctx, index: r.index });
    }
  }

  private failPendingReads(reason: ReadFailure): void {
    if (!this.readOnly) return;
    for (const r of this.readOnly.drain()) {
      if (r.from === this.id) this.out.readStates.push({ ctx: r.ctx, ok: false, reason });
      else this.send<ReadIndexRespMsg>({ type: "read-index-resp", to: r.from, ctx: r.ctx, index: -1, reason });
    }
  }

  /**
   * Thesis §6.4.1: the lease runs from the send time of the latest heartbeat
   * round a quorum answered, for an election timeout minus a clock-drift
   * margin. Sound only with check-quorum (voters then refuse votes while they
   * hear from us) and never after TimeoutNow (the target may win at once).
   */
  private leaseValid(): boolean {
    if (this.role !== "leader" || !this.committedInTerm()) return false;
    if (this.cfg.plantedBug === "lease-read-without-check-quorum") return true;
    if (!this.cfg.checkQuorum || this.leaseDisabled || this.leadTransferee !== null) return false;
    if (this.isSingleVoter()) return true;
    const ro = this.readOnly as ReadOnly;
    const round = this.confirmedRound();
    const sent = round > 0 ? ro.sentTick(round) : undefined;
    if (sent === undefined) return false;
    return this.leaderTicks < sent + this.cfg.electionTicks - this.cfg.leaseDriftTicks;
  }

  private quorumActive(): boolean {
    const active = indexHeldBy(
      voters(this.log.membership()),
      (id) => (id === this.id || this.progress.get(id)?.recentActive ? 1 : 0),
      "majority",
      this.region(),
    );
    return active >= 1;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.leaseDisabled = true;
    this.send<TimeoutNowMsg>({ type: "timeout-now", to });
  }

  // ---------------------------------------------------------------------------
  // Plumbing
  // ---------------------------------------------------------------------------

  private send<M extends Message>(m: Outgoing<M>): void {
    this.out.send(m);
  }

  private sendAfterPersist<M extends Message>(m: Outgoing<M>): void {
    this.out.sendAfterPersist(m);
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.lead, term: this.term };
  }

  private hardState(): HardState {
    // Planted bug "vote-before-persist": a vote for another node lives only in
    // memory, so a crash forgets it and the node can vote twice in one term.
    const hideVote = this.cfg.plantedBug === "vote-before-persist" && this.vote !== this.id;
    return { term: this.term, vote: hideVote ? null : this.vote, commit: this.log.committed };
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
