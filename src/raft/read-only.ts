/**
 * Leadership confirmation for reads (thesis §6.4 ReadIndex, §6.4.1 leases).
 *
 * Each heartbeat broadcast is a numbered round (its ctx). A peer's answer
 * proves it had not moved to a higher term when it saw the round. A read
 * registered while round r is the next to be sent is safe once a quorum has
 * answered round r or later. The send tick of the highest round a quorum
 * answered starts the lease: no other leader can be elected before an
 * election timeout has passed on those voters since they received it.
 */
import type { Index, NodeId } from "./types.ts";

export interface PendingRead {
  readonly ctx: string;
  readonly index: Index;
  /** Who asked: the leader itself, or a follower that forwarded the read. */
  readonly from: NodeId;
  readonly round: number;
}

export class ReadOnly {
  private nextRound = 1;
  private readonly sentAt = new Map<number, number>();
  private pending: PendingRead[] = [];
  /** A read waits for a round that has not been broadcast yet. */
  roundRequested = false;

  /** The most recent round broadcast (the leader counts as having answered it). */
  lastSentRound(): number {
    return this.nextRound - 1;
  }

  add(ctx: string, index: Index, from: NodeId): void {
    this.pending.push({ ctx, index, from, round: this.nextRound });
    this.roundRequested = true;
  }

  /** A heartbeat round goes out at leader tick `now`; returns its number. */
  startRound(now: number): number {
    const round = this.nextRound++;
    this.sentAt.set(round, now);
    this.roundRequested = false;
    return round;
  }

  /** A quorum has answered `round`: release the reads it covers and forget older send times. */
  confirm(round: number): PendingRead[] {
    for (const r of this.sentAt.keys()) if (r < round) this.sentAt.delete(r);
    const done: PendingRead[] = [];
    while (this.pending.length > 0 && this.pending[0].round <= round) done.push(this.pending.shift() as PendingRead);
    return done;
  }

  /** Leader tick at which the round a quorum answered was sent, if known. */
  sentTick(round: number): number | undefined {
    return this.sentAt.get(round);
  }

  drain(): PendingRead[] {
    const all = this.pending;
    this.pending = [];
    this.roundRequested = false;
    return all;
  }
}

export function roundCtx(round: number): string {
  return String(round);
}

export function parseRoundCtx(ctx: string | null): number {
  if (ctx === null) return 0;
  const n = Number(ctx);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
