/**
 * The replicated state machine the simulator applies committed entries to: an
 * append-only register summarised by a digest. The digest is the hash chain
 * over every applied entry (entry-hash.ts), so the state after applying index
 * i equals the log chain value at i — state-machine safety becomes a digest
 * comparison. Like the real runtime's SQLite file, it is durable: it stores
 * its applied index with its data and skips entries at or below it.
 */
import type { Entry } from "../../src/raft/types.ts";
import { chain, entryFingerprint } from "./entry-hash.ts";

/** A consistent copy of the state machine, what a snapshot transfer carries. */
export interface MachineImage {
  readonly applied: number;
  readonly digest: number;
  readonly writes: number;
}

export class RegisterMachine {
  applied = 0;
  digest = 0;
  writes = 0;

  /** Applies the next entry; returns false (and changes nothing) for an entry at or below `applied`. */
  apply(e: Entry): boolean {
    if (e.index <= this.applied) return false;
    if (e.index !== this.applied + 1) throw new Error(`apply gap: at ${this.applied}, got ${e.index}`);
    this.digest = chain(this.digest, entryFingerprint(e));
    this.applied = e.index;
    if (e.type === "normal") this.writes++;
    return true;
  }

  image(): MachineImage {
    return { applied: this.applied, digest: this.digest, writes: this.writes };
  }

  install(img: MachineImage): void {
    this.applied = img.applied;
    this.digest = img.digest;
    this.writes = img.writes;
  }
}
