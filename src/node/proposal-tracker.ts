import type { CommandOutcome } from "../db/command.ts";
import { ServiceError } from "./sql-service.ts";

interface Pending {
  readonly term: number;
  readonly resolve: (o: CommandOutcome | null) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Maps a proposal's (index, term) to the client waiting for it. A proposal is
 * only answered when the entry applied at its index has its term: a leader
 * that lost leadership may still see its entry committed by the next leader
 * (then the client gets the result), or overwritten (then it gets an error and
 * may retry; request ids make that retry safe — thesis §6.3).
 */
export class ProposalTracker {
  private readonly pending = new Map<number, Pending>();

  track(index: number, term: number): Promise<CommandOutcome | null> {
    return new Promise((resolve, reject) => {
      this.pending.get(index)?.reject(new ServiceError("not-leader", "proposal superseded"));
      this.pending.set(index, { term, resolve, reject });
    });
  }

  applied(index: number, term: number, outcome: CommandOutcome | null): void {
    const p = this.pending.get(index);
    if (!p) return;
    this.pending.delete(index);
    if (p.term === term) p.resolve(outcome);
    else p.reject(new ServiceError("not-leader", "leadership changed before the write committed; it was not applied"));
  }

  forget(index: number): void {
    this.pending.delete(index);
  }

  failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}
