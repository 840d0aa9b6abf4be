/** The invariants the simulator checks; a violation names one of them. */
export type InvariantName =
  /** At most one leader per term (Raft paper Figure 3, Election Safety). */
  | "election-safety"
  /** Two logs with an entry of the same index and term agree on every entry up to it (§5.3). */
  | "log-matching"
  /** A leader's log holds every entry committed in an earlier term (§5.4). */
  | "leader-completeness"
  /** A leader never overwrites or deletes entries in its own log (Figure 3, Leader Append-Only). */
  | "leader-append-only"
  /** A log loses entries only when a leader replaces them with conflicting ones (§5.3), never silently. */
  | "log-truncation"
  /** No two nodes apply different entries at one index; every node applies the committed log in order. */
  | "state-machine-safety"
  /** Once some node calls an index committed, every node that commits it commits the same entry. */
  | "commit-agreement"
  /** A node's commit index never goes back (in memory, and on disk across restarts). */
  | "commit-monotonic"
  /** A proposal acknowledged to its client (applied on the proposer) is never lost or replaced. */
  | "acked-write-lost"
  /** A ReadIndex / lease read returns a state older than a write acknowledged (or read) before it began. */
  | "stale-read"
  /** A vote grant or append acknowledgement left the node before the state it promises was durable. */
  | "persist-before-send"
  /** An entry was handed out for applying before it was durable on the local disk. */
  | "apply-before-persist"
  /** A leader advanced its commit index to an entry of an earlier term by counting replicas (paper §5.4.2, Figure 8). */
  | "current-term-commit"
  /** The leader committed an index that a majority of voters does not hold durably (fastest-majority rule). */
  | "commit-without-durable-majority"
  /** durableIndex() claimed more durable copies than the disks hold. */
  | "durability-claim"
  /** A leader appended a configuration change while another was uncommitted, or before committing in its term (§4.1, 2015 fix). */
  | "single-conf-change"
  /** The core broke the Ready/persistence contract in a way the runtime cannot honour. */
  | "ready-contract"
  /** The core threw. */
  | "core-exception"
  /** After faults heal, no leader emerged or proposals did not commit in bounded simulated time. */
  | "liveness"
  /** A seed exceeded its event budget (message storm / livelock). */
  | "step-budget";

export class Violation extends Error {
  constructor(
    readonly invariant: InvariantName,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

/** The Violation `f` throws, or null if it returns; any other error propagates. */
export function violationOf(f: () => unknown): Violation | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof Violation) return e;
    throw e;
  }
}
