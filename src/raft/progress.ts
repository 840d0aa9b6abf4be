/**
 * The leader's view of one peer (etcd-io/raft's tracker.Progress):
 *   probe:     next is a guess; one append at a time until the peer answers.
 *   replicate: next is optimistic; appends are pipelined within the window.
 *   snapshot:  the peer needs a snapshot; appends wait until it acknowledges.
 */
import { Inflights } from "./inflights.ts";
import type { Index } from "./types.ts";

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  /** Highest index the peer holds durably and that matches the leader's log. */
  match = 0;
  next: Index;
  state: ProgressState = "probe";
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot: Index = 0;
  /** Ticks spent in snapshot state without an acknowledgement. */
  snapshotElapsed = 0;
  /** Heard from the peer since the last check-quorum round (thesis §6.2). */
  recentActive = false;
  /** In probe state: an append is out and the next one waits for an answer. */
  probeSent = false;
  /** Highest heartbeat round the peer has answered (ReadIndex and lease, thesis §6.4). */
  ackedRound = 0;
  readonly inflights: Inflights;

  constructor(next: Index, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    this.next = this.state === "snapshot" ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.reset("probe");
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.reset("replicate");
  }

  becomeSnapshot(index: Index): void {
    this.reset("snapshot");
    this.pendingSnapshot = index;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotElapsed = 0;
    this.inflights.reset();
  }

  /** A successful acknowledgement up to `index`; false if it told us nothing new. */
  maybeUpdate(index: Index): boolean {
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.probeSent = false;
    return true;
  }

  /**
   * The peer rejected an append at prevIndex `rejected`; `hint` is the leader's
   * best guess of the last matching index. False when the rejection is stale.
   */
  maybeDecrTo(rejected: Index, hint: Index): boolean {
    // Entries up to match were acknowledged as durable: a rejection there is a
    // stale (reordered or duplicated) answer, never a reason to go back.
    if (rejected <= this.match) return false;
    if (this.state === "replicate") {
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  /** Bookkeeping after an append carrying `count` entries ending at `last` went out. */
  sentAppend(count: number, last: Index, bytes: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = last + 1;
        this.inflights.add(last, bytes);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }
}
