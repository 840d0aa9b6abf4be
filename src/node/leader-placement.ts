/**
 * Keeps the leader in the preferred region (Fly's PRIMARY_REGION), where the
 * fastest majority lives. The core already makes outsiders slower to campaign;
 * this hands leadership back (thesis §3.10 transfer) when a failover left it
 * elsewhere and a preferred-region voter is caught up and reachable.
 */
import type { Raft } from "../raft/raft.ts";
import type { RaftStatus } from "../raft/types.ts";

const CHECK_EVERY_MS = 1_000;
/** How far behind a target may be and still receive leadership (the transfer itself catches it up). */
const MAX_LAG = 64;

interface Decision {
  readonly why: string;
  readonly transferTo: string | null;
}

export class LeaderPlacement {
  private lastCheck = 0;

  constructor(
    private readonly raft: Raft,
    private readonly preferredRegion: string | null,
    private readonly regionOf: (id: string) => string,
  ) {}

  /** Why the leader is where it is, as this node sees it now. */
  explain(): string {
    return this.decide(this.raft.status()).why;
  }

  check(now: number): void {
    if (now - this.lastCheck < CHECK_EVERY_MS) return;
    this.lastCheck = now;
    const d = this.decide(this.raft.status());
    if (d.transferTo !== null) this.raft.transferLeadership(d.transferTo);
  }

  private decide(s: RaftStatus): Decision {
    const pref = this.preferredRegion;
    if (pref === null) return { why: "no preferred region configured: any voter may lead", transferTo: null };
    if (s.leader === null) return { why: "no leader", transferTo: null };
    const leaderRegion = this.regionOf(s.leader) || "?";
    if (leaderRegion === pref) return { why: `leader ${s.leader} is in the preferred region ${pref}`, transferTo: null };
    if (s.role !== "leader") {
      return { why: `leader ${s.leader} is in ${leaderRegion}, outside the preferred region ${pref}; it hands leadership back once a voter there is caught up`, transferTo: null };
    }
    if (s.leadTransferee !== null) return { why: `transferring leadership to ${s.leadTransferee} in ${pref}`, transferTo: null };
    const target = (s.progress ?? []).find(
      (p) => p.id !== s.id && p.role === "voter" && p.recentActive && this.regionOf(p.id) === pref && p.match >= s.lastIndex - MAX_LAG,
    );
    if (!target) return { why: `leading from ${leaderRegion} because no caught-up, reachable voter is in ${pref}`, transferTo: null };
    return { why: `handing leadership back to ${target.id} in ${pref}`, transferTo: target.id };
  }
}
