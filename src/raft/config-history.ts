/**
 * The configuration in force at every index of the log. A server uses the
 * latest configuration in its log, committed or not (thesis §4.1), so the
 * history must follow the log through appends, truncations and compaction.
 */
import { applyConfChange } from "./membership.ts";
import type { Entry, Index, Membership } from "./types.ts";

interface ConfigAt {
  readonly index: Index;
  readonly membership: Membership;
}

export class ConfigHistory {
  private base: ConfigAt;
  /** One element per conf entry in the log after `base.index`, in index order. */
  private changes: ConfigAt[] = [];
  /** Bumped on every change of `latest()`, so the core can react cheaply. */
  version = 0;

  constructor(baseIndex: Index, base: Membership) {
    this.base = { index: baseIndex, membership: base };
  }

  latest(): Membership {
    return this.latestAt().membership;
  }

  /** Index of the entry that produced the latest configuration (the base index if none). */
  latestIndex(): Index {
    return this.latestAt().index;
  }

  at(index: Index): Membership {
    let m = this.base.membership;
    for (const c of this.changes) {
      if (c.index > index) break;
      m = c.membership;
    }
    return m;
  }

  /** Call for every entry appended to the log, in order. */
  observe(entry: Entry): void {
    if (entry.type !== "conf") return;
    this.changes.push({ index: entry.index, membership: applyConfChange(this.latest(), entry.change) });
    this.version++;
  }

  /** The log lost every entry at or after `index`. */
  truncateFrom(index: Index): void {
    const keep = this.changes.filter((c) => c.index < index);
    if (keep.length !== this.changes.length) {
      this.changes = keep;
      this.version++;
    }
  }

  /** The log now starts after `index`, whose configuration is `membership`. */
  rebase(index: Index, membership: Membership): void {
    const before = this.latest();
    this.base = { index, membership };
    this.changes = this.changes.filter((c) => c.index > index);
    if (this.latest() !== before) this.version++;
  }

  private latestAt(): ConfigAt {
    return this.changes.length > 0 ? this.changes[this.changes.length - 1] : this.base;
  }
}
