/** Counters a run collects; printed with --trace and summed by the CLI. */
export class RunStats {
  proposals = 0;
  proposalsAccepted = 0;
  acked = 0;
  failedProposals = 0;
  reads = 0;
  readsServed = 0;
  readsRefused = 0;
  leaseReads = 0;
  elections = 0;
  crashes = 0;
  tornWrites = 0;
  snapshotsSent = 0;
  confChanges = 0;
  transfers = 0;
  messages = 0;
  /** Append responses that rejected (log mismatch): what fast backtracking keeps small. */
  appendRejects = 0;
  /** Propose → acknowledged on the proposer, in simulated ms. */
  readonly commitLatencies: number[] = [];

  add(o: RunStats): void {
    for (const k of Object.keys(this) as (keyof RunStats)[]) {
      const v = this[k];
      if (typeof v === "number") (this as Record<string, unknown>)[k] = v + (o[k] as number);
    }
  }

  summary(): string {
    return (
      `proposals ${this.proposals} (accepted ${this.proposalsAccepted}, acked ${this.acked}, failed ${this.failedProposals}), ` +
      `reads ${this.reads} (served ${this.readsServed}, refused ${this.readsRefused}, lease ${this.leaseReads}), ` +
      `elections ${this.elections}, crashes ${this.crashes} (torn ${this.tornWrites}), snapshots ${this.snapshotsSent}, ` +
      `conf changes ${this.confChanges}, transfers ${this.transfers}, messages ${this.messages}`
    );
  }
}
