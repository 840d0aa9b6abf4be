/**
 * The vocabulary of the pure Raft core. Everything here is plain, readonly
 * data: the runtime (src/node) persists it, sends it and applies it; the
 * deterministic simulator (test/sim) does the same with a fake disk and net.
 *
 * Nothing in src/raft imports a runtime module (Bun, Node, network, timers).
 */

export type NodeId = string;
export type Term = number;
export type Index = number;

/** A member of the cluster as the replicated configuration records it. */
export interface Member {
  readonly id: NodeId;
  readonly role: "voter" | "learner";
  /** Region name (Fly region code, e.g. "ams"). Used for leader placement and `remote-region` durability. */
  readonly region: string;
  /** Opaque addresses the runtime needs to reach the node (raft address, http URL). The core never reads them. */
  readonly raftAddr?: string;
  readonly httpAddr?: string;
}

/** The cluster configuration at some log index. */
export interface Membership {
  readonly members: readonly Member[];
}

export type ConfChange =
  | { readonly op: "add-voter"; readonly member: Omit<Member, "role"> }
  | { readonly op: "add-learner"; readonly member: Omit<Member, "role"> }
  | { readonly op: "promote"; readonly id: NodeId }
  | { readonly op: "remove"; readonly id: NodeId };

/** Log entries. `noop` is what a new leader appends (Raft paper §8 / thesis §6.4). */
export type Entry =
  | { readonly type: "normal"; readonly term: Term; readonly index: Index; readonly data: Uint8Array }
  | { readonly type: "noop"; readonly term: Term; readonly index: Index }
  | { readonly type: "conf"; readonly term: Term; readonly index: Index; readonly change: ConfChange };

/** Must be durable before any message that depends on it leaves the node (Raft paper Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: Index;
}

/**
 * What a snapshot stands for. The snapshot's *data* (a consistent SQLite file)
 * never passes through the core: the runtime streams it (SnapshotSender).
 * A data copy taken at applied index A ≥ meta.index is acceptable because the
 * state machine skips entries at or below its own stored applied index.
 */
export interface SnapshotMeta {
  readonly index: Index;
  readonly term: Term;
  readonly membership: Membership;
}

/** Per-write durability requirement. `majority` is the fastest-majority default. */
export type Durability = "majority" | "remote-region" | "all";

// ---------------------------------------------------------------------------
// Messages: a discriminated union on `type`. Every message carries from/to/term.
// ---------------------------------------------------------------------------

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

export interface AppendMsg extends Envelope {
  readonly type: "append";
  readonly prevIndex: Index;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: Index;
}

export interface AppendRespMsg extends Envelope {
  readonly type: "append-resp";
  /** On success: the highest index the follower now holds durably and that matches the leader. */
  readonly index: Index;
  readonly reject: boolean;
  /** Fast backtracking hints (thesis §5.3 / etcd's findConflictByTerm). Meaningful when reject. */
  readonly hintIndex: Index;
  readonly hintTerm: Term;
}

export interface VoteMsg extends Envelope {
  readonly type: "vote";
  /** Pre-vote (thesis §9.6): `term` is the term the sender *would* campaign in; no state changes. */
  readonly pre: boolean;
  readonly lastIndex: Index;
  readonly lastTerm: Term;
  /** Set when campaigning because of TimeoutNow (thesis §3.10): voters ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteRespMsg extends Envelope {
  readonly type: "vote-resp";
  readonly pre: boolean;
  readonly granted: boolean;
}

export interface HeartbeatMsg extends Envelope {
  readonly type: "heartbeat";
  readonly commit: Index;
  /** ReadIndex round this heartbeat confirms leadership for (thesis §6.4), if any. */
  readonly ctx: string | null;
}

export interface HeartbeatRespMsg extends Envelope {
  readonly type: "heartbeat-resp";
  readonly ctx: string | null;
}

export interface SnapshotMsg extends Envelope {
  readonly type: "snapshot";
  readonly meta: SnapshotMeta;
}

export interface TimeoutNowMsg extends Envelope {
  readonly type: "timeout-now";
}

/** A follower asking the leader for a read index on behalf of its own client. */
export interface ReadIndexMsg extends Envelope {
  readonly type: "read-index";
  readonly ctx: string;
}

export interface ReadIndexRespMsg extends Envelope {
  readonly type: "read-index-resp";
  readonly ctx: string;
  /** -1 when the leader could not serve it (not leader, no commit in its term yet, transferring). */
  readonly index: Index;
  /** Why, when index is -1 (absent from older senders: treat as "not-leader"). */
  readonly reason?: "not-leader" | "no-leader" | "not-ready" | "transferring";
}

export type Message =
  | AppendMsg
  | AppendRespMsg
  | VoteMsg
  | VoteRespMsg
  | HeartbeatMsg
  | HeartbeatRespMsg
  | SnapshotMsg
  | TimeoutNowMsg
  | ReadIndexMsg
  | ReadIndexRespMsg;

export type MessageType = Message["type"];

// ---------------------------------------------------------------------------
// The Ready contract between core and runtime (etcd-io/raft's Ready loop).
// ---------------------------------------------------------------------------

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: Term;
}

/** A read that became safe: serve it once the state machine has applied `index`. */
export type ReadState =
  | { readonly ctx: string; readonly ok: true; readonly index: Index }
  | { readonly ctx: string; readonly ok: false; readonly reason: "not-leader" | "no-leader" | "not-ready" | "transferring" };

/**
 * One batch of work for the runtime. `ready()` drains it; several Readys may be
 * in flight at once, and the runtime must persist them **in order**.
 *
 * Runtime contract:
 * 1. Send `messages` immediately — they do not depend on this Ready's disk
 *    writes (on the leader this is how its own fsync runs in parallel with
 *    replication, thesis §10.2.1).
 * 2. Durably write, in this order: `snapshot` (if any: install it, dropping the
 *    log up to snapshot.index — and, if the stored entry at snapshot.index is
 *    missing or has a term other than snapshot.term, every entry after it too;
 *    the core keeps a suffix only when it matches), then `entries` (an entry at an index that
 *    already exists replaces it and everything after it), then `hardState`.
 * 3. Only after step 2 is durable: send `messagesAfterPersist` (vote grants,
 *    append acknowledgements: they promise durable state), and report
 *    `persisted(lastEntry.index, lastEntry.term)` for the last entry written.
 *    Messages addressed to the node itself are delivered with `step()`.
 * 4. Apply `committed` entries in order (they are always already durable
 *    locally), then report `applied(index)`.
 * 5. `readStates` are answered once applied index ≥ readState.index.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly committed: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

export type ProposeResult =
  | { readonly ok: true; readonly index: Index; readonly term: Term }
  | {
      readonly ok: false;
      /** "invalid-conf-change": e.g. adding an existing voter, promoting a non-learner, removing the last voter. */
      readonly reason: "not-leader" | "transferring" | "conf-change-pending" | "too-many-inflight" | "invalid-conf-change";
      readonly leader: NodeId | null;
    };

/** Knobs. Times are in ticks; the runtime decides how long a tick is (e.g. 10 ms). */
export interface RaftConfig {
  readonly id: NodeId;
  /** Election timeout base, in ticks. The actual timeout is randomized in [base, 2·base). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /**
   * Leader placement hook: nodes whose region is not the preferred region wait
   * this many extra election timeouts before campaigning (0 disables).
   */
  readonly preferredRegion: string | null;
  readonly nonPreferredElectionPenalty: number;
  /** Lease reads (thesis §6.4.1) are allowed only with checkQuorum; lease = electionTicks − leaseDriftTicks. */
  readonly leaseDriftTicks: number;
  /** Per-peer replication window: at most this many append messages / bytes in flight. */
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  /** Max entries bytes per append message (batching). */
  readonly maxMsgBytes: number;
  /**
   * Back-pressure: the leader refuses proposals ("too-many-inflight") while the
   * entries it appended but has not committed exceed this many bytes (one
   * entry is always accepted). Unset = unlimited.
   */
  readonly maxUncommittedBytes?: number;
  /** Injected randomness in [0, 1). The simulator passes a seeded PRNG. */
  readonly random: () => number;
  /**
   * Test-only: deliberately broken behaviour so the simulator can prove its
   * invariant checks bite. Never set outside tests.
   */
  readonly plantedBug?: PlantedBug;
}

export type PlantedBug =
  | "commit-previous-term"
  | "vote-before-persist"
  | "truncate-on-stale-append"
  | "lease-read-without-check-quorum"
  | "forwarded-read-without-quorum"
  | "two-membership-changes-at-once";

/** What a node restores from its disk at start. */
export interface RestoredState {
  readonly hardState: HardState;
  /** Compaction point (or the initial configuration as index 0 / term 0 for a fresh node). */
  readonly snapshot: SnapshotMeta;
  /** Every durable entry after snapshot.index, in order. */
  readonly entries: readonly Entry[];
  /** The state machine's durable applied index (≥ snapshot.index). */
  readonly applied: Index;
}

export interface PeerProgress {
  readonly id: NodeId;
  readonly role: "voter" | "learner";
  readonly region: string;
  readonly match: Index;
  readonly next: Index;
  readonly state: "probe" | "replicate" | "snapshot";
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly leader: NodeId | null;
  readonly vote: NodeId | null;
  readonly commit: Index;
  readonly applied: Index;
  readonly lastIndex: Index;
  /** Durable on this node's disk (as reported via persisted()). */
  readonly stableIndex: Index;
  readonly firstIndex: Index;
  readonly membership: Membership;
  /** Leader only: replication progress per member (itself included). */
  readonly progress: readonly PeerProgress[] | null;
  readonly leadTransferee: NodeId | null;
  /** Leader only: whether a lease read would be served now. */
  readonly leaseValid: boolean;
}
