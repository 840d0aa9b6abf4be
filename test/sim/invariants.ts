/**
 * The safety checker: global tables fed by every node as it changes, checked
 * incrementally at each step (each call below runs in O(1) or O(change)).
 *
 * Terms used here:
 * - chain value: hash of a log prefix (entry-hash.ts). Equal chain values at
 *   index i ⇔ equal logs up to i.
 * - claim: "node X, while in term t, considered index i committed" (or
 *   acknowledged a write at i). Any leader of a term > t must hold i
 *   (Leader Completeness, Raft paper §5.4.3).
 */
import type { NodeId } from "../../src/raft/types.ts";
import type { SimLog } from "./sim-log.ts";
import { Violation } from "./violation.ts";

const TERM_SPAN = 1 << 20;

interface Claims {
  /** term → highest index claimed in that term */
  readonly byTerm: Map<number, number>;
}

export interface CheckerOptions {
  /**
   * Also check the protocol rules whose breach is not yet a safety failure
   * (persist before acknowledging, one conf change at a time, current-term
   * commit). Scenario tests turn them off to show the end-to-end consequence.
   */
  readonly rules: boolean;
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index, term) → chain value of the log prefix ending in that entry. */
  private readonly chainByEntry = new Map<number, number>();
  /** index → chain value of the entry committed there. */
  private readonly committedChain = new Map<number, number>();
  /** index → state-machine digest after applying it. */
  private readonly appliedDigest = new Map<number, number>();
  /** index → chain value of an acknowledged write there. */
  private readonly acked = new Map<number, number>();
  private readonly commitClaims: Claims = { byTerm: new Map() };
  private readonly ackClaims: Claims = { byTerm: new Map() };
  /**
   * Highest index a linearizable read must reflect: every acknowledged write
   * and every state already returned by a completed read.
   */
  watermark = 0;
  maxCommitted = 0;

  constructor(readonly options: CheckerOptions = { rules: true }) {
    this.chainByEntry.set(0, 0);
  }

  get rules(): boolean {
    return this.options.rules;
  }

  /** Chain value of the prefix ending in entry (index, term), if any node ever had that entry. */
  chainOf(index: number, term: number): number | undefined {
    return this.chainByEntry.get(index * TERM_SPAN + term);
  }

  /** Log Matching (§5.3): an (index, term) pair identifies one entry and one prefix, cluster-wide. */
  registerEntry(node: NodeId, index: number, term: number, c: number): void {
    const key = index * TERM_SPAN + term;
    const seen = this.chainByEntry.get(key);
    if (seen === undefined) this.chainByEntry.set(key, c);
    else if (seen !== c) {
      throw new Violation("log-matching", `${node} holds entry ${index}@${term} with a different content or prefix than another node had`);
    }
  }

  /**
   * Election Safety and Leader Completeness, checked when `node` (in its
   * `incarnation`-th run since boot) becomes leader of `term` with `log`.
   * The same node leading one term twice across a restart counts too: it
   * forgot the term it led, and the two reigns can disagree on entries of
   * that term.
   */
  onLeader(node: NodeId, term: number, log: SimLog, incarnation = 0): void {
    const who = `${node}#${incarnation}`;
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== who) {
      const [otherNode] = other.split("#");
      throw new Violation(
        "election-safety",
        otherNode === node ? `${node} led term ${term} twice, before and after a restart (the term was not durable)` : `${node} and ${otherNode} are both leader of term ${term}`,
      );
    }
    this.leaderOfTerm.set(term, who);
    this.requireHolds(node, term, log, this.commitClaims, "leader-completeness", "committed");
    this.requireHolds(node, term, log, this.ackClaims, "acked-write-lost", "acknowledged");
  }

  private requireHolds(node: NodeId, term: number, log: SimLog, claims: Claims, name: "leader-completeness" | "acked-write-lost", what: string): void {
    let need = 0;
    let claimTerm = 0;
    for (const [t, i] of claims.byTerm) {
      if (t < term && i > need) {
        need = i;
        claimTerm = t;
      }
    }
    if (need === 0) return;
    const c = name === "acked-write-lost" ? this.acked.get(need) : this.committedChain.get(need);
    if (c === undefined) return;
    if (log.lastIndex < need || !log.holds(need, c)) {
      throw new Violation(
        name,
        `${node} became leader of term ${term} without entry ${need} (${what} in term ${claimTerm}); its log ends at ${log.lastIndex}@${log.lastTerm}`,
      );
    }
  }

  /** A node's commit index moved from `from` to `to` while in `term`; its log is `log`. */
  onCommit(node: NodeId, from: number, to: number, term: number, log: SimLog): void {
    if (to < from) throw new Violation("commit-monotonic", `${node} commit index went back from ${from} to ${to}`);
    if (to > log.lastIndex) throw new Violation("ready-contract", `${node} commit ${to} is past its last log index ${log.lastIndex}`);
    for (let i = Math.max(from + 1, log.snapIndex); i <= to; i++) {
      const c = log.chainAt(i);
      if (c === undefined) continue;
      const seen = this.committedChain.get(i);
      if (seen === undefined) this.committedChain.set(i, c);
      else if (seen !== c) {
        const ack = this.acked.get(i);
        if (ack !== undefined && ack !== c) {
          throw new Violation("acked-write-lost", `${node} committed a different entry at ${i} (term ${log.term(i)}) than the acknowledged write there`);
        }
        throw new Violation("commit-agreement", `${node} committed entry ${i}@${log.term(i)} but a different entry at ${i} was committed before`);
      }
    }
    if (to > (this.commitClaims.byTerm.get(term) ?? 0)) this.commitClaims.byTerm.set(term, to);
    if (to > this.maxCommitted) this.maxCommitted = to;
  }

  /** State Machine Safety: `node` applied the entry at `index`, reaching `digest`. */
  onApply(node: NodeId, index: number, digest: number): void {
    const ack = this.acked.get(index);
    if (ack !== undefined && ack !== digest) {
      throw new Violation("acked-write-lost", `${node} applied a different entry at ${index} than the acknowledged write there`);
    }
    const seen = this.appliedDigest.get(index);
    if (seen === undefined) this.appliedDigest.set(index, digest);
    else if (seen !== digest) throw new Violation("state-machine-safety", `${node} applied a different entry (or history) at index ${index} than another node`);
    const committed = this.committedChain.get(index);
    if (committed !== undefined && committed !== digest) {
      throw new Violation("state-machine-safety", `${node} applied at ${index} something other than the entry committed there`);
    }
  }

  /** A snapshot image must be a state some node reached by applying. */
  onInstallImage(node: NodeId, applied: number, digest: number): void {
    const seen = this.appliedDigest.get(applied);
    if (seen !== undefined && seen !== digest) throw new Violation("state-machine-safety", `${node} installed a snapshot image at ${applied} that no node applied`);
  }

  /** The client of a write proposed at `node` got its answer: entry `index` with chain `c`, applied while the node was in `term`. */
  onAck(index: number, c: number, term: number): void {
    const prev = this.acked.get(index);
    if (prev !== undefined && prev !== c) throw new Violation("acked-write-lost", `two different writes were acknowledged at index ${index}`);
    this.acked.set(index, c);
    if (index > (this.ackClaims.byTerm.get(term) ?? 0)) this.ackClaims.byTerm.set(term, index);
    if (index > this.watermark) this.watermark = index;
  }

  isAcked(index: number): boolean {
    return this.acked.has(index);
  }

  ackedIndices(): number[] {
    return [...this.acked.keys()];
  }

  ackedChain(index: number): number | undefined {
    return this.acked.get(index);
  }

  /** A read that started when the watermark was `mustSee` got read index `index`. */
  onReadIndex(node: NodeId, ctx: string, index: number, mustSee: number, lease: boolean): void {
    if (index < mustSee) {
      throw new Violation(
        "stale-read",
        `${lease ? "lease" : "ReadIndex"} read ${ctx} on ${node} got read index ${index}, but index ${mustSee} was acknowledged or read before it began`,
      );
    }
  }

  /** A read returned the state at `applied`; later reads must not see less. */
  onReadServed(applied: number): void {
    if (applied > this.watermark) this.watermark = applied;
  }
}
